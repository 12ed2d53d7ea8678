"""``POST /actions/{action}``: button clicks on the prompts the service posted."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import messages
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.models import Actor, MeetingIdChoice, StartRequest
from mattermost_zoom.web.delivery import Deliver, deliver_safely
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


def _then(
    svc: Services, click: Click, work: Callable[[Deliver], Awaitable[None]]
) -> BackgroundTask:
    """Run ``work`` after answering the click, reporting to the clicking user."""

    async def run() -> None:
        async with deliver_safely(svc, click.user_id, click.channel_id) as deliver:
            await work(deliver)

    return BackgroundTask(run)


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

    async def work(deliver: Deliver) -> None:
        await deliver(Prompt(text), replaces=click.post_id)
        await deliver(await start_meeting(svc, actor, start))

    return JSONResponse({}, background=_then(svc, click, work))


async def _join(svc: Services, click: Click) -> Response:
    url = str(click.data["url"])

    async def work(deliver: Deliver) -> None:
        await deliver(Prompt(messages.joining_meeting()), replaces=click.post_id)

    return JSONResponse({"goto_location": url}, background=_then(svc, click, work))


async def _settings(svc: Services, click: Click) -> Response:
    choice = MeetingIdChoice(str(click.data["choice"]))
    await svc.store.set_meeting_id_choice(click.user_id, choice, utcnow())

    async def work(deliver: Deliver) -> None:
        await deliver(Prompt(messages.settings_saved(choice)), replaces=click.post_id)

    return JSONResponse({}, background=_then(svc, click, work))


_HANDLERS = {"start": _start, "join": _join, "settings": _settings}
