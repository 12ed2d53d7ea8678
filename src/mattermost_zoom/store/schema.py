"""Database tables (SQLAlchemy Core). Alembic migrations create them; this file is
the reference the queries use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

zoom_connections = Table(
    "zoom_connections",
    metadata,
    Column("mm_user_id", String(64), primary_key=True),
    Column("zoom_user_id", String(64), nullable=False, index=True),
    Column("zoom_email", String(320), nullable=False),
    Column("pmi", String(32), nullable=True),
    # Encrypted with crypto.TokenCipher; never stored in the clear.
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("access_expires_at", UtcDateTime, nullable=False),
    # Bumped on every refresh, so a waiting process can tell a refresh happened.
    Column("token_version", Integer, nullable=False),
    # Held by the one process refreshing this user's token.
    Column("refresh_lease_until", UtcDateTime, nullable=True),
    Column("connected_at", UtcDateTime, nullable=False),
)

user_preferences = Table(
    "user_preferences",
    metadata,
    Column("mm_user_id", String(64), primary_key=True),
    Column("meeting_id_choice", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

oauth_states = Table(
    "oauth_states",
    metadata,
    # SHA-256 of the state sent to Zoom: a database leak does not reveal live states.
    Column("state_hash", String(64), primary_key=True),
    Column("mm_user_id", String(64), nullable=False, index=True),
    Column("channel_id", String(64), nullable=False),  # where to report the outcome
    Column("code_verifier", Text, nullable=False),  # encrypted
    Column("start_request", Text, nullable=True),  # JSON of a StartRequest, if any
    Column("expires_at", UtcDateTime, nullable=False),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("meeting_id", String(32), nullable=False, index=True),
    Column("meeting_uuid", String(128), nullable=True, index=True),
    # Empty until the card is posted: the row exists first, so that a second
    # /zoom start a moment later already sees this meeting.
    Column("post_id", String(64), nullable=True, unique=True),
    Column("channel_id", String(64), nullable=False),
    Column("creator_mm_user_id", String(64), nullable=False),
    Column("topic", Text, nullable=False),
    Column("personal", Boolean, nullable=False),
    Column("join_url", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("instance_uuid", String(128), nullable=True),
    Column("host_zoom_user_id", String(64), nullable=True),
    Index("ix_meetings_channel_created", "channel_id", "created_at"),
    Index("ix_meetings_instance", "instance_uuid"),
)

# Verified Zoom events, written before the 200 goes out and worked off afterwards.
webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Zoom redelivers the same event; the key makes a redelivery a no-op.
    Column("dedup_key", String(64), nullable=False, unique=True),
    Column("event", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # A worker holds an event until then; a crashed worker's claim runs out.
    Column("claimed_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("done_at", UtcDateTime, nullable=True),
    Index("ix_webhook_events_due", "status", "next_attempt_at"),
)

# Steps of an event already carried out, so a retry never repeats one.
webhook_effects = Table(
    "webhook_effects",
    metadata,
    Column("event_id", Integer, primary_key=True),
    Column("step", String(128), primary_key=True),
    Column("result", Text, nullable=True),
)

# The last verified and the last rejected delivery, for `mattermost-zoom check`.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("meeting_id", String(32), primary_key=True),
    Column("channel_id", String(64), nullable=False),
    Column("created_by", String(64), nullable=False, index=True),
    Column("zoom_user_id", String(64), nullable=True, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The Zoom session (meeting instance) a card is being or was posted for, and the
    # queued event that claimed it: two deliveries of one start post one card.
    Column("session_uuid", String(128), nullable=True),
    Column("session_event_id", Integer, nullable=True),
)

# Channels whose meeting policy is not the server default.
channel_preferences = Table(
    "channel_preferences",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("preference", String(16), nullable=False),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
