"""``POST /dialogs/channel-settings``: the channel-settings dialog's submission."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.workflows import channel_settings
from mattermost_zoom.workflows.services import Services

MAX_BODY = 64 * 1024


async def channel_settings_submission(request: Request) -> Response:
    svc: Services = request.app.state.services
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "request too large"}, 413)
    try:
        data = json.loads(body)
        submitted = channel_settings.DialogSubmission(
            user_id=str(data["user_id"]),
            channel_id=str(data["channel_id"]),
            state=str(data.get("state") or ""),
            submission=dict(data.get("submission") or {}),
        )
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "malformed dialog submission"}, 400)
    if data.get("cancelled"):
        return JSONResponse({})
    try:
        answer = await channel_settings.save(svc, submitted)
    except channel_settings.ForbiddenSubmission:
        return JSONResponse({"error": "this dialog is not yours or has expired"}, 403)
    return JSONResponse(answer)
