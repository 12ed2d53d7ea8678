"""``GET /oauth2/connect`` and ``GET /oauth2/complete``: the browser's side of OAuth."""

from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mattermost_zoom.core import messages
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.models import Actor
from mattermost_zoom.web.delivery import deliver_safely
from mattermost_zoom.web.pages import page
from mattermost_zoom.workflows import connect
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.start import start_meeting

log = logging.getLogger(__name__)


async def oauth_connect(request: Request) -> Response:
    svc: Services = request.app.state.services
    try:
        link = connect.read_connect_link(svc, request.query_params.get("t", ""))
    except connect.ConnectFailed as exc:
        return page(exc.page, 400)
    return RedirectResponse(await connect.begin(svc, link), status_code=302)


async def oauth_complete(request: Request) -> Response:
    svc: Services = request.app.state.services
    params = request.query_params
    if params.get("error"):
        # The user declined in Zoom; the state stays unusable once it expires.
        return page(messages.OAUTH_DENIED, 400)
    state, code = params.get("state", ""), params.get("code", "")
    if not state or not code:
        return page(messages.OAUTH_EXPIRED, 400)
    try:
        done = await connect.complete(svc, state=state, code=code)
    except connect.ConnectFailed as exc:
        return page(exc.page, 400)
    task = BackgroundTask(_after_connect, svc, done)
    content = messages.OAUTH_DONE_MEETING if done.start else messages.OAUTH_DONE
    response = page(content)
    response.background = task
    return response


async def _after_connect(svc: Services, done: connect.Completed) -> None:
    async with deliver_safely(svc, done.mm_user_id, done.channel_id) as deliver:
        if done.start is None:
            await deliver(Prompt(messages.connected(done.zoom_email)))
            return
        # The username is not in the OAuth callback; ask Mattermost for it.
        user = await svc.mattermost.get_user(done.mm_user_id)
        actor = Actor(user_id=user.id, username=user.username, roles=user.roles)
        await deliver(await start_meeting(svc, actor, done.start))
