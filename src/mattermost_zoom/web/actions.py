"""``POST /actions/{action}``: button clicks on the prompts the service posted."""

from __future__ import annotations

import json
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import messages
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.models import Actor, MeetingIdChoice, StartRequest
from mattermost_zoom.web.delivery import deliver_safely, render
from mattermost_zoom.web.interactive import Click, ForbiddenAction, read_click
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.start import start_meeting

MAX_BODY = 64 * 1024


async def post_action(request: Request) -> Response:
    svc: Services = request.app.state.services
    action = request.path_params["action"]
    handler = _HANDLERS.get(action)
    if handler is None:
        return JSONResponse({"error": "unknown action"}, 404)
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "request too large"}, 413)
    try:
        click = read_click(action, json.loads(body or b"null"), svc.keys.post_actions)
    except ForbiddenAction:
        return JSONResponse({"error": "this button is not yours or has expired"}, 403)
    except ValueError as exc:
        return JSONResponse({"error": f"malformed action request: {exc}"}, 400)
    try:
        return await handler(svc, click)
    except (KeyError, ValueError):
        return JSONResponse({"error": "malformed action data"}, 400)


def _update(svc: Services, click: Click, prompt: Prompt, **extra: Any) -> JSONResponse:
    """Replace the clicked prompt (its buttons go away) and optionally more."""
    return JSONResponse({"update": render(svc, click.user_id, prompt), **extra})


async def _start(svc: Services, click: Click) -> Response:
    start = StartRequest.from_dict(click.data)
    text = messages.starting()
    if start.choice and start.choice is not MeetingIdChoice.ASK:
        # As in the plugin: the first answer becomes the default, unless the user
        # chose "ask each time" in /zoom settings.
        if await svc.store.get_meeting_id_choice(click.user_id) is None:
            await svc.store.set_meeting_id_choice(click.user_id, start.choice, utcnow())
            text = f"{messages.settings_saved(start.choice)} {text}"
    actor = Actor(user_id=click.user_id, username=click.username or click.user_id)
    task = BackgroundTask(_start_in_background, svc, actor, start)
    return JSONResponse({"update": render(svc, click.user_id, Prompt(text))}, background=task)


async def _start_in_background(svc: Services, actor: Actor, start: StartRequest) -> None:
    async with deliver_safely(svc, actor.user_id, start.channel_id) as deliver:
        await deliver(await start_meeting(svc, actor, start))


async def _join(svc: Services, click: Click) -> Response:
    url = str(click.data["url"])
    return _update(svc, click, Prompt(messages.joining_meeting()), goto_location=url)


async def _settings(svc: Services, click: Click) -> Response:
    choice = MeetingIdChoice(str(click.data["choice"]))
    await svc.store.set_meeting_id_choice(click.user_id, choice, utcnow())
    return _update(svc, click, Prompt(messages.settings_saved(choice)))


_HANDLERS = {"start": _start, "join": _join, "settings": _settings}
