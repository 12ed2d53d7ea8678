"""Posts made while carrying out a queued Zoom event, made once.

A post can be created in Mattermost and its answer lost on the way back (a proxy
gives up with a 504). The step is then not recorded as done, and the retry would
post it again. So each such post carries a marker naming the event and the step,
and a retry first looks for a post with that marker where the first one went.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from mattermost_zoom.core.recordings import EVENT_MARKER_PROP
from mattermost_zoom.worker import EffectLog
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)

# Mattermost's clock is not ours: look this much further back for an earlier post.
_CLOCK_SKEW_MARGIN = timedelta(minutes=10)

EarlierPosts = Callable[[], Awaitable[list[dict[str, Any]]]]


async def create_marked(
    svc: Services,
    effects: EffectLog,
    step: str,
    post: dict[str, Any],
    *,
    earlier_posts: EarlierPosts,
) -> str:
    """The step's post: found where an earlier attempt of this event made it, or
    created now with the marker; its id. For use inside ``effects.once(step, ...)``;
    ``earlier_posts`` lists where an earlier attempt's post would be."""
    marker = f"{effects.event_id}:{step}"
    if effects.retrying:
        for earlier in await earlier_posts():
            if (earlier.get("props") or {}).get(EVENT_MARKER_PROP) == marker:
                log.info("found the post an earlier attempt made", extra={"step": step})
                return str(earlier["id"])
    marked = {**post, "props": {**(post.get("props") or {}), EVENT_MARKER_PROP: marker}}
    created = await svc.mattermost.create_post(marked)
    return str(created["id"])


def channel_posts_since_event(svc: Services, effects: EffectLog, channel_id: str) -> EarlierPosts:
    """The channel's posts since the event arrived (less the clock margin)."""
    since = effects.received_at - _CLOCK_SKEW_MARGIN
    return lambda: svc.mattermost.channel_posts_since(channel_id, since)
