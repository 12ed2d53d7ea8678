"""Channel subscriptions to meetings: ``/zoom subscription`` and the card posted
when a subscribed meeting starts.

The rules live in ``core.subscriptions``; here the facts are gathered (channel
membership from Mattermost, the meeting from Zoom with the user's own token,
system-admin status only when it could change the answer) and the outcome is
carried out.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clients.zoom import OAuthGrantError, ZoomError, ZoomMeeting
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import cards, messages, webhooks
from mattermost_zoom.core import subscriptions as rules
from mattermost_zoom.core.cards import Prompt
from mattermost_zoom.core.models import Actor, Meeting, MeetingStatus
from mattermost_zoom.core.start import DEFAULT_TOPIC
from mattermost_zoom.core.subscriptions import MeetingInfo, Subscription
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.connect import connect_url
from mattermost_zoom.workflows.marked_posts import channel_posts_since_event, create_marked
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.tokens import NotConnected, ReconnectNeeded

log = logging.getLogger(__name__)

# Zoom answers these for a meeting ID that does not exist or that this user cannot see.
_NOT_FOUND_STATUSES = (400, 404)
_CARD_STEP = "subscription-card"


# --- /zoom subscription add | remove | list ---------------------------------------


async def add(svc: Services, actor: Actor, channel_id: str, meeting_id: str) -> Prompt:
    is_member, connection, existing = await asyncio.gather(
        svc.mattermost.is_channel_member(channel_id, actor.user_id),
        svc.store.get_connection(actor.user_id),
        svc.store.get_subscription(meeting_id),
    )
    match rules.precheck_add(is_member=is_member, connected=connection is not None):
        case rules.Refuse(text):
            return Prompt(text)
        case rules.NeedsConnection():
            return _connect_first(svc, actor, channel_id)
    assert connection is not None
    try:
        found: ZoomMeeting | None = await svc.tokens.call(
            actor.user_id, lambda token: svc.zoom_api.get_meeting(token, meeting_id)
        )
    except (NotConnected, ReconnectNeeded):
        prompt = _connect_first(svc, actor, channel_id)
        return Prompt(f"{messages.reconnect_needed()}\n{prompt.text}")
    except ZoomError as exc:
        if exc.status not in _NOT_FOUND_STATUSES:
            log.warning("zoom meeting lookup failed", extra={"error": str(exc)})
            return Prompt(rules.lookup_failed())
        found = None
    except (OAuthGrantError, TimeoutError, httpx.TransportError) as exc:
        log.warning("zoom meeting lookup failed", extra={"error": str(exc)})
        return Prompt(rules.lookup_failed())
    meeting = (
        MeetingInfo(meeting_id=found.id, host_id=found.host_id, type=found.type, pmi=found.pmi)
        if found is not None
        else None
    )
    is_admin = rules.host_matters(
        meeting, zoom_user_id=connection.zoom_user_id
    ) and await _is_system_admin(svc, actor)
    decision = rules.decide_add(
        meeting_id=meeting_id,
        channel_id=channel_id,
        meeting=meeting,
        zoom_user_id=connection.zoom_user_id,
        user_pmi=connection.pmi,
        is_system_admin=is_admin,
        existing=existing,
    )
    if not isinstance(decision, rules.Subscribe):
        return Prompt(decision.text)
    subscription = Subscription(
        meeting_id=meeting_id,
        channel_id=channel_id,
        created_by=actor.user_id,
        zoom_user_id=connection.zoom_user_id,
        created_at=utcnow(),
    )
    if not await svc.store.add_subscription(subscription):
        # Someone subscribed the meeting a moment ago.
        current = await svc.store.get_subscription(meeting_id)
        if current is not None:
            return Prompt(rules.subscribed_already(current, channel_id).text)
        if not await svc.store.add_subscription(subscription):
            return Prompt(rules.lookup_failed())
    log.info(
        "channel subscribed to a meeting",
        extra={"meeting_id": meeting_id, "channel_id": channel_id},
    )
    return Prompt(rules.subscribed(meeting_id))


async def remove(svc: Services, actor: Actor, channel_id: str, meeting_id: str) -> Prompt:
    is_member, existing = await asyncio.gather(
        svc.mattermost.is_channel_member(channel_id, actor.user_id),
        svc.store.get_subscription(meeting_id),
    )
    is_admin = (
        is_member
        and rules.remove_needs_admin(existing, channel_id=channel_id, user_id=actor.user_id)
        and await _is_system_admin(svc, actor)
    )
    decision = rules.decide_remove(
        meeting_id=meeting_id,
        channel_id=channel_id,
        user_id=actor.user_id,
        is_member=is_member,
        is_system_admin=is_admin,
        existing=existing,
    )
    if isinstance(decision, rules.Refuse):
        return Prompt(decision.text)
    if not await svc.store.remove_subscription(meeting_id, channel_id):
        return Prompt(rules.no_subscription(meeting_id))  # removed a moment ago
    log.info(
        "channel unsubscribed from a meeting",
        extra={"meeting_id": meeting_id, "channel_id": channel_id},
    )
    return Prompt(rules.unsubscribed(meeting_id))


async def list_subscriptions(svc: Services, actor: Actor) -> Prompt:
    everyone = await _is_system_admin(svc, actor)
    found = await svc.store.list_subscriptions(None if everyone else actor.user_id)
    shown = found[: rules.LIST_LIMIT]
    channel_ids = sorted({s.channel_id for s in shown})
    creator_ids = sorted({s.created_by for s in shown}) if everyone else []
    labels, names = await asyncio.gather(
        asyncio.gather(*(_channel_label(svc, c) for c in channel_ids)),
        asyncio.gather(*(_username(svc, u) for u in creator_ids)),
    )
    channel = dict(zip(channel_ids, labels, strict=True))
    creator = dict(zip(creator_ids, names, strict=True))
    rows = [
        rules.ListRow(s.meeting_id, channel[s.channel_id], creator.get(s.created_by, ""))
        for s in shown
    ]
    return Prompt(rules.subscription_list(rows, everyone=everyone, total=len(found)))


def _connect_first(svc: Services, actor: Actor, channel_id: str) -> Prompt:
    return Prompt(rules.connect_first(connect_url(svc, actor.user_id, channel_id, None)))


async def _is_system_admin(svc: Services, actor: Actor) -> bool:
    """Slash commands do not say who is an admin, so Mattermost is asked."""
    if actor.is_system_admin:
        return True
    return "system_admin" in (await svc.mattermost.get_user(actor.user_id)).roles


async def _channel_label(svc: Services, channel_id: str) -> str:
    try:
        channel = await svc.mattermost.get_channel(channel_id)
    except MattermostError:
        return rules.channel_label(name=None, type_=None)
    return rules.channel_label(name=channel.name, type_=channel.type)


async def _username(svc: Services, user_id: str) -> str:
    try:
        return "@" + (await svc.mattermost.get_user(user_id)).username
    except MattermostError:
        return "(unknown user)"


# --- a subscribed meeting starts ------------------------------------------------


async def post_subscribed_card(
    svc: Services, event: webhooks.MeetingStarted, effects: EffectLog
) -> None:
    """Post a card in the channel subscribed to ``event``'s meeting, if any: once
    per Zoom session, however often the start is delivered or retried."""
    subscription = await svc.store.get_subscription(event.meeting_id)
    if subscription is None:
        return
    if not await svc.mattermost.is_channel_member(subscription.channel_id, subscription.created_by):
        # Whoever subscribed the channel has left it: it no longer gets cards.
        log.info("subscriber left the channel; no card", extra={"meeting_id": event.meeting_id})
        return
    await effects.once(_CARD_STEP, lambda: _post_card_once(svc, event, subscription, effects))


async def _post_card_once(
    svc: Services, event: webhooks.MeetingStarted, subscription: Subscription, effects: EffectLog
) -> str | None:
    existing = await svc.store.meeting_for_instance(event.uuid)
    if existing is not None and existing.post_id is not None:
        return existing.post_id  # this session already has its card
    if not await svc.store.claim_subscription_session(
        event.meeting_id, event.uuid, effects.event_id
    ):
        # Another delivery of this start holds the session and posts (or retries) its card.
        log.info("card already being posted", extra={"meeting_id": event.meeting_id})
        return None
    join_url, creator = await asyncio.gather(
        _join_url(svc, subscription, event.meeting_id),
        _creator_username(svc, subscription, event.host_id),
    )
    topic = event.topic or DEFAULT_TOPIC
    if existing is not None and existing.row_id is not None:
        row_id = existing.row_id  # an earlier attempt stopped before it knew of a card
    else:
        row_id = await svc.store.add_meeting(
            Meeting(
                meeting_id=event.meeting_id,
                meeting_uuid=event.uuid,
                post_id=None,
                channel_id=subscription.channel_id,
                creator_mm_user_id=subscription.created_by,
                topic=topic,
                personal=False,
                join_url=join_url,
                status=MeetingStatus.STARTED,
                created_at=utcnow(),
                instance_uuid=event.uuid,
            ),
            host_zoom_user_id=event.host_id or None,
        )
    post = cards.meeting_post(
        channel_id=subscription.channel_id,
        meeting_id=event.meeting_id,
        meeting_uuid=event.uuid,
        join_url=join_url,
        topic=topic,
        personal=False,
        creator_username=creator,
    )
    try:
        post_id = await create_marked(
            svc,
            effects,
            _CARD_STEP,
            post,
            earlier_posts=channel_posts_since_event(svc, effects, subscription.channel_id),
        )
    except MattermostError as exc:
        if exc.status < 500:
            await svc.store.forget_meeting(row_id)  # refused: nothing was posted
        raise  # a 5xx may hide a card that was posted: the retry looks for it
    await svc.store.attach_post(row_id, post_id)
    log.info(
        "subscribed meeting card posted",
        extra={"meeting_id": event.meeting_id, "channel_id": subscription.channel_id},
    )
    return post_id


async def _join_url(svc: Services, subscription: Subscription, meeting_id: str) -> str:
    """The meeting's own join link (it carries the passcode) when the subscriber's
    Zoom account can read it; otherwise the plain link, which asks for the passcode."""
    plain = f"{svc.settings.zoom_url}/j/{meeting_id}"
    try:
        meeting = await svc.tokens.call(
            subscription.created_by, lambda token: svc.zoom_api.get_meeting(token, meeting_id)
        )
    except (
        NotConnected,
        ReconnectNeeded,
        ZoomError,
        OAuthGrantError,
        TimeoutError,
        httpx.TransportError,
    ) as exc:
        log.info(
            "using the plain join link",
            extra={"meeting_id": meeting_id, "reason": type(exc).__name__},
        )
        return plain
    return meeting.join_url or plain


async def _creator_username(svc: Services, subscription: Subscription, host_id: str) -> str:
    """Who the card says started the meeting: the host's Mattermost user when their
    Zoom account is known here, otherwise the bot (as the Go plugin always does)."""
    mm_user_id: str | None = None
    if host_id and subscription.zoom_user_id == host_id:
        mm_user_id = subscription.created_by
    elif host_id:
        connections = await svc.store.connections_for_zoom_user(host_id)
        mm_user_id = connections[0].mm_user_id if connections else None
    if mm_user_id is not None:
        try:
            return (await svc.mattermost.get_user(mm_user_id)).username
        except MattermostError as exc:
            if exc.status != 404:
                raise
    return (await svc.mattermost.get_me()).username
