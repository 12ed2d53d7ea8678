"""Channel meeting preferences: one row per channel that is not on the default."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select

from mattermost_zoom.core.channel_policy import ChannelPreference
from mattermost_zoom.store.database import Database
from mattermost_zoom.store.dialect import upsertable_insert
from mattermost_zoom.store.schema import channel_preferences


class ChannelPreferences:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, channel_id: str) -> ChannelPreference | None:
        async with self._db.read() as conn:
            value = (
                await conn.execute(
                    select(channel_preferences.c.preference).where(
                        channel_preferences.c.channel_id == channel_id
                    )
                )
            ).scalar()
        return ChannelPreference(value) if value else None

    async def set(
        self, channel_id: str, preference: ChannelPreference, user_id: str, now: datetime
    ) -> None:
        async with self._db.write() as conn:
            if preference is ChannelPreference.DEFAULT:
                # The default needs no row: listing shows only channels that differ.
                await conn.execute(
                    delete(channel_preferences).where(
                        channel_preferences.c.channel_id == channel_id
                    )
                )
                return
            values = {
                "channel_id": channel_id,
                "preference": preference.value,
                "updated_by": user_id,
                "updated_at": now,
            }
            await conn.execute(
                upsertable_insert(conn, channel_preferences)
                .values(values)
                .on_conflict_do_update(
                    index_elements=["channel_id"],
                    set_={k: v for k, v in values.items() if k != "channel_id"},
                )
            )

    async def all(self) -> list[tuple[str, ChannelPreference]]:
        async with self._db.read() as conn:
            rows = (
                await conn.execute(
                    select(channel_preferences.c.channel_id, channel_preferences.c.preference)
                    .order_by(channel_preferences.c.channel_id)
                    .limit(500)
                )
            ).all()
        return [(r[0], ChannelPreference(r[1])) for r in rows]
