"""The store: every query the service makes, as small async methods.

Each method is one short transaction. Anything that must be atomic across
processes (consuming an OAuth state, taking the refresh lease) is a single
conditional statement, so it holds on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Subquery, delete, event, insert, literal, or_, select, true, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mattermost_zoom.core.channel_policy import ChannelPreference
from mattermost_zoom.core.models import (
    Connection,
    Meeting,
    MeetingIdChoice,
    MeetingStatus,
    NewConnection,
    StartRequest,
)
from mattermost_zoom.core.subscriptions import Subscription
from mattermost_zoom.store.channel_preferences import ChannelPreferences
from mattermost_zoom.store.database import SQLITE_PRAGMAS, Database
from mattermost_zoom.store.dialect import upsertable_insert
from mattermost_zoom.store.events import EventQueue
from mattermost_zoom.store.schema import (
    channel_preferences,
    meetings,
    oauth_states,
    subscriptions,
    user_preferences,
    zoom_connections,
)
from mattermost_zoom.store.urls import async_url


@dataclass(frozen=True)
class ZoomUserHolders:
    """The Mattermost users holding data of one Zoom account."""

    connected: list[str]  # connected to it
    # subscriptions made while connected to it, by Mattermost user
    subscriptions: dict[str, int]

    @property
    def everyone(self) -> list[str]:
        return sorted({*self.connected, *self.subscriptions})


@dataclass(frozen=True)
class StartLookups:
    connection: Connection | None  # stored under the starting user's connection key
    meeting_id_choice: MeetingIdChoice | None
    recent_meeting: Meeting | None  # still open, in the channel, recent enough
    channel_preference: ChannelPreference | None


@dataclass(frozen=True)
class OAuthState:
    mm_user_id: str
    channel_id: str
    code_verifier_enc: str
    start_request: StartRequest | None


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self._db = Database(engine)
        self.events = EventQueue(self._db)
        self.channel_preferences = ChannelPreferences(self._db)

    @classmethod
    def open(cls, database_url: str) -> Store:
        url = async_url(database_url)
        if url.startswith("sqlite"):
            # Pooled connections: opening one (and its aiosqlite thread) per query
            # would cost more than the query. Other processes' writers are waited for.
            engine = create_async_engine(
                url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8
            )
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            # No pre-ping round trip per checkout: a connection the server dropped is
            # discarded by the pool when it fails, and recycled before servers drop it.
            engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800)
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        return self._db.engine

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        async with self._db.read() as conn:
            await conn.execute(select(1))

    # --- Zoom connections -------------------------------------------------

    async def get_connection(self, mm_user_id: str) -> Connection | None:
        async with self._db.read() as conn:
            row = (await conn.execute(_connection_query(mm_user_id))).mappings().first()
        return _connection(row) if row else None

    async def save_connection(self, new: NewConnection) -> None:
        """Create or replace the user's connection (a reconnect starts a new version)."""
        values = connection_row(new)
        await self._upsert(
            zoom_connections,
            values,
            key="mm_user_id",
            # A reconnect starts a new token generation, ending any refresh in flight.
            overrides={"token_version": zoom_connections.c.token_version + 1},
        )

    async def connections_for_zoom_user(self, zoom_user_id: str) -> list[Connection]:
        async with self._db.read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(zoom_connections).where(
                            zoom_connections.c.zoom_user_id == zoom_user_id
                        )
                    )
                )
                .mappings()
                .all()
            )
        return [_connection(r) for r in rows]

    async def delete_connection(self, mm_user_id: str) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(zoom_connections).where(zoom_connections.c.mm_user_id == mm_user_id)
            )
        return bool(result.rowcount)

    async def take_refresh_lease(
        self, mm_user_id: str, *, version: int, now: datetime, until: datetime
    ) -> bool:
        """Claim the right to refresh this version of the user's token. Exactly one
        caller wins, whichever process it runs in; an expired lease can be taken over."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(zoom_connections)
                .where(
                    zoom_connections.c.mm_user_id == mm_user_id,
                    zoom_connections.c.token_version == version,
                    (zoom_connections.c.refresh_lease_until.is_(None))
                    | (zoom_connections.c.refresh_lease_until < now),
                )
                .values(refresh_lease_until=until)
            )
        return bool(result.rowcount)

    async def store_refreshed_tokens(
        self,
        mm_user_id: str,
        *,
        version: int,
        access_token_enc: str,
        refresh_token_enc: str,
        access_expires_at: datetime,
    ) -> bool:
        async with self._db.write() as conn:
            result = await conn.execute(
                update(zoom_connections)
                .where(
                    zoom_connections.c.mm_user_id == mm_user_id,
                    zoom_connections.c.token_version == version,
                )
                .values(
                    access_token=access_token_enc,
                    refresh_token=refresh_token_enc,
                    access_expires_at=access_expires_at,
                    token_version=version + 1,
                    refresh_lease_until=None,
                )
            )
        return bool(result.rowcount)

    async def release_refresh_lease(self, mm_user_id: str, *, version: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(zoom_connections)
                .where(
                    zoom_connections.c.mm_user_id == mm_user_id,
                    zoom_connections.c.token_version == version,
                )
                .values(refresh_lease_until=None)
            )

    # --- Preferences ------------------------------------------------------

    async def get_meeting_id_choice(self, mm_user_id: str) -> MeetingIdChoice | None:
        async with self._db.read() as conn:
            value = (
                await conn.execute(
                    select(user_preferences.c.meeting_id_choice).where(
                        user_preferences.c.mm_user_id == mm_user_id
                    )
                )
            ).scalar()
        return MeetingIdChoice(value) if value else None

    async def set_meeting_id_choice(
        self, mm_user_id: str, choice: MeetingIdChoice, now: datetime
    ) -> None:
        await self._upsert(
            user_preferences,
            {"mm_user_id": mm_user_id, "meeting_id_choice": choice.value, "updated_at": now},
            key="mm_user_id",
        )

    # --- OAuth states -----------------------------------------------------

    async def put_oauth_state(
        self,
        *,
        state_hash: str,
        mm_user_id: str,
        channel_id: str,
        code_verifier_enc: str,
        start_request: StartRequest | None,
        expires_at: datetime,
        now: datetime,
    ) -> None:
        async with self._db.write() as conn:
            # Expired states are useless; sweeping them here keeps the table small.
            await conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
            await conn.execute(
                insert(oauth_states).values(
                    state_hash=state_hash,
                    mm_user_id=mm_user_id,
                    channel_id=channel_id,
                    code_verifier=code_verifier_enc,
                    start_request=(json.dumps(start_request.to_dict()) if start_request else None),
                    expires_at=expires_at,
                )
            )

    async def consume_oauth_state(self, state_hash: str, now: datetime) -> OAuthState | None:
        """Delete and return the state if it exists and is live. A state can be
        consumed once, by one process."""
        async with self._db.write() as conn:
            row = (
                (
                    await conn.execute(
                        delete(oauth_states)
                        .where(oauth_states.c.state_hash == state_hash)
                        .returning(
                            oauth_states.c.mm_user_id,
                            oauth_states.c.channel_id,
                            oauth_states.c.code_verifier,
                            oauth_states.c.start_request,
                            oauth_states.c.expires_at,
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None or row["expires_at"] <= now:
            return None
        raw = row["start_request"]
        return OAuthState(
            mm_user_id=row["mm_user_id"],
            channel_id=row["channel_id"],
            code_verifier_enc=row["code_verifier"],
            start_request=StartRequest.from_dict(json.loads(raw)) if raw else None,
        )

    async def delete_oauth_states(self, mm_user_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(oauth_states).where(oauth_states.c.mm_user_id == mm_user_id))

    # --- Meetings ---------------------------------------------------------

    async def add_meeting(self, meeting: Meeting, *, host_zoom_user_id: str | None = None) -> int:
        """Record a meeting; returns its row id (for ``attach_post``)."""
        async with self._db.write() as conn:
            result = await conn.execute(
                insert(meetings).values(
                    meeting_id=meeting.meeting_id,
                    meeting_uuid=meeting.meeting_uuid,
                    instance_uuid=meeting.instance_uuid,
                    host_zoom_user_id=host_zoom_user_id,
                    post_id=meeting.post_id,
                    channel_id=meeting.channel_id,
                    creator_mm_user_id=meeting.creator_mm_user_id,
                    topic=meeting.topic,
                    personal=meeting.personal,
                    join_url=meeting.join_url,
                    status=meeting.status.value,
                    created_at=meeting.created_at,
                    ended_at=meeting.ended_at,
                )
            )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])

    async def attach_post(self, row_id: int, post_id: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(meetings).where(meetings.c.id == row_id).values(post_id=post_id)
            )

    async def forget_meeting(self, row_id: int) -> None:
        async with self._db.write() as conn:
            await conn.execute(delete(meetings).where(meetings.c.id == row_id))

    async def start_lookups(
        self, *, connection_key: str, user_id: str, channel_id: str, since: datetime
    ) -> StartLookups:
        """What ``/zoom start`` needs from the database, in one statement: it is on
        the critical path, and each statement costs a thread hop or a round trip."""
        connection = _connection_query(connection_key).subquery("connection")
        recent = _latest_open_query(channel_id, since).subquery("recent")
        anchor = select(literal(1).label("anchor")).subquery("anchor")  # the one row
        query = select(
            connection,
            recent,
            user_preferences.c.meeting_id_choice,
            channel_preferences.c.preference,
        ).select_from(
            anchor.outerjoin(connection, true())
            .outerjoin(recent, true())
            .outerjoin(user_preferences, user_preferences.c.mm_user_id == user_id)
            .outerjoin(channel_preferences, channel_preferences.c.channel_id == channel_id)
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).mappings().one()
        found_connection = _columns_of(row, connection)
        found_recent = _columns_of(row, recent)
        choice = row[user_preferences.c.meeting_id_choice]
        preference = row[channel_preferences.c.preference]
        return StartLookups(
            connection=_connection(found_connection) if found_connection else None,
            meeting_id_choice=MeetingIdChoice(choice) if choice else None,
            recent_meeting=_meeting(found_recent) if found_recent else None,
            channel_preference=ChannelPreference(preference) if preference else None,
        )

    async def meeting_by_post(self, post_id: str) -> Meeting | None:
        async with self._db.read() as conn:
            row = (
                (await conn.execute(select(meetings).where(meetings.c.post_id == post_id)))
                .mappings()
                .first()
            )
        return _meeting(row) if row else None

    async def cards_for_meeting(self, meeting_id: str) -> list[Meeting]:
        """Every posted card for a Zoom meeting ID, newest first."""
        async with self._db.read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(meetings)
                        .where(meetings.c.meeting_id == meeting_id, meetings.c.post_id.is_not(None))
                        .order_by(meetings.c.created_at.desc())
                        .limit(50)
                    )
                )
                .mappings()
                .all()
            )
        return [_meeting(r) for r in rows]

    async def meeting_for_instance(self, instance_uuid: str) -> Meeting | None:
        """The card row of a Zoom session, posted or still being posted."""
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(meetings)
                        .where(meetings.c.instance_uuid == instance_uuid)
                        .order_by(meetings.c.id)
                        .limit(1)
                    )
                )
                .mappings()
                .first()
            )
        return _meeting(row) if row else None

    async def bind_instance(self, row_id: int, instance_uuid: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(meetings).where(meetings.c.id == row_id).values(instance_uuid=instance_uuid)
            )

    async def mark_ended(self, row_id: int, instance_uuid: str, ended_at: datetime) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                update(meetings)
                .where(meetings.c.id == row_id)
                .values(
                    status=MeetingStatus.ENDED.value,
                    instance_uuid=instance_uuid,
                    ended_at=ended_at,
                )
            )

    # --- Subscriptions ----------------------------------------------------

    async def get_subscription(self, meeting_id: str) -> Subscription | None:
        async with self._db.read() as conn:
            row = (
                (
                    await conn.execute(
                        select(subscriptions).where(subscriptions.c.meeting_id == meeting_id)
                    )
                )
                .mappings()
                .first()
            )
        return _subscription(row) if row else None

    async def add_subscription(self, subscription: Subscription) -> bool:
        """Subscribe a channel; False when the meeting already has a subscription
        (a meeting posts to one channel; the first one stays)."""
        async with self._db.write() as conn:
            inserted = await conn.execute(
                upsertable_insert(conn, subscriptions)
                .values(
                    meeting_id=subscription.meeting_id,
                    channel_id=subscription.channel_id,
                    created_by=subscription.created_by,
                    zoom_user_id=subscription.zoom_user_id,
                    created_at=subscription.created_at,
                )
                .on_conflict_do_nothing()
                .returning(subscriptions.c.meeting_id)
            )
            return inserted.first() is not None

    async def remove_subscription(self, meeting_id: str, channel_id: str) -> bool:
        """Remove the meeting's subscription if it is this channel's."""
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(subscriptions).where(
                    subscriptions.c.meeting_id == meeting_id,
                    subscriptions.c.channel_id == channel_id,
                )
            )
        return bool(result.rowcount)

    async def list_subscriptions(self, created_by: str | None = None) -> list[Subscription]:
        """A user's subscriptions (None: everyone's), oldest first."""
        query = select(subscriptions).order_by(
            subscriptions.c.created_at, subscriptions.c.meeting_id
        )
        if created_by is not None:
            query = query.where(subscriptions.c.created_by == created_by)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_subscription(r) for r in rows]

    async def claim_subscription_session(
        self, meeting_id: str, session_uuid: str, event_id: int
    ) -> bool:
        """Claim the posting of the card for one session of a subscribed meeting.
        One queued event wins, in whatever process; the same event may claim again
        (a retry). False: another event has it, or the subscription is gone."""
        async with self._db.write() as conn:
            result = await conn.execute(
                update(subscriptions)
                .where(
                    subscriptions.c.meeting_id == meeting_id,
                    or_(
                        subscriptions.c.session_uuid.is_(None),
                        subscriptions.c.session_uuid != session_uuid,
                        subscriptions.c.session_event_id == event_id,
                    ),
                )
                .values(session_uuid=session_uuid, session_event_id=event_id)
            )
        return bool(result.rowcount)

    # --- A Zoom user removed the app ---------------------------------------

    async def holders_of_zoom_user(self, zoom_user_id: str, before: datetime) -> ZoomUserHolders:
        """Mattermost users holding data of this Zoom account, from before ``before``
        (someone who connects it again afterwards starts afresh)."""
        async with self._db.read() as conn:
            connected = (
                await conn.execute(
                    select(zoom_connections.c.mm_user_id).where(
                        zoom_connections.c.zoom_user_id == zoom_user_id,
                        zoom_connections.c.connected_at <= before,
                    )
                )
            ).scalars()
            subscribers = (
                await conn.execute(
                    select(subscriptions.c.created_by).where(
                        subscriptions.c.zoom_user_id == zoom_user_id,
                        subscriptions.c.created_at <= before,
                    )
                )
            ).scalars()
            counts: dict[str, int] = {}
            for user in subscribers:
                counts[user] = counts.get(user, 0) + 1
            return ZoomUserHolders(connected=sorted(set(connected)), subscriptions=counts)

    async def forget_zoom_user(
        self,
        zoom_user_id: str,
        *,
        connected_mm_user_ids: list[str],
        before: datetime,
        states_expiring_before: datetime,
    ) -> None:
        """Delete, in one transaction, what the service holds for a Zoom account:
        its connections (tokens) and the subscriptions made with it, and for the
        Mattermost users connected to it their preferences, pending OAuth states and
        meeting records. Only what existed before ``before`` (OAuth states keep no
        creation time: those expiring before ``states_expiring_before``); running it
        again deletes nothing more."""
        users = connected_mm_user_ids
        async with self._db.write() as conn:
            await conn.execute(
                delete(zoom_connections).where(
                    zoom_connections.c.zoom_user_id == zoom_user_id,
                    zoom_connections.c.connected_at <= before,
                )
            )
            await conn.execute(
                delete(subscriptions).where(
                    subscriptions.c.zoom_user_id == zoom_user_id,
                    subscriptions.c.created_at <= before,
                )
            )
            await conn.execute(
                delete(meetings).where(
                    or_(
                        meetings.c.host_zoom_user_id == zoom_user_id,
                        meetings.c.creator_mm_user_id.in_(users),
                    ),
                    meetings.c.created_at <= before,
                )
            )
            if users:
                await conn.execute(
                    delete(user_preferences).where(
                        user_preferences.c.mm_user_id.in_(users),
                        user_preferences.c.updated_at <= before,
                    )
                )
                await conn.execute(
                    delete(oauth_states).where(
                        oauth_states.c.mm_user_id.in_(users),
                        oauth_states.c.expires_at <= states_expiring_before,
                    )
                )

    # --- helpers ----------------------------------------------------------

    async def _upsert(
        self,
        table: Any,
        values: Mapping[str, Any],
        *,
        key: str,
        overrides: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert, or update the row with the same ``key`` (``overrides`` apply then)."""
        async with self._db.write() as conn:
            stmt = upsertable_insert(conn, table).values(dict(values))
            changes = {k: v for k, v in values.items() if k != key}
            changes.update(overrides or {})
            await conn.execute(stmt.on_conflict_do_update(index_elements=[key], set_=changes))


