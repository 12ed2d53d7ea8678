"""Which workflow handles which queued Zoom event."""

from __future__ import annotations

from mattermost_zoom.worker import Handler
from mattermost_zoom.workflows import deauthorize, lifecycle, recordings

HANDLERS: dict[str, Handler] = {
    "meeting.started": lifecycle.meeting_started,
    "meeting.ended": lifecycle.meeting_ended,
    "recording.completed": recordings.recording_completed,
    "recording.transcript_completed": recordings.transcript_completed,
    "app_deauthorized": deauthorize.app_deauthorized,
}
