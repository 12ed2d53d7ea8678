"""Interactive buttons: turning a core ``Prompt`` into Mattermost attachment actions,
and checking the requests that come back when a button is clicked.

The context of every button is signed by the service and names the action and the
user it was shown to, so a click is honoured only for that user and that action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.crypto import SignatureError, Signer

BUTTON_MAX_AGE = timedelta(hours=1)


class ForbiddenAction(Exception):
    """The click's context was forged, tampered with, expired, or not this user's."""


@dataclass(frozen=True)
class Click:
    action: str
    user_id: str
    username: str
    channel_id: str
    post_id: str
    trigger_id: str
    data: dict[str, Any]


def prompt_props(
    prompt: Prompt, *, user_id: str, signer: Signer, public_url: str
) -> dict[str, Any]:
    if not prompt.buttons:
        return {}
    actions = [
        {
            "id": f"{button.action}{index}",
            "name": button.name,
            "type": "button",
            "style": button.style,
            "integration": {
                "url": f"{public_url}/actions/{button.action}",
                "context": {
                    "signed": signer.sign({"a": button.action, "u": user_id, "d": button.data})
                },
            },
        }
        for index, button in enumerate(prompt.buttons)
    ]
    return {"attachments": [{"text": "", "actions": actions}]}


def read_click(action: str, body: Any, signer: Signer) -> Click:
    """Verify a button request (Mattermost's post action body) for ``action``."""
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    user_id = body.get("user_id")
    context = body.get("context")
    if not isinstance(user_id, str) or not user_id or not isinstance(context, dict):
        raise ValueError("user_id and context are required")
    signed = context.get("signed")
    if not isinstance(signed, str):
        raise ForbiddenAction("context is not signed")
    try:
        value = signer.verify(signed, int(BUTTON_MAX_AGE.total_seconds()))
    except SignatureError:
        raise ForbiddenAction("bad or expired signature") from None
    if value.get("a") != action or value.get("u") != user_id:
        raise ForbiddenAction("context belongs to another action or user")
    data = value.get("d")
    return Click(
        action=action,
        user_id=user_id,
        username=str(body.get("user_name") or ""),
        channel_id=str(body.get("channel_id") or ""),
        post_id=str(body.get("post_id") or ""),
        trigger_id=str(body.get("trigger_id") or ""),
        data=data if isinstance(data, dict) else {},
    )
