"""Channel subscriptions to recurring meetings: ``/zoom subscription`` and the card
posted when a subscribed meeting starts."""

from __future__ import annotations

from mattermost_zoom.core import webhooks
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.services import Services


async def post_subscribed_card(
    svc: Services, event: webhooks.MeetingStarted, effects: EffectLog
) -> None:
    """Post a card in the channel subscribed to ``event``'s meeting, if any."""
    return None
