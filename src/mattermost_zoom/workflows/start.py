"""``/zoom start``: gather the facts, let the core decide, carry the decision out.

Critical path for a connected user: (1) Mattermost channel + membership look-ups,
concurrently, (2) Zoom creates the meeting, (3) Mattermost gets the card.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clients.zoom import OAuthGrantError, ZoomError, ZoomMeeting
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import cards, messages
from mattermost_zoom.core.cards import Button, Prompt
from mattermost_zoom.core.models import (
    Actor,
    ChannelType,
    Connection,
    Meeting,
    MeetingIdChoice,
    MeetingStatus,
    StartRequest,
)
from mattermost_zoom.core.start import (
    RECENT_MEETING_WINDOW,
    AskMeetingId,
    Create,
    NeedsConnection,
    OfferRecent,
    Refuse,
    StartFacts,
    decide_start,
)
from mattermost_zoom.crypto import DecryptionError
from mattermost_zoom.store.repository import StartLookups
from mattermost_zoom.workflows.connect import connect_prompt
from mattermost_zoom.workflows.identity import (
    UnknownEmail,
    ZoomIdentity,
    connection_key,
    is_system_admin,
    resolve,
)
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.tokens import NotConnected, ReconnectNeeded

log = logging.getLogger(__name__)


async def start_meeting(svc: Services, actor: Actor, request: StartRequest) -> Prompt | None:
    """Start a meeting for ``actor``; returns what to show them, or None when the
    card itself is the answer."""
    now = utcnow()

    async def identity_and_lookups() -> tuple[ZoomIdentity | Prompt | None, StartLookups]:
        lookups = await svc.store.start_lookups(
            connection_key=connection_key(svc, actor.user_id),
            user_id=actor.user_id,
            channel_id=request.channel_id,
            since=now - RECENT_MEETING_WINDOW,
        )
        return await _identity(svc, actor, lookups.connection), lookups

    # The database read goes first: its thread works while the HTTP calls are built.
    (identity, lookups), channel, is_member = await asyncio.gather(
        identity_and_lookups(),
        svc.mattermost.get_channel(request.channel_id),
        svc.mattermost.is_channel_member(request.channel_id, actor.user_id),
    )
    if isinstance(identity, Prompt):
        return identity
    decision = decide_start(
        StartFacts(
            request=request,
            channel_type=ChannelType(channel.type),
            is_member=is_member,
            restrict_public_channels=svc.settings.restrict_meeting_creation,
            channel_preference=lookups.channel_preference,
            connected=identity is not None,
            has_pmi=bool(identity and identity.pmi),
            saved_choice=lookups.meeting_id_choice,
            recent_meeting=lookups.recent_meeting,
            now=now,
        )
    )
    match decision:
        case Refuse(reason):
            return Prompt(messages.REFUSALS[reason])
        case NeedsConnection():
            if svc.settings.account_level_app and not await is_system_admin(svc, actor):
                return Prompt(messages.account_not_connected())
            return connect_prompt(svc, actor.user_id, request)
        case OfferRecent(meeting):
            return Prompt(
                messages.recent_meeting(meeting.topic),
                (
                    Button("Join Meeting", "join", {"url": meeting.join_url}, "primary"),
                    Button(
                        "Create New Meeting",
                        "start",
                        replace(request, force_new=True).to_dict(),
                    ),
                ),
            )
        case AskMeetingId():
            return Prompt(
                messages.ask_meeting_id(),
                tuple(
                    Button(messages.CHOICE_LABELS[c], "start", replace(request, choice=c).to_dict())
                    for c in (MeetingIdChoice.PERSONAL, MeetingIdChoice.UNIQUE)
                ),
            )
        case Create(personal, topic):
            assert identity is not None
            return await _create(svc, actor, request, identity, personal=personal, topic=topic)


async def _identity(
    svc: Services, actor: Actor, stored: Connection | None
) -> ZoomIdentity | Prompt | None:
    try:
        found = await resolve(svc, actor, stored)
    except (ReconnectNeeded, NotConnected):
        return None
    except DecryptionError:
        return _unreadable_connection()
    except (ZoomError, OAuthGrantError, TimeoutError) as exc:
        log.warning("zoom user look-up failed", extra={"error": str(exc)})
        return Prompt(messages.zoom_unavailable())
    if isinstance(found, UnknownEmail):
        return Prompt(messages.email_unknown_to_zoom(found.email))
    return found


async def _create(
    svc: Services,
    actor: Actor,
    request: StartRequest,
    identity: ZoomIdentity,
    *,
    personal: bool,
    topic: str,
) -> Prompt | None:
    pmi = identity.pmi
    try:
        if personal and pmi:
            zoom_meeting: ZoomMeeting = await svc.tokens.call(
                identity.token_owner,
                lambda token: svc.zoom_api.get_meeting(token, pmi),
                loaded=identity.connection,
            )
        else:
            zoom_meeting = await svc.tokens.call(
                identity.token_owner,
                lambda token: svc.zoom_api.create_meeting(token, topic, identity.zoom_user),
                loaded=identity.connection,
            )
    except (NotConnected, ReconnectNeeded):
        if svc.settings.account_level_app:
            return Prompt(messages.account_not_connected())
        prompt = connect_prompt(svc, actor.user_id, request)
        return Prompt(f"{messages.reconnect_needed()}\n{prompt.text}")
    except DecryptionError:
        return _unreadable_connection()
    except (ZoomError, OAuthGrantError, TimeoutError) as exc:
        log.warning("zoom call failed while starting a meeting", extra={"error": str(exc)})
        return Prompt(messages.zoom_unavailable())

    post = cards.meeting_post(
        channel_id=request.channel_id,
        root_id=request.root_id,
        meeting_id=zoom_meeting.id,
        meeting_uuid=zoom_meeting.uuid,
        join_url=zoom_meeting.join_url,
        topic=topic,
        personal=personal,
        creator_username=actor.username,
    )
    meeting = Meeting(
        meeting_id=zoom_meeting.id,
        meeting_uuid=zoom_meeting.uuid or None,
        post_id=None,
        channel_id=request.channel_id,
        creator_mm_user_id=actor.user_id,
        topic=topic,
        personal=personal,
        join_url=zoom_meeting.join_url,
        status=MeetingStatus.STARTED,
        created_at=utcnow(),
    )
    # Recorded while the card is being posted: a second /zoom start in the channel
    # finds this meeting as recent from the moment its card can appear.
    created, row_id = await asyncio.gather(
        svc.mattermost.create_post(post), svc.store.add_meeting(meeting), return_exceptions=True
    )
    if isinstance(created, MattermostError):
        if isinstance(row_id, int):
            await svc.store.forget_meeting(row_id)
        log.warning("posting the meeting card failed", extra={"error": str(created)})
        return Prompt(messages.mattermost_unavailable())
    for failure in (created, row_id):
        if isinstance(failure, BaseException):
            raise failure
    assert isinstance(created, dict) and isinstance(row_id, int)
    await svc.store.attach_post(row_id, str(created["id"]))
    log.info(
        "meeting started",
        extra={
            "meeting_id": zoom_meeting.id,
            "channel_id": request.channel_id,
            "personal": personal,
        },
    )
    return None


def _unreadable_connection() -> Prompt:
    log.error(
        "stored Zoom tokens cannot be decrypted: MMZOOM_ENCRYPTION_KEY no longer holds "
        "the key they were encrypted with; put that key back after the new one and run "
        "`mattermost-zoom rotate-key`"
    )
    return Prompt(messages.connection_unreadable())
