"""The sandbox deployment under the names the tests use, and steps many tests take."""

import sqlalchemy as sa

from mattermost_zoom.simulators.mattermost_model import Channel, User
from mattermost_zoom.simulators.sandbox import (
    Sandbox as World,
)
from mattermost_zoom.simulators.sandbox import (
    free_port,
    link_in,
    wait_until,
)
from mattermost_zoom.simulators.sandbox import (
    start_sandbox as build_world,
)
from mattermost_zoom.store.urls import sync_url

__all__ = [
    "World",
    "build_world",
    "free_port",
    "link_in",
    "queue_statuses",
    "reply",
    "wait_for_queue",
    "wait_until",
]


def reply(world: World, user: User, channel: Channel, text: str, expect: str) -> str:
    """Run a command and return the answer containing ``expect``."""
    before = len(world.ephemerals(user, channel))
    world.run(user, channel, text)

    def answered() -> str | None:
        new = world.ephemerals(user, channel)[before:]
        return next((p["message"] for p in new if expect in p["message"]), None)

    message = wait_until(answered, what=f"an answer containing {expect!r}")
    assert message is not None
    return message


def queue_statuses(world: World) -> list[str]:
    """The status of every Zoom event the service has queued."""
    engine = sa.create_engine(sync_url(world.settings.database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text("SELECT status FROM webhook_events")).scalars())
    finally:
        engine.dispose()


def wait_for_queue(world: World) -> None:
    """Every Zoom event accepted so far has been carried out (retries included)."""
    wait_until(
        lambda: "pending" not in queue_statuses(world), what="queued Zoom events to be handled"
    )
