"""Recordings and transcripts in the meeting's thread, decided without I/O.

Which recording files become play links and which are attached, where a file may
be downloaded from, which card's thread gets the reply, and what the reply says.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from mattermost_zoom.core.models import Meeting
from mattermost_zoom.core.webhooks import (
    SESSION_MATCH_SLACK,
    RecordingCompleted,
    RecordingFile,
    TranscriptCompleted,
    card_for_session,
)

MIB = 1024 * 1024
# Chat histories and transcripts are text; anything this big is not one. It is
# also Mattermost's default maximum file size (FileSettings.MaxFileSize).
MAX_ATTACHMENT_BYTES = 100 * MIB

# Every reply carries this prop, "<event id>:<step>", so that a retry after a
# crash can find a reply it already made instead of posting it twice.
EVENT_MARKER_PROP = "mmzoom_event"

CHAT_FILENAME = "meeting-chat.txt"
TRANSCRIPT_FILENAME = "meeting-transcript.vtt"


class Refusal(enum.StrEnum):
    """Why a file was not attached."""

    NOT_ZOOM = "not-zoom"  # its address is not on a configured Zoom host
    TOO_LARGE = "too-large"
    UNAVAILABLE = "unavailable"  # Zoom refused the download (token expired, file gone)


@dataclass(frozen=True)
class PlayLink:
    label: str
    url: str


@dataclass(frozen=True)
class Attachment:
    """A recording file to download from Zoom and upload to the thread."""

    file: RecordingFile
    filename: str
    content_type: str
    refusal: Refusal | None = None  # refused before any download


@dataclass(frozen=True)
class RecordingReply:
    """What a recording.completed event puts in the meeting's thread."""

    links: tuple[PlayLink, ...]
    password: str
    chats: tuple[Attachment, ...]
    unsafe_links: tuple[str, ...] = ()  # play URLs left out: not on a Zoom host


# --- which files --------------------------------------------------------------


def is_chat(file: RecordingFile) -> bool:
    return file.recording_type == "chat_file" or file.file_type.upper() == "CHAT"


def is_transcript(file: RecordingFile) -> bool:
    return file.recording_type == "audio_transcript" or file.file_type.upper() == "TRANSCRIPT"


def is_playable(file: RecordingFile) -> bool:
    return file.file_type.upper() in ("MP4", "M4A") and bool(file.play_url)


_VIEW_LABELS = {
    "shared_screen_with_speaker_view(CC)": "Shared screen with speaker view (CC)",
    "shared_screen_with_speaker_view": "Shared screen with speaker view",
    "shared_screen_with_gallery_view": "Shared screen with gallery view",
    "active_speaker": "Active speaker",
    "speaker_view": "Speaker view",
    "gallery_view": "Gallery view",
    "shared_screen": "Shared screen",
    "audio_only": "Audio only",
}


def _label(file: RecordingFile) -> str:
    if file.recording_type in _VIEW_LABELS:
        return _VIEW_LABELS[file.recording_type]
    return "Audio recording" if file.file_type.upper() == "M4A" else "Recording"


def plan_recording(
    event: RecordingCompleted, *, zoom_urls: Iterable[str], post_password: bool
) -> RecordingReply:
    """Play links for the video and audio files, the chat file(s) to attach, and the
    password when the administrator allows posting it."""
    bases = tuple(zoom_urls)
    playable = [f for f in event.files if is_playable(f)]
    segments = {f.recording_start for f in playable}
    links, unsafe = [], []
    for file in playable:
        if not download_allowed(file.play_url, bases):
            unsafe.append(file.play_url)
            continue
        label = _label(file)
        if len(segments) > 1 and (start := _parse_time(file.recording_start)) is not None:
            label += f" (from {start:%H:%M} UTC)"
        links.append(PlayLink(label, file.play_url))
    chat_files = [f for f in event.files if is_chat(f)]
    chats = tuple(
        _attachment(
            f,
            CHAT_FILENAME if i == 0 else f"meeting-chat-{i + 1}.txt",
            "text/plain",
            bases,
        )
        for i, f in enumerate(chat_files)
    )
    password = event.password if post_password and links else ""
    return RecordingReply(tuple(links), password, chats, tuple(unsafe))


def plan_transcript(event: TranscriptCompleted, *, zoom_urls: Iterable[str]) -> Attachment | None:
    """The transcript to attach: the last transcript file of the event, if any."""
    transcripts = [f for f in event.files if is_transcript(f)]
    if not transcripts:
        return None
    return _attachment(transcripts[-1], TRANSCRIPT_FILENAME, "text/vtt", tuple(zoom_urls))


