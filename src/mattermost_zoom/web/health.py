"""Health, readiness and metrics endpoints, for load balancers and monitoring."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.clock import utcnow
from mattermost_zoom.workflows.services import Services


async def livez(request: Request) -> Response:
    """200 while the process answers HTTP at all; touches nothing else (an
    orchestrator restarts the process when this fails, so a database outage must
    not make it fail)."""
    return JSONResponse({"status": "alive"})


async def healthz(request: Request) -> Response:
    """200 when the service can do its work (its database answers)."""
    return await readyz(request)


async def readyz(request: Request) -> Response:
    svc: Services = request.app.state.services
    try:
        await svc.store.ping()
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


async def metrics_endpoint(request: Request) -> Response:
    svc: Services = request.app.state.services
    # Queue figures come from the shared database, so every replica reports the
    # same backlog, including events another replica has not got to yet.
    stats = await svc.store.events.stats()
    svc.metrics.pending_events.set(stats.pending)
    svc.metrics.failed_events.set(stats.failed)
    age = (utcnow() - stats.oldest_pending).total_seconds() if stats.oldest_pending else 0.0
    svc.metrics.oldest_pending_seconds.set(age)
    return Response(svc.metrics.exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")
