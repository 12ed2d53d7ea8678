"""Several real `serve` processes on one PostgreSQL database, behind a round-robin
proxy that is their public URL, as a large installation runs them.

Every test starts the replicas at the same instant on an empty database, so
every test also exercises concurrent migration. Which replica handled what is
read from each process's own JSON log lines.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

import mattermost_zoom.store.migrate
from mattermost_zoom.simulators.mattermost_model import Channel
from mattermost_zoom.simulators.scratch_database import scratch_postgres_database
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.store.urls import sync_url
from tests.harness import World, build_world, free_port, wait_until
from tests.processes import ServiceProcess
from tests.replicas.proxy import RoundRobinProxy
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests
from tests.webhooks.test_meeting_lifecycle import patches_of, wait_ended
from tests.webhooks.zoom import deliver

pytestmark = pytest.mark.postgres

REPLICAS = 3


@pytest.fixture
def empty_database(postgres_database: str) -> Iterator[str]:
    """A database of its own for one test, without even the schema: a sibling of
    the session's PostgreSQL database, dropped afterwards."""
    with scratch_postgres_database(postgres_database, "mmzoom_replicas") as url:
        yield url


@dataclass
class Deployment:
    world: World  # simulators; world.url is the proxy, the service's public URL
    replicas: list[ServiceProcess]
    proxy: RoundRobinProxy

    def logs(self) -> list[list[dict[str, Any]]]:
        """Each replica's JSON log entries, in the order of ``replicas``."""
        return [
            [json.loads(line) for line in r.log().splitlines() if line.startswith("{")]
            for r in self.replicas
        ]

    def handled(self, method: str, route: str) -> list[int]:
        """Which replicas (by index) logged answering ``method`` on ``route``, once
        per request."""
        path = urlsplit(self.world.url).path + route
        return [
            index
            for index, entries in enumerate(self.logs())
            for entry in entries
            if entry.get("logger") == "mattermost_zoom.http"
            and entry["message"].split(" ")[:2] == [method, path]
        ]

    def wait_handled(self, method: str, route: str, count: int) -> list[int]:
        """``handled``, once ``count`` requests are in the logs (a request's line is
        written when the request is over, background work included)."""
        wait_until(
            lambda: len(self.handled(method, route)) >= count,
            what=f"{count} {method} {route} in the logs",
        )
        return self.handled(method, route)


@contextmanager
def deployment(database_url: str, logs: Path, replicas: int = REPLICAS) -> Iterator[Deployment]:
    """The simulators in this process, ``replicas`` real serve processes started
    together, and the proxy on the port of the public URL in front of them."""
    with build_world(database_url, service=False) as world:
        ports = [free_port() for _ in range(replicas)]
        processes = [
            ServiceProcess(world.env, port, logs / f"replica-{i}.log")
            for i, port in enumerate(ports)
        ]
        proxy = RoundRobinProxy([p.url for p in processes])
        public_port = urlsplit(world.url).port
        assert public_port is not None
        world.servers.append(ServerThread(proxy.app, port=public_port).start())
        try:
            _start_together(processes)
            yield Deployment(world, processes, proxy)
        finally:
            for process in processes:
                process.stop()
        problems = validate_mattermost_requests(world.mm.requests) + validate_zoom_requests(
            world.zoom.requests
        )
        assert not problems, "requests that break the published API descriptions:\n" + "\n".join(
            problems
        )
        for process in processes:
            assert "Traceback" not in process.log(), process.log()


def _start_together(processes: list[ServiceProcess]) -> None:
    """Launch every process at the same instant, then wait until all are healthy."""
    barrier = threading.Barrier(len(processes))

    def launch(process: ServiceProcess) -> None:
        barrier.wait()
        process.start()

    with ThreadPoolExecutor(len(processes)) as pool:
        for started in [pool.submit(launch, p) for p in processes]:
            started.result()


def head_revision() -> str:
    config = Config()
    config.set_main_option(
        "script_location", str(Path(mattermost_zoom.store.migrate.__file__).parent / "migrations")
    )
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def in_parallel(action: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(action, items))


def rooms_for_alice(world: World, count: int) -> list[Channel]:
    return [world.mm.add_channel(world.team, "O", f"room-{i}", [world.alice]) for i in range(count)]


def prefer_unique(world: World) -> None:
    world.run(world.alice, world.town_square, "/zoom settings")
    world.click(
        world.alice, world.ephemerals(world.alice, world.town_square)[-1], "Use a Unique Meeting ID"
    )


