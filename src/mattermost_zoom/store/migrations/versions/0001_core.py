"""Core tables: Zoom connections, preferences, OAuth states, meetings.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from mattermost_zoom.store.schema import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "zoom_connections",
        sa.Column("mm_user_id", sa.String(64), primary_key=True),
        sa.Column("zoom_user_id", sa.String(64), nullable=False, index=True),
        sa.Column("zoom_email", sa.String(320), nullable=False),
        sa.Column("pmi", sa.String(32), nullable=True),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("refresh_token", sa.Text, nullable=False),
        sa.Column("access_expires_at", UtcDateTime, nullable=False),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("refresh_lease_until", UtcDateTime, nullable=True),
        sa.Column("connected_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "user_preferences",
        sa.Column("mm_user_id", sa.String(64), primary_key=True),
        sa.Column("meeting_id_choice", sa.String(16), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("mm_user_id", sa.String(64), nullable=False, index=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.Text, nullable=False),
        sa.Column("start_request", sa.Text, nullable=True),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("meeting_id", sa.String(32), nullable=False, index=True),
        sa.Column("meeting_uuid", sa.String(128), nullable=True, index=True),
        sa.Column("post_id", sa.String(64), nullable=True, unique=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("creator_mm_user_id", sa.String(64), nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("personal", sa.Boolean, nullable=False),
        sa.Column("join_url", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("ended_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_meetings_channel_created", "meetings", ["channel_id", "created_at"])


def downgrade() -> None:
    op.drop_table("meetings")
    op.drop_table("oauth_states")
    op.drop_table("user_preferences")
    op.drop_table("zoom_connections")
