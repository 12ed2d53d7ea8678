"""``GET /healthz``: the process is up and its database answers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.workflows.services import Services


async def healthz(request: Request) -> Response:
    svc: Services = request.app.state.services
    try:
        await svc.store.ping()
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok"})
