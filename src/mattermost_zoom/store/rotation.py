"""Queries of ``mattermost-zoom rotate-key``: every encrypted column, read in batches
and rewritten row by row with a compare-and-set.

A row is rewritten only if its encrypted values are still the ones that were read,
so a token refreshed meanwhile by a running service (which writes with the first
key already) is never overwritten with the older token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ColumnElement, Table, and_, func, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from mattermost_zoom.store.schema import oauth_states, zoom_connections


@dataclass(frozen=True)
class EncryptedTable:
    """A table with columns encrypted by ``crypto.TokenCipher``."""

    table: Table
    key: Column[str]
    columns: tuple[Column[str], ...]
    # Rows still worth keeping readable at ``now``; None: all of them.
    live: Callable[[datetime], ColumnElement[bool]] | None = None

    @property
    def name(self) -> str:
        return self.table.name

    def where_live(self, now: datetime) -> ColumnElement[bool]:
        return self.live(now) if self.live is not None else true()


# Every encrypted column of the schema (``grep -rn "encrypt(" src``).
ENCRYPTED_TABLES: tuple[EncryptedTable, ...] = (
    EncryptedTable(
        zoom_connections,
        zoom_connections.c.mm_user_id,
        (zoom_connections.c.access_token, zoom_connections.c.refresh_token),
    ),
    EncryptedTable(
        oauth_states,
        oauth_states.c.state_hash,
        (oauth_states.c.code_verifier,),
        # An expired state can never be used again; it is swept, not rotated.
        live=lambda now: oauth_states.c.expires_at >= now,
    ),
)


@dataclass(frozen=True)
class EncryptedRow:
    key: str
    values: dict[str, str]  # column name -> ciphertext

    def __repr__(self) -> str:  # ciphertexts are not for logs either
        return f"EncryptedRow(key={self.key!r})"


async def count_rows(engine: AsyncEngine, spec: EncryptedTable, now: datetime) -> int:
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                select(func.count()).select_from(spec.table).where(spec.where_live(now))
            )
        ).scalar()
    return int(count or 0)


async def read_batch(
    engine: AsyncEngine, spec: EncryptedTable, *, after: str | None, limit: int, now: datetime
) -> list[EncryptedRow]:
    """Up to ``limit`` rows whose key sorts after ``after``, in key order."""
    query = (
        select(spec.key, *spec.columns).where(spec.where_live(now)).order_by(spec.key).limit(limit)
    )
    if after is not None:
        query = query.where(spec.key > after)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_row(spec, r) for r in rows]


async def read_row(engine: AsyncEngine, spec: EncryptedTable, key: str) -> EncryptedRow | None:
    async with engine.connect() as conn:
        row = (
            (await conn.execute(select(spec.key, *spec.columns).where(spec.key == key)))
            .mappings()
            .first()
        )
    return _row(spec, row) if row else None


async def replace_if_unchanged(
    engine: AsyncEngine, spec: EncryptedTable, row: EncryptedRow, new_values: dict[str, str]
) -> bool:
    """Write ``new_values`` if the row still holds exactly ``row.values``; one short
    transaction. False: the row changed or is gone."""
    unchanged = and_(*(c == row.values[c.name] for c in spec.columns))
    async with engine.begin() as conn:
        result = await conn.execute(
            update(spec.table).where(spec.key == row.key, unchanged).values(**new_values)
        )
    return bool(result.rowcount)


def _row(spec: EncryptedTable, mapping: RowMapping) -> EncryptedRow:
    return EncryptedRow(
        key=str(mapping[spec.key.name]),
        values={c.name: str(mapping[c.name]) for c in spec.columns},
    )
