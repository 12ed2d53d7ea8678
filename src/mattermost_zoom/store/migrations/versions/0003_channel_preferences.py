"""Channel meeting preferences (allow / restrict / default).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from mattermost_zoom.store.schema import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_preferences",
        sa.Column("channel_id", sa.String(64), primary_key=True),
        sa.Column("preference", sa.String(16), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_preferences")
