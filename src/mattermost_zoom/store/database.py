"""The database handle the store's queries share.

SQLite allows one writer at a time. Left alone, concurrent writers in one process
would wait in SQLite's sleeping busy handler; queueing them on an asyncio lock
instead hands the write lock over as soon as it is free. PostgreSQL needs no such
help.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

T = TypeVar("T")

# Every SQLite connection the service opens, pooled or not, is set up alike.
SQLITE_PRAGMAS = (
    # WAL lets readers go on while one process writes (several workers, one file).
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    # With WAL, NORMAL syncs at checkpoints, not every commit: a committed event
    # survives the process being killed; only a power cut may lose the last ones.
    "PRAGMA synchronous=NORMAL",
)


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        sqlite = engine.dialect.name == "sqlite"
        self._write_lock = asyncio.Lock() if sqlite else None
        self._inline = _InlineSqlite(engine.url.database or "") if sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self._inline is not None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that may write; committed when the block ends."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    def read(self) -> AsyncConnection:
        """A connection for reading (``async with db.read() as conn``)."""
        return self.engine.connect()

    async def write_inline(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        """SQLite only: run ``work`` in one transaction on a dedicated connection,
        right here on the event loop's thread, in turn with this process's other
        writers. None, having changed nothing, when another process holds the write
        lock: the caller then writes the usual way, which waits for it.

        For the hottest write (queueing webhook events). With WAL and
        ``synchronous=NORMAL`` a commit is a few tens of microseconds without a
        sync, less than handing the statement to a thread and back costs; this
        connection never waits for a lock and never checkpoints (the pooled
        connections do), so it cannot stall the loop.
        """
        assert self._inline is not None and self._write_lock is not None, "SQLite only"
        async with self._write_lock:
            return self._inline.transaction(work)

    async def close(self) -> None:
        if self._inline is not None:
            self._inline.close()
        await self.engine.dispose()


class _InlineSqlite:
    """A ``sqlite3`` connection used only from the event loop's thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def transaction(self, work: Callable[[sqlite3.Connection], T]) -> T | None:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                return None  # another process is writing (or switching the file to WAL)
            raise
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            # Autocommit mode: the transaction is explicit.
            conn = sqlite3.connect(self._path, isolation_level=None)
            try:
                for pragma in (
                    *SQLITE_PRAGMAS,
                    "PRAGMA busy_timeout=0",
                    "PRAGMA wal_autocheckpoint=0",
                ):
                    conn.execute(pragma)
            except BaseException:
                conn.close()  # set up again next time
                raise
            self._conn = conn
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