def _attachment(
    file: RecordingFile, filename: str, content_type: str, bases: tuple[str, ...]
) -> Attachment:
    refusal = None
    if not download_allowed(file.download_url, bases):
        refusal = Refusal.NOT_ZOOM
    elif file.file_size is not None and file.file_size > MAX_ATTACHMENT_BYTES:
        refusal = Refusal.TOO_LARGE
    return Attachment(file, filename, content_type, refusal)


# --- where downloads may come from ---------------------------------------------


def download_allowed(url: str, zoom_urls: Iterable[str]) -> bool:
    """True when ``url`` is on the host of a configured Zoom URL, or a subdomain of
    it, with the same port. It must be https, unless that configured URL is http
    itself (a test or lab setup). URLs with credentials or odd characters are refused.
    """
    if not url or not url.isascii() or any(c in url for c in "\\ \t\r\n\x00"):
        return False
    try:
        parts = urlsplit(url)
        port = _port(parts.scheme, parts.port)
    except ValueError:
        return False
    if parts.scheme not in ("https", "http") or "@" in parts.netloc:
        return False
    host = (parts.hostname or "").lower()
    if not host:
        return False
    for base in zoom_urls:
        try:
            allowed = urlsplit(base)
            allowed_port = _port(allowed.scheme, allowed.port)
        except ValueError:
            continue
        allowed_host = (allowed.hostname or "").lower()
        if not allowed_host or port != allowed_port:
            continue
        if parts.scheme == "http" and allowed.scheme != "http":
            continue
        if host == allowed_host or (not _is_ip(allowed_host) and host.endswith("." + allowed_host)):
            return True
    return False


def url_origin(url: str) -> str:
    """What may be logged of a download URL: scheme and host. The path of a Zoom
    download URL is itself a credential, and a query may hold a token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)"
    return f"{parts.scheme or '?'}://{host}{port}"


def _port(scheme: str, port: int | None) -> int | None:
    if port is not None:
        return port
    return {"https": 443, "http": 80}.get(scheme)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# --- which card -----------------------------------------------------------------


def card_for_recording(
    cards: list[Meeting], *, uuid: str, files: Iterable[RecordingFile] = ()
) -> Meeting | None:
    """The card whose thread gets a session's recording or transcript.

    Recordings arrive after the meeting ended, so ended cards count. A card bound
    to the session wins (``card_for_session``). Otherwise the newest card not bound
    to any session, whatever its status, posted before the recording began (with
    the same slack): its session's start was never reported.
    """
    card = card_for_session(cards, uuid=uuid, session_start=None)
    if card is not None:
        return card
    starts = [t for f in files if (t := _parse_time(f.recording_start)) is not None]
    began = min(starts, default=None)
    candidates = [
        c
        for c in cards
        if c.instance_uuid is None
        and (began is None or c.created_at <= began + SESSION_MATCH_SLACK)
    ]
    return max(candidates, key=lambda c: c.created_at, default=None)


def _parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- what the replies say ---------------------------------------------------------

_REASONS = {
    Refusal.NOT_ZOOM: "Zoom gave a download address outside Zoom, so it was not fetched",
    Refusal.TOO_LARGE: f"it is larger than {MAX_ATTACHMENT_BYTES // MIB} MB",
    Refusal.UNAVAILABLE: "Zoom no longer offers it for download",
}


def recording_message(reply: RecordingReply, refusals: Mapping[str, Refusal]) -> str:
    """The text of the recording reply; ``refusals`` maps a chat file's id to why it
    was not attached. Empty when there is nothing to tell."""
    lines: list[str] = []
    if reply.links:
        lines.append("The recording of this meeting is ready:")
        lines += [f"- [{link.label}]({link.url})" for link in reply.links]
        if reply.password:
            lines.append(f"Password: {_code(reply.password)}")
    attached = [c for c in reply.chats if c.file.id not in refusals]
    if attached:
        lines.append("The meeting chat is attached.")
    for reason in dict.fromkeys(refusals[c.file.id] for c in reply.chats if c.file.id in refusals):
        lines.append(f"The meeting chat could not be attached: {_REASONS[reason]}.")
    return "\n".join(lines)


def transcript_message(refusal: Refusal | None) -> str:
    if refusal is None:
        return "The transcript of this meeting is attached."
    return f"The transcript of this meeting could not be attached: {_REASONS[refusal]}."


def _code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
