"""What the service posts: the meeting card and interactive prompts. Pure.

The card carries the props the Go plugin's web app reads (so an installed web app
renders it natively) and a message attachment, so that every client without the
plugin still shows the topic, who started it, the meeting ID and a Join link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mattermost_zoom.core import messages

POST_TYPE = "custom_zoom"
ZOOM_BLUE = "#2D8CFF"


@dataclass(frozen=True)
class Button:
    """A button; the shell turns ``action``+``data`` into a signed integration."""

    name: str
    action: str
    data: dict[str, Any] = field(default_factory=dict)
    style: str = "default"


@dataclass(frozen=True)
class Prompt:
    """An ephemeral message with buttons, shown to one user."""

    text: str
    buttons: tuple[Button, ...] = ()


def meeting_post(
    *,
    channel_id: str,
    root_id: str = "",
    meeting_id: str,
    meeting_uuid: str,
    join_url: str,
    topic: str,
    personal: bool,
    creator_username: str,
) -> dict[str, Any]:
    return {
        "channel_id": channel_id,
        "root_id": root_id,
        "type": POST_TYPE,
        "message": messages.meeting_started_text(creator_username),
        "props": {
            "meeting_id": _numeric(meeting_id),
            "meeting_uuid": meeting_uuid,
            "meeting_link": join_url,
            "meeting_status": "STARTED",
            "meeting_personal": personal,
            "meeting_topic": topic,
            "meeting_creator_username": creator_username,
            "meeting_provider": "Zoom",
            "attachments": [
                {
                    "fallback": f"Zoom meeting “{topic}”: {join_url}",
                    "color": ZOOM_BLUE,
                    "title": topic,
                    "title_link": join_url,
                    "text": f"Started by @{creator_username}\n\n[Join Meeting]({join_url})",
                    "fields": [
                        {"title": "Meeting ID", "value": _display_id(meeting_id), "short": True},
                        {
                            "title": "Meeting ID type",
                            "value": "Personal" if personal else "Unique",
                            "short": True,
                        },
                    ],
                }
            ],
        },
    }


def _numeric(meeting_id: str) -> int | str:
    # The plugin's web app reads a number; keep anything unexpected as text.
    return int(meeting_id) if meeting_id.isdigit() else meeting_id


def _display_id(meeting_id: str) -> str:
    """Zoom writes meeting IDs in groups of three and four: 123 4567 8901."""
    if not meeting_id.isdigit() or len(meeting_id) < 9:
        return meeting_id
    head = meeting_id[: len(meeting_id) - 8]
    return f"{head} {meeting_id[-8:-4]} {meeting_id[-4:]}"
