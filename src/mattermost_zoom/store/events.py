"""The durable queue of verified Zoom events, and the record of their effects.

An event is written before Zoom gets its 200. Workers in any process claim due
events with a lease; a crashed worker's lease runs out and another picks the
event up. Each step of an event is recorded once done, so a retry skips it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from sqlalchemy import and_, delete, func, insert, or_, select, update

from mattermost_zoom.store.database import Database
from mattermost_zoom.store.dialect import upsertable_insert
from mattermost_zoom.store.schema import webhook_deliveries, webhook_effects, webhook_events

PENDING, DONE, FAILED = "pending", "done", "failed"

_QUEUED_COLUMNS = (
    "dedup_key",
    "event",
    "body",
    "received_at",
    "status",
    "attempts",
    "next_attempt_at",
)
# The inline path's statement, from the same column list as its rows.
_SQLITE_INSERT = (
    f"INSERT INTO {webhook_events.name} ({', '.join(_QUEUED_COLUMNS)})"  # noqa: S608 - constants
    f" VALUES ({', '.join('?' for _ in _QUEUED_COLUMNS)}) ON CONFLICT (dedup_key) DO NOTHING"
)


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
        # Deliveries waiting for the next group commit, and the task doing it.
        self._waiting: list[tuple[dict[str, object], asyncio.Future[bool]]] = []
        self._committer: asyncio.Task[None] | None = None
        # How SQLAlchemy would store each value (the time columns), for the inline path.
        self._to_sqlite = {
            name: processor
            for name in _QUEUED_COLUMNS
            if (processor := webhook_events.c[name].type.bind_processor(db.engine.dialect))
        }

    async def add(self, *, dedup_key: str, event: str, body: str, now: datetime) -> bool:
        """Queue an event durably; False when the same event was queued before.

        Deliveries arriving together share one transaction (a group commit): each
        caller still returns only after its event is committed.
        """
        values: dict[str, object] = {
            "dedup_key": dedup_key,
            "event": event,
            "body": body,
            "received_at": now,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        committed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((values, committed))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_waiting())
        return await asyncio.shield(committed)

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            rows = [values for values, _ in batch]
            try:
                fresh = None
                if self._db.is_sqlite:
                    stored = [self._sqlite_row(values) for values in rows]
                    fresh = await self._db.write_inline(partial(_insert_new_sqlite, rows=stored))
                if fresh is None:
                    fresh = await self._insert_new(rows)
            except Exception as exc:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(exc)
                continue
            for values, committed in batch:
                key = values["dedup_key"]
                if not committed.done():
                    committed.set_result(key in fresh)
                # A second delivery in the same batch is a duplicate of the first.
                fresh.discard(key)

    async def _insert_new(self, rows: list[dict[str, object]]) -> set[object]:
        """Insert the rows not queued before; the dedup keys of those inserted."""
        async with self._db.write() as conn:
            # RETURNING names the rows that were new, so a conflict (an event
            # queued before) tells itself apart.
            result = await conn.execute(
                upsertable_insert(conn, webhook_events)
                .on_conflict_do_nothing()
                .returning(webhook_events.c.dedup_key),
                rows,
            )
            return set(result.scalars())

    def _sqlite_row(self, values: dict[str, object]) -> tuple[object, ...]:
        """``values`` as SQLite stores them, in ``_SQLITE_INSERT``'s order."""
        return tuple(
            self._to_sqlite[name](values[name]) if name in self._to_sqlite else values[name]
            for name in _QUEUED_COLUMNS
        )

    async def claim(
        self, *, now: datetime, lease_until: datetime, limit: int = 1
    ) -> list[QueuedEvent]:
        """Take up to ``limit`` of the oldest due events for this worker. Exactly one
        worker, in whatever process, holds a given event while its lease lasts."""
        claimable = or_(
            webhook_events.c.claimed_until.is_(None), webhook_events.c.claimed_until < now
        )
        due = (
            select(webhook_events.c.id)
            .where(
                webhook_events.c.status == PENDING,
                webhook_events.c.next_attempt_at <= now,
                claimable,
            )
            .order_by(webhook_events.c.id)
            .limit(limit)
        )
        async with self._db.write() as conn:
            if conn.dialect.name == "postgresql":
                # Workers skip rows another one is claiming instead of queueing behind it.
                due = due.with_for_update(skip_locked=True)
            ids = list((await conn.execute(due)).scalars())
            if not ids:
                return []
            # The condition is repeated so that, on SQLite, a racing claim loses cleanly.
            rows = (
                (
                    await conn.execute(
                        update(webhook_events)
                        .where(
                            webhook_events.c.id.in_(ids),
                            webhook_events.c.status == PENDING,
                            claimable,
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
                .all()
            )
        events = [
            QueuedEvent(
                id=row["id"],
                event=row["event"],
                body=row["body"],
                received_at=row["received_at"],
                attempts=row["attempts"],
            )
            for row in rows
        ]
        return sorted(events, key=lambda e: e.id)

    async def extend(self, event_ids: list[int], lease_until: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id.in_(event_ids), webhook_events.c.status == PENDING)
                .values(claimed_until=lease_until)
            )

    async def done(self, event_ids: list[int], now: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(webhook_events)
                .where(webhook_events.c.id.in_(event_ids))
                .values(status=DONE, done_at=now, claimed_until=None, last_error=None)
            )

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

    async def purge_finished(self, before: datetime) -> int:
        """Delete events finished (done or failed) before ``before``, with their
        effect records. Their bodies can hold short-lived download tokens, and
        nothing needs them once Zoom has stopped redelivering."""
        finished = select(webhook_events.c.id).where(
            webhook_events.c.status.in_((DONE, FAILED)),
            webhook_events.c.received_at < before,
        )
        async with self._db.write() as conn:
            await conn.execute(
                delete(webhook_effects).where(webhook_effects.c.event_id.in_(finished))
            )
            result = await conn.execute(
                delete(webhook_events).where(webhook_events.c.id.in_(finished))
            )
        return int(result.rowcount or 0)

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


def _insert_new_sqlite(conn: sqlite3.Connection, *, rows: list[tuple[object, ...]]) -> set[object]:
    """SQLite, on the direct connection: insert the rows not queued before; the
    dedup keys of those inserted (a conflict changes no row)."""
    fresh = set()
    for row in rows:
        if conn.execute(_SQLITE_INSERT, row).rowcount == 1:
            fresh.add(row[0])
    return fresh
