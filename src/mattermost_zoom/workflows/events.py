"""Which workflow handles which queued Zoom event."""

from __future__ import annotations

from mattermost_zoom.worker import Handler
from mattermost_zoom.workflows import lifecycle

HANDLERS: dict[str, Handler] = {
    "meeting.started": lifecycle.meeting_started,
    "meeting.ended": lifecycle.meeting_ended,
}
