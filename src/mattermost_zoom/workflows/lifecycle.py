"""Meeting lifecycle from Zoom events: a session starts, a session ends.

Each handler is written to be run again after a crash: steps that change
Mattermost are recorded in the effect log, and the rest are idempotent.
"""

from __future__ import annotations

import logging

from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import webhooks
from mattermost_zoom.core.models import MeetingStatus
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.services import Services
from mattermost_zoom.workflows.subscriptions import post_subscribed_card

log = logging.getLogger(__name__)


async def meeting_started(svc: Services, event: webhooks.ZoomEvent, effects: EffectLog) -> None:
    assert isinstance(event, webhooks.MeetingStarted)
    cards = await svc.store.cards_for_meeting(event.meeting_id)
    card = webhooks.card_for_session(cards, uuid=event.uuid, session_start=event.start_time)
    if card is not None and card.row_id is not None and card.instance_uuid is None:
        await svc.store.bind_instance(card.row_id, event.uuid)
        log.info("meeting session bound to its card", extra={"meeting_id": event.meeting_id})
    if card is None:
        # Nobody posted this session: a subscribed channel gets a card for it.
        await post_subscribed_card(svc, event, effects)


async def meeting_ended(svc: Services, event: webhooks.ZoomEvent, effects: EffectLog) -> None:
    assert isinstance(event, webhooks.MeetingEnded)
    cards = await svc.store.cards_for_meeting(event.meeting_id)
    card = webhooks.card_for_session(cards, uuid=event.uuid, session_start=event.start_time)
    if card is None or card.row_id is None or card.post_id is None:
        log.info("no card for an ended meeting", extra={"meeting_id": event.meeting_id})
        return
    if card.status is MeetingStatus.ENDED and card.instance_uuid == event.uuid:
        return  # a redelivery after the card was already updated
    current = await svc.mattermost.get_post(card.post_id)
    patch = webhooks.ended_card_patch(card, current.get("props") or {}, event, effects.received_at)
    await svc.mattermost.patch_post(card.post_id, patch)
    await svc.store.mark_ended(card.row_id, event.uuid, event.end_time or utcnow())
    log.info("meeting card marked ended", extra={"meeting_id": event.meeting_id})
