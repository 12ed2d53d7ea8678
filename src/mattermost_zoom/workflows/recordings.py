"""Recordings and transcripts land in the meeting's thread.

recording.completed: one reply under the meeting's card with the play links, the
password if the administrator allows it, and the meeting chat attached.
recording.transcript_completed: one reply with the transcript attached.

Files stream from Zoom into Mattermost, from configured Zoom hosts only. Every
step that changes Mattermost goes through the effect log, and every reply is
marked with its event and step, so that a retry finds a reply an interrupted
attempt already made. A passing failure of Zoom or Mattermost propagates: the
worker retries the event.
"""

from __future__ import annotations

import logging
from typing import Any

from mattermost_zoom.clients import downloads
from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.core import recordings, webhooks
from mattermost_zoom.core.models import Meeting
from mattermost_zoom.core.recordings import Attachment, Refusal
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.marked_posts import create_marked
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)

# How a refused upload is recorded in the effect log (file ids never start so).
_REFUSED = "!"


async def recording_completed(svc: Services, event: webhooks.ZoomEvent, effects: EffectLog) -> None:
    assert isinstance(event, webhooks.RecordingCompleted)
    card = await _card(svc, event.meeting_id, event.uuid, event.files)
    if card is None:
        return
    plan = recordings.plan_recording(
        event,
        zoom_urls=_zoom_urls(svc),
        post_password=svc.settings.enable_posting_recording_password,
    )
    for url in plan.unsafe_links:
        log.warning(
            "recording play link left out: not on a Zoom host",
            extra={"meeting_id": event.meeting_id, "origin": recordings.url_origin(url)},
        )
    file_ids: list[str] = []
    refusals: dict[str, Refusal] = {}
    for chat in plan.chats:
        outcome = await _upload(svc, effects, card, chat, "chat", event.download_token)
        if isinstance(outcome, Refusal):
            refusals[chat.file.id] = outcome
        else:
            file_ids.append(outcome)
    message = recordings.recording_message(plan, refusals)
    if not message:
        log.info("nothing to post for a recording", extra={"meeting_id": event.meeting_id})
        return
    await _reply(svc, effects, card, "reply:recording", message, file_ids)
    log.info("recording posted in the meeting's thread", extra={"meeting_id": event.meeting_id})


async def transcript_completed(
    svc: Services, event: webhooks.ZoomEvent, effects: EffectLog
) -> None:
    assert isinstance(event, webhooks.TranscriptCompleted)
    card = await _card(svc, event.meeting_id, event.uuid, event.files)
    if card is None:
        return
    transcript = recordings.plan_transcript(event, zoom_urls=_zoom_urls(svc))
    if transcript is None:
        log.info("no transcript file in the event", extra={"meeting_id": event.meeting_id})
        return
    outcome = await _upload(svc, effects, card, transcript, "transcript", event.download_token)
    refusal = outcome if isinstance(outcome, Refusal) else None
    file_ids = [] if isinstance(outcome, Refusal) else [outcome]
    await _reply(
        svc, effects, card, "reply:transcript", recordings.transcript_message(refusal), file_ids
    )
    log.info("transcript posted in the meeting's thread", extra={"meeting_id": event.meeting_id})


# --- steps -------------------------------------------------------------------------


def _zoom_urls(svc: Services) -> tuple[str, str]:
    return (svc.settings.zoom_url, svc.settings.zoom_api_url)


async def _card(
    svc: Services, meeting_id: str, uuid: str, files: tuple[webhooks.RecordingFile, ...]
) -> Meeting | None:
    cards = await svc.store.cards_for_meeting(meeting_id)
    card = recordings.card_for_recording(cards, uuid=uuid, files=files)
    if card is None or card.post_id is None:
        log.info("no card for a recorded meeting", extra={"meeting_id": meeting_id})
        return None
    return card


async def _upload(
    svc: Services,
    effects: EffectLog,
    card: Meeting,
    attachment: Attachment,
    kind: str,
    token: str,
) -> str | Refusal:
    """Upload ``attachment`` to the card's channel, once: its Mattermost file id, or
    why it was not attached."""
    if attachment.refusal is not None:
        _log_refusal(attachment, attachment.refusal)
        return attachment.refusal

    result = await effects.once(
        f"upload:{kind}:{attachment.file.id}", lambda: _transfer(svc, card, attachment, token)
    )
    if result.startswith(_REFUSED):
        return Refusal(result.removeprefix(_REFUSED))
    return result


async def _transfer(svc: Services, card: Meeting, attachment: Attachment, token: str) -> str:
    """Stream one file from Zoom into Mattermost; its file id, or ``!<refusal>``."""
    file = attachment.file
    try:
        async with downloads.open_download(
            svc.http,
            file.download_url,
            token=token,
            allowed=lambda url: recordings.download_allowed(url, _zoom_urls(svc)),
            origin=recordings.url_origin,
            max_bytes=recordings.MAX_ATTACHMENT_BYTES,
        ) as body:
            info = await svc.mattermost.upload_file(
                card.channel_id, attachment.filename, body, content_type=attachment.content_type
            )
    except downloads.DownloadRefused as exc:
        return _refused(attachment, Refusal.NOT_ZOOM, origin=exc.origin)
    except downloads.DownloadTooLarge:
        return _refused(attachment, Refusal.TOO_LARGE)
    except downloads.DownloadUnavailable as exc:
        return _refused(attachment, Refusal.UNAVAILABLE, status=exc.status)
    except MattermostError as exc:
        if exc.status == 413:  # over Mattermost's own maximum file size
            return _refused(attachment, Refusal.TOO_LARGE)
        raise
    return str(info["id"])


def _refused(attachment: Attachment, refusal: Refusal, **detail: object) -> str:
    _log_refusal(attachment, refusal, **detail)
    return _REFUSED + refusal.value


def _log_refusal(attachment: Attachment, refusal: Refusal, **detail: object) -> None:
    extra: dict[str, object] = {
        "file_id": attachment.file.id,
        "file_type": attachment.file.file_type,
        "reason": refusal.value,
        **detail,
    }
    if refusal is Refusal.NOT_ZOOM:
        extra.setdefault("origin", recordings.url_origin(attachment.file.download_url))
    log.warning("recording file not attached", extra=extra)


async def _reply(
    svc: Services,
    effects: EffectLog,
    card: Meeting,
    step: str,
    message: str,
    file_ids: list[str],
) -> str:
    """Post a reply under the card, once, even if an earlier attempt posted it but
    died before recording that."""
    assert card.post_id is not None
    root_id = card.post_id
    reply: dict[str, Any] = {"channel_id": card.channel_id, "root_id": root_id, "message": message}
    if file_ids:
        reply["file_ids"] = file_ids
    return await effects.once(
        step,
        lambda: create_marked(
            svc, effects, step, reply, earlier_posts=lambda: svc.mattermost.get_thread(root_id)
        ),
    )
