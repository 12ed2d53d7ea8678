"""The durable queue of verified Zoom events, and the record of their effects.

An event is written before Zoom gets its 200. Workers in any process claim due
events with a lease; a crashed worker's lease runs out and another picks the
event up. Each step of an event is recorded once done, so a retry skips it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select, update

from mattermost_zoom.store.database import Database
from mattermost_zoom.store.dialect import upsertable_insert
from mattermost_zoom.store.schema import webhook_deliveries, webhook_effects, webhook_events

PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True)
class QueuedEvent:
    id: int
    event: str
    body: str
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class Delivery:
    at: datetime
    detail: str


@dataclass(frozen=True)
class QueueStats:
    pending: int
    failed: int
    oldest_pending: datetime | None


class EventQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, *, dedup_key: str, event: str, body: str, now: datetime) -> bool:
        """Queue an event; False when the same event was queued before."""
        values = {
            "dedup_key": dedup_key,
            "event": event,
            "body": body,
            "received_at": now,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        async with self._db.write() as conn:
            # RETURNING tells a fresh insert from a conflict on every driver.
            inserted = await conn.execute(
                upsertable_insert(conn, webhook_events)
                .values(values)
                .on_conflict_do_nothing()
                .returning(webhook_events.c.id)
            )
            return inserted.first() is not None

    async def claim(self, *, now: datetime, lease_until: datetime) -> QueuedEvent | None:
        """Take the oldest due event for this worker, or None. Exactly one worker,
        in whatever process, gets a given event while its lease lasts."""
        due = (
            select(webhook_events.c.id)
            .where(
                webhook_events.c.status == PENDING,
                webhook_events.c.next_attempt_at <= now,
                or_(
                    webhook_events.c.claimed_until.is_(None),
                    webhook_events.c.claimed_until < now,
                ),
            )
            .order_by(webhook_events.c.id)
            .limit(1)
        )
        async with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                # Workers skip rows another one is claiming instead of queueing behind it.
                due = due.with_for_update(skip_locked=True)
            event_id = (await conn.execute(due)).scalar()
            if event_id is None:
                return None
            # The condition is repeated so that, on SQLite, a racing claim loses cleanly.
            row = (
                (
                    await conn.execute(
                        update(webhook_events)
                        .where(
                            webhook_events.c.id == event_id,
                            webhook_events.c.status == PENDING,
                            or_(
                                webhook_events.c.claimed_until.is_(None),
                                webhook_events.c.claimed_until < now,
                            ),
                        )
                        .values(claimed_until=lease_until, attempts=webhook_events.c.attempts + 1)
                        .returning(
                            webhook_events.c.id,
                            webhook_events.c.event,
                            webhook_events.c.body,
                            webhook_events.c.received_at,
                            webhook_events.c.attempts,
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return None
        return QueuedEvent(
            id=row["id"],
            event=row["event"],
            body=row["body"],
            received_at=row["received_at"],
            attempts=row["attempts"],
        )

    async def extend(self, event_id: int, lease_until: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id, webhook_events.c.status == PENDING)
                .values(claimed_until=lease_until)
            )

    async def done(self, event_id: int, now: datetime) -> None:
        await self._finish(event_id, status=DONE, done_at=now, last_error=None)

    async def failed(self, event_id: int, error: str) -> None:
        await self._finish(event_id, status=FAILED, last_error=error)

    async def retry_at(self, event_id: int, when: datetime, error: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id)
                .values(next_attempt_at=when, claimed_until=None, last_error=error)
            )

    async def _finish(self, event_id: int, **values: object) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id == event_id)
                .values(claimed_until=None, **values)
            )

    async def last_received(self) -> datetime | None:
        """When the newest verified event arrived (for diagnosis)."""
        async with self._db.read() as conn:
            value = (await conn.execute(select(func.max(webhook_events.c.received_at)))).scalar()
        return value if isinstance(value, datetime) else None

    async def stats(self) -> QueueStats:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(
                        func.count().filter(webhook_events.c.status == PENDING),
                        func.count().filter(webhook_events.c.status == FAILED),
                        func.min(webhook_events.c.received_at).filter(
                            webhook_events.c.status == PENDING
                        ),
                    )
                )
            ).one()
        oldest = row[2]
        return QueueStats(pending=int(row[0]), failed=int(row[1]), oldest_pending=oldest)

    # --- effects ----------------------------------------------------------

    async def effect_result(self, event_id: int, step: str) -> str | None:
        """The recorded result of a step, '' for a step done without one, None if
        the step has not been done."""
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(webhook_effects.c.result).where(
                        and_(webhook_effects.c.event_id == event_id, webhook_effects.c.step == step)
                    )
                )
            ).first()
        return None if row is None else (row[0] or "")

    async def record_effect(self, event_id: int, step: str, result: str = "") -> None:
        async with self._db.write() as conn:
            await conn.execute(
                upsertable_insert(conn, webhook_effects)
                .values(event_id=event_id, step=step, result=result)
                .on_conflict_do_nothing()
            )

    # --- deliveries, for diagnosis -----------------------------------------

    async def note_delivery(self, kind: str, at: datetime, detail: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.kind == kind))
            await conn.execute(insert(webhook_deliveries).values(kind=kind, at=at, detail=detail))

    async def last_delivery(self, kind: str) -> Delivery | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(
                    select(webhook_deliveries.c.at, webhook_deliveries.c.detail).where(
                        webhook_deliveries.c.kind == kind
                    )
                )
            ).first()
        return Delivery(at=row[0], detail=row[1]) if row else None
