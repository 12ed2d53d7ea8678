"""Getting a core ``Prompt`` in front of the user: in a response body when we are
still answering Mattermost, as an ephemeral post when the work ran afterwards."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, Protocol

from starlette.responses import JSONResponse

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.core import messages
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.web.interactive import prompt_props
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)


class Deliver(Protocol):
    async def __call__(self, prompt: Prompt | None, *, replaces: str | None = None) -> None: ...


def render(svc: Services, user_id: str, prompt: Prompt) -> dict[str, Any]:
    """``{"message": ..., "props": ...}`` for a post or a post update."""
    return {
        "message": prompt.text,
        "props": prompt_props(
            prompt,
            user_id=user_id,
            signer=svc.keys.post_actions,
            public_url=svc.settings.public_url,
        ),
    }


def prompt_response(svc: Services, user_id: str, prompt: Prompt) -> JSONResponse:
    """A slash command response showing ``prompt`` to the user only."""
    rendered = render(svc, user_id, prompt)
    body: dict[str, Any] = {"response_type": "ephemeral", "text": rendered["message"]}
    body.update(rendered["props"])
    return JSONResponse(body)


@contextlib.asynccontextmanager
async def deliver_safely(svc: Services, user_id: str, channel_id: str) -> AsyncIterator[Deliver]:
    """For work done after the answer: yields a function that posts a prompt as an
    ephemeral message, and turns any crash into a log line and an apology, because
    nobody is left to see an exception."""

    async def deliver(prompt: Prompt | None, *, replaces: str | None = None) -> None:
        if prompt is None:
            return
        rendered = render(svc, user_id, prompt)
        await svc.mattermost.send_ephemeral(
            user_id, channel_id, rendered["message"], rendered["props"] or None, replaces=replaces
        )

    try:
        yield deliver
    except MattermostError as exc:
        log.warning("mattermost call failed in background work", extra={"error": str(exc)})
        with contextlib.suppress(MattermostError):
            await deliver(Prompt(messages.mattermost_unavailable()))
    except Exception:
        log.exception("background work failed")
        with contextlib.suppress(MattermostError):
            await deliver(Prompt(messages.something_went_wrong()))