def test_the_schema_is_migrated_once_when_replicas_start_together(
    empty_database: str, tmp_path: Path
) -> None:
    with deployment(empty_database, tmp_path) as d:
        for replica in d.replicas:
            ready = httpx.get(f"{replica.url}/plugins/zoom/readyz", timeout=5)
            assert ready.status_code == 200
        through_proxy = httpx.get(f"{d.world.url}/readyz", timeout=5)
        assert through_proxy.json() == {"status": "ok", "database": "ok"}
        logs = d.logs()

    engine = sa.create_engine(sync_url(empty_database))
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        assert list(versions) == [head_revision()]
    engine.dispose()

    # One process ran the migrations; the others waited, then found nothing to do.
    migrated = [
        index
        for index, entries in enumerate(logs)
        if any(e["message"].startswith("Running upgrade") for e in entries)
    ]
    assert len(migrated) == 1
    for entries in logs:
        assert entries, "every replica writes JSON log lines"
        troubles = [e for e in entries if e["level"] in ("error", "critical")]
        assert not troubles
        assert not [
            e
            for e in entries
            if "migrat" in e["message"].lower() and "fail" in e["message"].lower()
        ]


def test_oauth_begun_on_one_replica_finishes_on_another(
    empty_database: str, tmp_path: Path
) -> None:
    with deployment(empty_database, tmp_path) as d:
        world = d.world
        world.connect(world.alice, world.alice_zoom)  # via the proxy, as a browser does

        [began] = d.wait_handled("GET", "/oauth2/connect", 1)
        [finished] = d.wait_handled("GET", "/oauth2/complete", 1)
        assert began != finished, "Zoom's redirect back went to another replica"

        # Connected for every replica: a meeting starts, whichever one answers.
        prefer_unique(world)
        rooms = rooms_for_alice(world, REPLICAS)
        for room in rooms:
            world.run(world.alice, room, "/zoom start")
            assert world.wait_for_card(room)["props"]["meeting_status"] == "STARTED"
        # /zoom connect, /zoom settings, then one /zoom start per replica.
        commands = d.wait_handled("POST", "/command", 2 + REPLICAS)
        assert sorted(set(commands)) == list(range(REPLICAS))
        assert world.zoom.refresh_count.get(world.alice_zoom.id, 0) == 0


def test_a_users_token_is_refreshed_once_across_replicas(
    empty_database: str, tmp_path: Path
) -> None:
    with deployment(empty_database, tmp_path) as d:
        world = d.world
        world.connect(world.alice, world.alice_zoom)
        prefer_unique(world)
        rooms = rooms_for_alice(world, 3 * REPLICAS)
        world.let_tokens_expire(world.alice, world.alice_zoom)
        world.zoom.refresh_delay = 0.3  # widen the window in which a second refresh could start
        commands_before = len(d.wait_handled("POST", "/command", 2))  # connect, settings

        in_parallel(lambda room: world.run(world.alice, room, "/zoom start"), rooms)

        for room in rooms:
            world.wait_for_card(room)
        assert world.zoom.refresh_count.get(world.alice_zoom.id) == 1
        starts = d.wait_handled("POST", "/command", commands_before + len(rooms))
        starts = starts[commands_before:]
        assert len(starts) == len(rooms)
        assert sorted(set(starts)) == list(range(REPLICAS)), "every replica needed the token"


def test_each_webhook_event_is_processed_by_exactly_one_replica(
    empty_database: str, tmp_path: Path
) -> None:
    with deployment(empty_database, tmp_path) as d:
        world = d.world
        world.connect(world.alice, world.alice_zoom)
        prefer_unique(world)
        rooms = rooms_for_alice(world, 12)
        in_parallel(lambda room: world.run(world.alice, room, "/zoom start"), rooms)
        cards = [world.wait_for_card(room) for room in rooms]

        events = [world.zoom.end_meeting(card["props"]["meeting_id"]) for card in cards]
        # Each event twice (Zoom retries); the proxy sends the copies to different replicas.
        answers = in_parallel(
            lambda event: deliver(world, event), [e for e in events for _ in "12"]
        )
        assert all(a.status_code == 200 for a in answers)
        statuses = [a.json()["status"] for a in answers]
        assert sorted(statuses) == sorted(["accepted", "duplicate"] * len(events))

        for card in cards:
            wait_ended(world, card)
        assert [patches_of(world, card) for card in cards] == [1] * len(cards)

        def processed() -> list[tuple[int, int]]:
            return [
                (index, entry["event_id"])
                for index, entries in enumerate(d.logs())
                for entry in entries
                if entry["message"] == "zoom event processed"
            ]

        # The line is written just after the event is marked done.
        wait_until(lambda: len(processed()) >= len(events), what="every event in the logs")
        done = processed()
    ids = [event_id for _, event_id in done]
    assert len(ids) == len(events) and len(set(ids)) == len(ids), "no event id twice"
    assert len({index for index, _ in done}) > 1, "more than one replica did work"