def connection_row(new: NewConnection) -> dict[str, Any]:
    """The zoom_connections row of a freshly connected user (first token version)."""
    return {
        "mm_user_id": new.mm_user_id,
        "zoom_user_id": new.zoom_user_id,
        "zoom_email": new.zoom_email,
        "pmi": new.pmi,
        "access_token": new.access_token_enc,
        "refresh_token": new.refresh_token_enc,
        "access_expires_at": new.access_expires_at,
        "token_version": 1,
        "refresh_lease_until": None,
        "connected_at": new.connected_at,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _connection(row: Mapping[Any, Any]) -> Connection:
    return Connection(
        mm_user_id=row["mm_user_id"],
        zoom_user_id=row["zoom_user_id"],
        zoom_email=row["zoom_email"],
        pmi=row["pmi"],
        access_token_enc=row["access_token"],
        refresh_token_enc=row["refresh_token"],
        access_expires_at=row["access_expires_at"],
        connected_at=row["connected_at"],
        token_version=row["token_version"],
        refresh_lease_until=row["refresh_lease_until"],
    )


def _subscription(row: RowMapping) -> Subscription:
    return Subscription(
        meeting_id=row["meeting_id"],
        channel_id=row["channel_id"],
        created_by=row["created_by"],
        zoom_user_id=row["zoom_user_id"],
        created_at=row["created_at"],
    )


def _columns_of(row: RowMapping, part: Subquery) -> dict[str, Any] | None:
    """The columns of one outer-joined part of a row, by name; None when it matched
    nothing (its primary key is null)."""
    values = {column.name: row[column] for column in part.c}
    key = next(column.name for column in part.c if column.primary_key)
    return values if values[key] is not None else None


def _connection_query(mm_user_id: str) -> Select[Any]:
    return select(zoom_connections).where(zoom_connections.c.mm_user_id == mm_user_id)


def _latest_open_query(channel_id: str, since: datetime) -> Select[Any]:
    return (
        select(meetings)
        .where(
            meetings.c.channel_id == channel_id,
            meetings.c.status == MeetingStatus.STARTED.value,
            meetings.c.created_at >= since,
        )
        .order_by(meetings.c.created_at.desc())
        .limit(1)
    )


def _meeting(row: Mapping[Any, Any]) -> Meeting:
    return Meeting(
        meeting_id=row["meeting_id"],
        meeting_uuid=row["meeting_uuid"],
        post_id=row["post_id"],
        channel_id=row["channel_id"],
        creator_mm_user_id=row["creator_mm_user_id"],
        topic=row["topic"],
        personal=bool(row["personal"]),
        join_url=row["join_url"],
        status=MeetingStatus(row["status"]),
        created_at=row["created_at"],
        ended_at=row["ended_at"],
        instance_uuid=row["instance_uuid"],
        row_id=row["id"],
    )
