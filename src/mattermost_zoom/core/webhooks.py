"""Zoom webhooks, decided without I/O: is a delivery genuine, what event is it,
and what must change because of it."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mattermost_zoom.core.models import Meeting, MeetingStatus

MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
# A card posted this long after a session began is not that session's card.
SESSION_MATCH_SLACK = timedelta(minutes=1)


class Rejected(Exception):
    """A delivery that must not be acted on; ``status`` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# --- authenticity ---------------------------------------------------------


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_signature(
    *, secret: str | None, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> None:
    """Raise ``Rejected`` unless Zoom signed ``body`` with ``secret`` recently."""
    if not secret:
        raise Rejected(401, "MMZOOM_ZOOM_WEBHOOK_SECRET is not set, so no delivery can be verified")
    if not timestamp or not signature:
        raise Rejected(401, "missing x-zm-signature or x-zm-request-timestamp header")
    try:
        sent_at = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    except (ValueError, OverflowError, OSError):
        raise Rejected(401, "x-zm-request-timestamp is not a Unix time") from None
    if abs(now - sent_at) > TIMESTAMP_TOLERANCE:
        raise Rejected(401, "x-zm-request-timestamp is more than 5 minutes off")
    if not hmac.compare_digest(signature, expected_signature(secret, timestamp, body)):
        raise Rejected(401, "x-zm-signature does not match the body")


def url_validation_answer(secret: str, plain_token: str) -> dict[str, str]:
    encrypted = hmac.new(secret.encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    return {"plainToken": plain_token, "encryptedToken": encrypted}


def dedup_key(event: dict[str, Any]) -> str:
    """Zoom redelivers an event with the same body: same key, one effect."""
    canonical = json.dumps(
        [event.get("event"), event.get("event_ts"), event.get("payload")],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- events -----------------------------------------------------------------


@dataclass(frozen=True)
class MeetingStarted:
    meeting_id: str
    uuid: str
    topic: str
    host_id: str
    start_time: datetime | None


@dataclass(frozen=True)
class MeetingEnded:
    meeting_id: str
    uuid: str
    topic: str
    host_id: str
    start_time: datetime | None
    end_time: datetime | None


@dataclass(frozen=True)
class RecordingFile:
    id: str
    file_type: str
    recording_type: str
    download_url: str
    play_url: str
    file_size: int | None
    recording_start: str


@dataclass(frozen=True)
class RecordingCompleted:
    meeting_id: str
    uuid: str
    topic: str
    host_id: str
    password: str
    download_token: str
    files: tuple[RecordingFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class TranscriptCompleted:
    meeting_id: str
    uuid: str
    topic: str
    host_id: str
    download_token: str
    files: tuple[RecordingFile, ...] = field(default_factory=tuple)


@dataclass(frozen=True, eq=False)
class AppDeauthorized:
    """A user removed the app in Zoom; sent to the deauthorization endpoint."""

    user_id: str
    account_id: str
    client_id: str
    user_data_retention: bool  # False: Zoom must be told the user's data was deleted
    payload: dict[str, Any]  # as received, for Zoom's Data Compliance API


ZoomEvent = (
    MeetingStarted | MeetingEnded | RecordingCompleted | TranscriptCompleted | AppDeauthorized
)

HANDLED_EVENTS = frozenset(
    {"meeting.started", "meeting.ended", "recording.completed", "recording.transcript_completed"}
)


def ordering_key(envelope: dict[str, Any]) -> str:
    """Events with the same key are carried out in the order they arrived: those of
    one meeting (every session of a personal meeting ID included), or of one user.
    Events with different keys touch different cards and may run side by side."""
    payload = envelope.get("payload")
    if not isinstance(payload, dict):
        return ""
    obj = payload.get("object")
    if isinstance(obj, dict) and obj.get("id") not in (None, ""):
        return f"meeting:{obj['id']}"
    if payload.get("user_id"):
        return f"user:{payload['user_id']}"
    return ""


def parse_event(envelope: dict[str, Any]) -> ZoomEvent:
    """Turn a handled event into a typed value; raise ``Rejected(400)`` when it lacks
    what its handling needs."""
    name = envelope.get("event")
    payload = envelope.get("payload")
    if name == "app_deauthorized":
        return _app_deauthorized(payload)
    if not isinstance(payload, dict) or not isinstance(payload.get("object"), dict):
        raise Rejected(400, f"{name}: payload.object is missing")
    obj: dict[str, Any] = payload["object"]
    meeting_id = _meeting_id(obj, name)
    uuid = _required_str(obj, "uuid", name)
    topic = str(obj.get("topic") or "")
    host_id = str(obj.get("host_id") or "")
    if name == "meeting.started":
        return MeetingStarted(meeting_id, uuid, topic, host_id, _time(obj, "start_time", name))
    if name == "meeting.ended":
        return MeetingEnded(
            meeting_id,
            uuid,
            topic,
            host_id,
            _time(obj, "start_time", name),
            _time(obj, "end_time", name),
        )
    token = envelope.get("download_token")
    files = _files(obj, name)
    if name == "recording.completed":
        return RecordingCompleted(
            meeting_id,
            uuid,
            topic,
            host_id,
            str(obj.get("password") or ""),
            str(token or ""),
            files,
        )
    if name == "recording.transcript_completed":
        return TranscriptCompleted(meeting_id, uuid, topic, host_id, str(token or ""), files)
    raise Rejected(400, f"{name}: not a handled event")


def _app_deauthorized(payload: object) -> AppDeauthorized:
    if not isinstance(payload, dict):
        raise Rejected(400, "app_deauthorized: payload is missing")
    for key in ("user_id", "client_id"):
        if not isinstance(payload.get(key), str) or not payload[key]:
            raise Rejected(400, f"app_deauthorized: payload.{key} is missing")
    retention = payload.get("user_data_retention")
    if isinstance(retention, str):
        retention = retention.strip().lower()
    return AppDeauthorized(
        user_id=payload["user_id"],
        account_id=str(payload.get("account_id") or ""),
        client_id=payload["client_id"],
        # Zoom sends "true" or "false"; data is kept only on an explicit yes.
        user_data_retention=retention in ("true", True),
        payload=dict(payload),
    )


def _meeting_id(obj: dict[str, Any], name: object) -> str:
    # Zoom sends the ID as a string in meeting events and a number in recording events.
    value = obj.get("id")
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).isdigit():
        raise Rejected(400, f"{name}: payload.object.id is missing or not a meeting ID")
    return str(value)


def _required_str(obj: dict[str, Any], key: str, name: object) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise Rejected(400, f"{name}: payload.object.{key} is missing")
    return value


def _time(obj: dict[str, Any], key: str, name: object) -> datetime | None:
    value = obj.get(key)
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(400, f"{name}: payload.object.{key} is not a date and time") from None


def _files(obj: dict[str, Any], name: object) -> tuple[RecordingFile, ...]:
    raw = obj.get("recording_files") or []
    if not isinstance(raw, list):
        raise Rejected(400, f"{name}: payload.object.recording_files is not a list")
    files = []
    for item in raw:
        if not isinstance(item, dict):
            raise Rejected(400, f"{name}: a recording file is not an object")
        size = item.get("file_size")
        files.append(
            RecordingFile(
                id=str(item.get("id") or ""),
                file_type=str(item.get("file_type") or ""),
                recording_type=str(item.get("recording_type") or ""),
                download_url=str(item.get("download_url") or ""),
                play_url=str(item.get("play_url") or ""),
                file_size=size if isinstance(size, int) else None,
                recording_start=str(item.get("recording_start") or ""),
            )
        )
    return tuple(files)


# --- which card, and what it becomes -----------------------------------------


def card_for_session(
    cards: list[Meeting], *, uuid: str, session_start: datetime | None
) -> Meeting | None:
    """The card a Zoom session (meeting instance) belongs to.

    A card already bound to the session wins. Otherwise the newest unbound open
    card for the meeting ID that was posted before the session began (with a
    little slack): with a personal meeting ID the same ID is reused, and an
    earlier session must never end a newer card.
    """
    for card in cards:
        if card.instance_uuid == uuid or (card.instance_uuid is None and card.meeting_uuid == uuid):
            return card
    candidates = [
        c
        for c in cards
        if c.instance_uuid is None
        and c.status is MeetingStatus.STARTED
        and (session_start is None or c.created_at <= session_start + SESSION_MATCH_SLACK)
    ]
    return max(candidates, key=lambda c: c.created_at, default=None)


def ended_card_patch(
    card: Meeting, current_props: dict[str, Any], ended: MeetingEnded, received_at: datetime
) -> dict[str, Any]:
    """The post patch that turns a card into the record of a finished meeting.
    A patch replaces all props, so the card's other props are carried over."""
    start = ended.start_time or card.created_at
    end = ended.end_time or received_at
    minutes = max(1, math.ceil((end - start).total_seconds() / 60))
    length = f"{minutes} minute" + ("" if minutes == 1 else "s")
    date = start.strftime("%a %b %-d %Y %H:%M UTC")
    return {
        "message": "The meeting has ended.",
        "props": {
            **current_props,
            "meeting_uuid": ended.uuid,
            "meeting_status": MeetingStatus.ENDED.value,
            "meeting_end_time": int(end.timestamp() * 1000),
            "attachments": [
                {
                    "fallback": f"Meeting {card.meeting_id} has ended: started {date}, {length}.",
                    "color": "#8C8C8C",
                    "title": card.topic,
                    "text": "The meeting has ended.",
                    "fields": [
                        {"title": "Date", "value": date, "short": True},
                        {"title": "Meeting Length", "value": length, "short": True},
                        {"title": "Meeting ID", "value": card.meeting_id, "short": True},
                    ],
                }
            ],
        },
    }
