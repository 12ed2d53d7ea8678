"""A Zoom user removed the app: forget them, tell Zoom, tell them.

Runs in the worker from the durable queue, so Zoom gets its answer at once and a
failure is retried. Written to be run again: the deletion is idempotent, and the
Data Compliance call and each direct message are recorded in the effect log.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from functools import partial

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.core import deauthorization, webhooks
from mattermost_zoom.store.repository import ZoomUserHolders
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.connect import STATE_LIFETIME
from mattermost_zoom.workflows.marked_posts import channel_posts_since_event, create_marked
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)


async def app_deauthorized(svc: Services, event: webhooks.ZoomEvent, effects: EffectLog) -> None:
    assert isinstance(event, webhooks.AppDeauthorized)
    if event.client_id != svc.settings.oauth_client_id:
        # Checked at the endpoint too; an event queued before a client ID change lands here.
        log.warning("deauthorization for another Zoom app ignored")
        return
    # Only what existed when Zoom told us: someone who connects this Zoom account
    # again afterwards keeps their new connection.
    before = effects.received_at
    # Who to tell is decided once: after the deletion nobody could be found again.
    found = await effects.once("holders", lambda: _holders_json(svc, event.user_id, before))
    holders = ZoomUserHolders(**json.loads(found))
    await effects.once("forget", lambda: _forget(svc, event.user_id, holders, before))
    log.info(
        "zoom user's data deleted after deauthorization",
        extra={"mattermost_users": len(holders.everyone)},
    )
    if deauthorization.must_report_compliance(event):
        await effects.once("data-compliance", lambda: _report_compliance(svc, event))
    for mm_user_id in holders.everyone:
        text = deauthorization.data_removed_message(
            connected=mm_user_id in holders.connected,
            subscriptions=holders.subscriptions.get(mm_user_id, 0),
        )
        step = f"direct-message:{mm_user_id}"
        await effects.once(
            step, partial(_send_direct_message, svc, effects, step, mm_user_id, text)
        )


async def _forget(
    svc: Services, zoom_user_id: str, holders: ZoomUserHolders, before: datetime
) -> None:
    await svc.store.forget_zoom_user(
        zoom_user_id,
        connected_mm_user_ids=holders.connected,
        before=before,
        states_expiring_before=before + STATE_LIFETIME,
    )


async def _holders_json(svc: Services, zoom_user_id: str, before: datetime) -> str:
    holders = await svc.store.holders_of_zoom_user(zoom_user_id, before)
    return json.dumps({"connected": holders.connected, "subscriptions": holders.subscriptions})


async def _report_compliance(svc: Services, event: webhooks.AppDeauthorized) -> None:
    await svc.zoom_oauth.report_data_compliance(
        user_id=event.user_id,
        account_id=event.account_id,
        deauthorization_event=event.payload,
    )
    log.info("zoom data compliance reported")


async def _send_direct_message(
    svc: Services, effects: EffectLog, step: str, mm_user_id: str, message: str
) -> str | None:
    """A direct message from the bot. A user Mattermost refuses (deleted,
    deactivated) is skipped: the data is gone either way, and retrying would not help."""
    try:
        bot = await svc.mattermost.get_me()
        channel_id = await svc.mattermost.direct_channel(bot.id, mm_user_id)
        return await create_marked(
            svc,
            effects,
            step,
            {"channel_id": channel_id, "message": message},
            earlier_posts=channel_posts_since_event(svc, effects, channel_id),
        )
    except MattermostError as exc:
        if exc.status == 429 or exc.status >= 500:
            raise
        log.warning("could not tell a user their zoom data was deleted", extra={"error": str(exc)})
        return None
