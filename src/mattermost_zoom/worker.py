"""The background worker: carries out queued Zoom events, after Zoom got its 200.

Every ``serve`` process runs one. It claims due events from the shared queue,
runs the handler for each, and on a passing failure (Mattermost or Zoom down,
rate-limited, slow) schedules a retry with backoff, honouring ``Retry-After``.

Acknowledging comes first: Zoom retries, and in the end disables, a webhook that
does not answer within 3 seconds, while nobody notices a card that ends a few
seconds late. So during a burst of deliveries the worker waits for a pause, but
never longer than ``MAX_DEFERRAL``; other processes' workers are not held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx

from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clients.zoom import ZoomError
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import webhooks
from mattermost_zoom.observability import current_request_id
from mattermost_zoom.store.events import EventQueue, QueuedEvent
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
# Finished events are kept this long: well past Zoom's redelivery attempts (so a
# late duplicate is still recognised), then deleted with their bodies.
RETENTION = timedelta(days=7)
PURGE_EVERY = timedelta(hours=1)
# Events taken per claim: fewer round trips under load, while a burst still
# spreads over the replicas.
CLAIM_BATCH = 16
# Events of different meetings run side by side, this many at a time: enough to
# overlap their database and HTTP waits, few enough to stay within the
# connection pool (each connection holds its own page cache).
SIDE_BY_SIDE = 4
MAX_BACKOFF = timedelta(minutes=10)
# No delivery for this long is a pause in a burst.
LULL = 0.02  # seconds
MAX_DEFERRAL = 5.0  # seconds


class EffectLog:
    """Steps of one event already done; ``once`` runs a step at most once, ever."""

    def __init__(self, queue: EventQueue, event: QueuedEvent) -> None:
        self._queue = queue
        self.event_id = event.id
        self.received_at = event.received_at
        self.attempt = event.attempts  # 1 on the first try

    @property
    def retrying(self) -> bool:
        """An earlier attempt may have changed Mattermost without recording it (a
        crash, or an answer lost after Mattermost acted): look before acting."""
        return self.attempt > 1

    async def once(self, step: str, action: Callable[[], Awaitable[str | None]]) -> str:
        done = await self._queue.effect_result(self.event_id, step)
        if done is not None:
            return done
        result = await action() or ""
        await self._queue.record_effect(self.event_id, step, result)
        return result


Envelope = dict[str, Any]
Handler = Callable[[Services, webhooks.ZoomEvent, EffectLog], Awaitable[None]]


class PermanentFailure(Exception):
    """Retrying cannot help; the event is marked failed with this reason."""


class EventWorker:
    def __init__(
        self,
        svc: Services,
        handlers: dict[str, Handler],
        *,
        lease: timedelta = timedelta(seconds=30),
        idle_poll: float = 1.0,
    ) -> None:
        self._svc = svc
        self._handlers = handlers
        self._lease = lease
        self._idle_poll = idle_poll
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._deliveries = DeliveryPressure()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mmzoom-event-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        """An event was just queued here: carry it out once deliveries pause."""
        self._deliveries.delivered()
        self._wakeup.set()

    async def _run(self) -> None:
        next_purge = utcnow()
        while True:
            if self._deliveries.pressing():
                await asyncio.sleep(LULL)
                continue
            try:
                worked = await self.process_one()
                if not worked and utcnow() >= next_purge:
                    next_purge = utcnow() + PURGE_EVERY
                    await self.purge()
            except Exception:
                log.exception("event worker iteration failed")
                worked = False
            if not worked:
                # Events queued by other processes are found by polling.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), self._idle_poll)
                self._wakeup.clear()

    async def purge(self) -> int:
        """Forget events finished longer ago than ``RETENTION`` (done when idle)."""
        purged = await self._svc.store.events.purge_finished(utcnow() - RETENTION)
        if purged:
            log.info("finished zoom events purged", extra={"purged": purged})
        return purged

    async def process_one(self) -> bool:
        """Claim a small batch of due events and carry them out; False if none."""
        now = utcnow()
        events = await self._svc.store.events.claim(
            now=now, lease_until=now + self._lease, limit=CLAIM_BATCH
        )
        if not events:
            return False
        held = {event.id for event in events}
        heartbeat = asyncio.create_task(self._keep_lease(held))
        bodies = {event.id: _read(event) for event in events}
        lanes: dict[str, list[QueuedEvent]] = {}
        for event in events:
            body = bodies[event.id]
            key = webhooks.ordering_key(body) if isinstance(body, dict) else ""
            lanes.setdefault(key, []).append(event)
        done: list[int] = []

        turns = asyncio.Semaphore(SIDE_BY_SIDE)

        async def in_order(lane: list[QueuedEvent]) -> None:
            async with turns:
                for event in lane:
                    if await self._process(event, bodies[event.id]):
                        done.append(event.id)
                    else:
                        held.discard(event.id)

        try:
            await asyncio.gather(*(in_order(lane) for lane in lanes.values()))
        finally:
            heartbeat.cancel()
            if done:
                # One write for the batch; an event whose effects ran but whose mark
                # was lost in a crash is run again, and its steps are idempotent.
                await self._svc.store.events.done(done, utcnow())
        return True

    async def _process(self, event: QueuedEvent, body: Envelope | PermanentFailure) -> bool:
        """Carry one event out; True when it is done (to be marked so)."""
        queue = self._svc.store.events
        context = current_request_id.set(f"event-{event.id}")
        counted = self._svc.metrics.webhook_events
        try:
            await self._handle(event, body)
            counted.labels(event.event, "processed").inc()
            log.info("zoom event processed", extra=_about(event))
            return True
        except PermanentFailure as exc:
            await queue.failed(event.id, str(exc))
            counted.labels(event.event, "failed").inc()
            log.error("zoom event failed", extra={**_about(event), "error": str(exc)})
        except Exception as exc:
            await self._retry_or_fail(event, exc)
        finally:
            current_request_id.reset(context)
        return False

    async def _handle(self, event: QueuedEvent, body: Envelope | PermanentFailure) -> None:
        if isinstance(body, PermanentFailure):
            raise body
        try:
            parsed = webhooks.parse_event(body)
        except webhooks.Rejected as exc:
            raise PermanentFailure(f"stored event cannot be read: {exc}") from None
        handler = self._handlers.get(event.event)
        if handler is None:
            return
        await handler(self._svc, parsed, EffectLog(self._svc.store.events, event))

    async def _retry_or_fail(self, event: QueuedEvent, exc: Exception) -> None:
        queue = self._svc.store.events
        reason = _describe(exc)
        counted = self._svc.metrics.webhook_events
        if not _passing(exc) or event.attempts >= MAX_ATTEMPTS:
            await queue.failed(event.id, reason)
            counted.labels(event.event, "failed").inc()
            log.error(
                "zoom event failed",
                extra={"event": event.event, "event_id": event.id, "error": reason},
            )
            return
        when = utcnow() + _backoff(event.attempts, _retry_after(exc))
        await queue.retry_at(event.id, when, reason)
        counted.labels(event.event, "retried").inc()
        log.warning(
            "zoom event will be retried",
            extra={
                "event": event.event,
                "event_id": event.id,
                "error": reason,
                "retry_at": when.isoformat(),
            },
        )

    async def _keep_lease(self, held: set[int]) -> None:
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            if held:
                await self._svc.store.events.extend(sorted(held), utcnow() + self._lease)


class DeliveryPressure:
    """Whether acknowledgements are pressing enough for the worker to wait: a
    delivery arrived within ``LULL``, and the burst has lasted under ``MAX_DEFERRAL``
    (after that the worker goes on alongside the deliveries until the next pause)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_delivery = -math.inf
        self._burst_since = -math.inf

    def delivered(self) -> None:
        now = self._clock()
        if now - self._last_delivery >= LULL:
            self._burst_since = now  # after a pause, a new burst
        self._last_delivery = now

    def pressing(self) -> bool:
        now = self._clock()
        return now - self._last_delivery < LULL and now - self._burst_since < MAX_DEFERRAL


