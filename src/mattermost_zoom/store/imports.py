"""Queries of ``mattermost-zoom import-plugin-data``: add what is not here yet,
never replace what is (a user who connected here, or chose a setting here, wins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mattermost_zoom.core.models import MeetingIdChoice, NewConnection
from mattermost_zoom.store.dialect import upsertable_insert
from mattermost_zoom.store.repository import connection_row
from mattermost_zoom.store.schema import user_preferences, zoom_connections


async def is_connected(engine: AsyncEngine, mm_user_id: str) -> bool:
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(zoom_connections.c.mm_user_id).where(
                    zoom_connections.c.mm_user_id == mm_user_id
                )
            )
        ).first()
    return found is not None


async def add_connection_if_absent(engine: AsyncEngine, new: NewConnection) -> bool:
    """False when the user is connected here already."""
    return await _insert_if_absent(engine, zoom_connections, connection_row(new))


async def add_preference_if_absent(
    engine: AsyncEngine, mm_user_id: str, choice: MeetingIdChoice, now: datetime
) -> bool:
    """False when the user has a setting here already."""
    return await _insert_if_absent(
        engine,
        user_preferences,
        {"mm_user_id": mm_user_id, "meeting_id_choice": choice.value, "updated_at": now},
    )


async def _insert_if_absent(engine: AsyncEngine, table: Table, values: dict[str, Any]) -> bool:
    async with engine.begin() as conn:
        key = next(iter(table.primary_key.columns))
        inserted = await conn.execute(
            upsertable_insert(conn, table).values(values).on_conflict_do_nothing().returning(key)
        )
        return inserted.first() is not None
