"""Bring the schema up to date, once, even when several processes start together."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from mattermost_zoom.store.urls import sync_url

# Any constant works; it only has to be the same for every process of the service.
_PG_LOCK_KEY = 0x6D6D7A6F6F6D  # "mmzoom"
_MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database_url: str) -> None:
    """Upgrade the database to the newest revision (no-op when already there)."""
    url = sync_url(database_url)
    engine = create_engine(url)
    try:
        with _exclusive(url), engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                # The advisory lock serialises processes across machines; it is
                # released when the connection closes, even if this one crashes.
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
                connection.commit()
            elif connection.dialect.name == "sqlite":
                # The journal mode is kept in the file. Switched here, while the
                # service is starting, it never has to wait for another writer later.
                connection.exec_driver_sql("PRAGMA journal_mode=WAL")
            _upgrade(connection)
            connection.commit()
    finally:
        engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextlib.contextmanager
def _exclusive(url: str) -> Iterator[None]:
    """SQLite has no advisory locks: a lock file beside the database does that job."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        yield
        return
    with FileLock(f"{parsed.database}.migrate.lock", timeout=60):
        yield