def _read(event: QueuedEvent) -> Envelope | PermanentFailure:
    """The stored body as JSON, read once per attempt; or why it cannot be."""
    try:
        body = json.loads(event.body)
    except ValueError as exc:
        return PermanentFailure(f"stored event cannot be read: {exc}")
    if not isinstance(body, dict):
        return PermanentFailure("stored event cannot be read: not a JSON object")
    return body


def _about(event: QueuedEvent) -> dict[str, object]:
    return {"event": event.event, "event_id": event.id, "attempt": event.attempts}


def _passing(exc: Exception) -> bool:
    """Failures worth retrying: the peer was away, slow, busy or rate-limiting."""
    if isinstance(exc, (httpx.TransportError, TimeoutError)):
        return True
    if isinstance(exc, (MattermostError, ZoomError)):
        return exc.status == 429 or exc.status >= 500
    return False


def _retry_after(exc: Exception) -> float | None:
    if isinstance(exc, (MattermostError, ZoomError)):
        return exc.retry_after
    return None


def _backoff(attempts: int, retry_after: float | None) -> timedelta:
    if retry_after is not None:
        return timedelta(seconds=retry_after)
    base = min(2.0 ** (attempts - 1), MAX_BACKOFF.total_seconds())
    return timedelta(seconds=base * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not secrecy


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TransportError):
        return f"{type(exc).__name__}: could not reach a peer"
    return str(exc) or type(exc).__name__
