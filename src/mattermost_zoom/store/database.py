"""The database handle the store's queries share.

SQLite allows one writer at a time. Left alone, concurrent writers in one process
would wait in SQLite's sleeping busy handler; queueing them on an asyncio lock
instead hands the write lock over as soon as it is free. PostgreSQL needs no such
help.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

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
