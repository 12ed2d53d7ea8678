"""The one SQL difference the store cares about: INSERT ... ON CONFLICT, which
SQLAlchemy spells per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection


def upsertable_insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT for ``table`` that supports ``on_conflict_do_*`` on this connection."""
    return (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
