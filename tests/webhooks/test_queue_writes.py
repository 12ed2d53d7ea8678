"""Queueing a delivery on SQLite while another process writes to the same file
(an admin command, a second ``serve``): the delivery waits its turn, then is
queued, once.

The service writes queued events on a connection that never waits for SQLite's
write lock; when another process holds it, the batch must go the way that waits.
This runs the store itself, without a worker whose own writes would queue the
delivery behind them and hide that path.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from mattermost_zoom.clock import utcnow
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.repository import Store


def test_a_delivery_waits_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "mmzoom.db"
    migrate(f"sqlite:///{path}")

    async def scenario() -> tuple[bool, bool]:
        store = Store.open(f"sqlite:///{path}")
        other_process = sqlite3.connect(path, isolation_level=None)
        try:
            other_process.execute("BEGIN IMMEDIATE")  # takes SQLite's one write lock
            queued = asyncio.create_task(
                store.events.add(dedup_key="k1", event="meeting.ended", body="{}", now=utcnow())
            )
            await asyncio.sleep(0.3)
            assert not queued.done(), "answered while another process held the lock"
            other_process.execute("COMMIT")
            first = await asyncio.wait_for(queued, 30)
            again = await store.events.add(
                dedup_key="k1", event="meeting.ended", body="{}", now=utcnow()
            )
            return first, again
        finally:
            other_process.close()
            await store.close()

    assert asyncio.run(scenario()) == (True, False)  # queued, then a duplicate
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM webhook_events").fetchone() == (1,)
