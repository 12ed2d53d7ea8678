"""Webhooks: the durable event queue, effects already done, delivery status,
meeting instances, subscriptions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from mattermost_zoom.store.schema import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dedup_key", sa.String(64), nullable=False, unique=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("claimed_until", UtcDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("done_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_webhook_events_due", "webhook_events", ["status", "next_attempt_at"])
    op.create_table(
        "webhook_effects",
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("step", sa.String(128), primary_key=True),
        sa.Column("result", sa.Text, nullable=True),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("kind", sa.String(16), primary_key=True),  # "verified" | "rejected"
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("meeting_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False, index=True),
        sa.Column("zoom_user_id", sa.String(64), nullable=True, index=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("session_uuid", sa.String(128), nullable=True),
        sa.Column("session_event_id", sa.Integer, nullable=True),
    )
    with op.batch_alter_table("meetings") as batch:
        # The Zoom session (meeting instance) this card belongs to, once known.
        batch.add_column(sa.Column("instance_uuid", sa.String(128), nullable=True))
        batch.add_column(sa.Column("host_zoom_user_id", sa.String(64), nullable=True))
        batch.create_index("ix_meetings_instance", ["instance_uuid"])


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_index("ix_meetings_instance")
        batch.drop_column("host_zoom_user_id")
        batch.drop_column("instance_uuid")
    op.drop_table("subscriptions")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_effects")
    op.drop_table("webhook_events")
