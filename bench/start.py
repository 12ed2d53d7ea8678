"""Figure 2: ``/zoom start`` for a connected user, slash command to meeting card.

Wall time runs from the moment the Mattermost simulator sends the slash command
(an httpx request hook) to the moment it creates the card (its ``create_post``,
wrapped). The service's own time is the wall time minus the time during which at
least one of its calls to a simulator was being answered: every request the
simulators handle is timed inside them, and overlapping calls (the channel and
membership look-ups run concurrently) count once. What is left is the service's
own work plus loopback transport, so the figure errs against the service.

Each start is in a new channel (a meeting started in the same channel less than
30 seconds before would be offered instead of a new one), one at a time.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from bench.deploy import Deployment, Spans, database, deploy
from bench.load import percentile
from bench.report import Figure, MemoryReading, Section
from mattermost_zoom.simulators.sandbox import Sandbox

BACKEND = "sqlite"  # the database the service uses here
OWN_P99_TARGET = 0.015  # seconds, with zero-latency simulators
LATENCY = 0.050  # added to every Zoom and Mattermost call
ROUND_TRIPS = 3.5  # the wall-time target, in LATENCY units


class Instruments:
    """perf_counter marks: when each slash command left Mattermost, when each
    card was created, and when the simulators were busy."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sent: list[float] = []
        self.cards: dict[str, float] = {}  # channel id -> when its card was created
        # channel id -> (loop, future) of a start waiting for its card
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[float]]] = {}
        self.spans = Spans()
        self.spans.instrument(sandbox.mm.app)
        self.spans.instrument(sandbox.zoom.app)
        mm = sandbox.mm
        make_client, create_post = mm.http_client, mm.create_post

        async def on_request(request: httpx.Request) -> None:
            if request.url.path.endswith("/command"):
                self.sent.append(time.perf_counter())

        def http_client() -> httpx.AsyncClient:
            client = make_client()
            client.event_hooks["request"].append(on_request)
            return client

        def timed_create_post(*args: Any, **kwargs: Any) -> dict[str, Any]:
            post = create_post(*args, **kwargs)
            if post.get("type") == "custom_zoom":
                created = time.perf_counter()
                self.cards[post["channel_id"]] = created
                waiting = self._waiting.pop(post["channel_id"], None)
                if waiting is not None:
                    loop, future = waiting
                    loop.call_soon_threadsafe(future.set_result, created)
            return post

        # The simulator looks both up on itself at call time.
        setattr(mm, "http_client", http_client)  # noqa: B010
        setattr(mm, "create_post", timed_create_post)  # noqa: B010

    def expect_card(self, channel_id: str) -> asyncio.Future[float]:
        """Resolves to the time the channel's card is created (without polling,
        which would take the interpreter lock from the simulators)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self._waiting[channel_id] = (loop, future)
        return future


async def one_start(sandbox: Sandbox, marks: Instruments, index: int) -> tuple[float, float]:
    """Start a meeting in a new channel; (wall seconds, seconds the simulators were
    busy within it)."""
    room = sandbox.mm.add_channel(sandbox.team, "O", f"bench-{index}", [sandbox.alice])
    sent_before = len(marks.sent)
    card = marks.expect_card(room.id)
    result = await sandbox.mm.run_command(sandbox.alice.id, room.id, "/zoom start")
    if result.error:
        raise RuntimeError(f"/zoom start failed: {result.error}")
    try:
        created = await asyncio.wait_for(card, 10)
    except TimeoutError:
        raise RuntimeError("no meeting card within 10 s") from None
    sent = marks.sent[sent_before]
    return created - sent, marks.spans.busy_within(sent, created)


async def series(
    sandbox: Sandbox, marks: Instruments, count: int, first: int
) -> list[tuple[float, float]]:
    return [await one_start(sandbox, marks, first + i) for i in range(count)]


def prefer_unique_meeting_ids(sandbox: Sandbox) -> None:
    sandbox.run(sandbox.alice, sandbox.town_square, "/zoom settings")
    prompt = sandbox.ephemerals(sandbox.alice, sandbox.town_square)[-1]
    sandbox.click(sandbox.alice, prompt, "Use a Unique Meeting ID")


def run(workdir: Path, *, quick: bool) -> Section:
    section = Section("start")
    fast_count, slow_count = (60, 15) if quick else (300, 100)
    with database(BACKEND, workdir) as url, deploy(url, workdir, "start") as d:
        time.sleep(0.5)
        idle = d.serve.memory()
        results = _measure(d, fast_count, slow_count)
        loaded = d.serve.memory()
    section.memory.append(MemoryReading("/zoom start, SQLite", idle, loaded))

    fast, slow = results["fast"], results["slow"]
    own = [wall - busy for wall, busy in fast]
    own_p50, own_p99 = percentile(own, 50), percentile(own, 99)
    fast_wall = [wall for wall, _ in fast]
    section.figures.append(
        Figure(
            name="/zoom start, service's own time",
            measured=(
                f"p50 {own_p50 * 1000:.1f} ms, p99 {own_p99 * 1000:.1f} ms"
                f" (wall p50 {percentile(fast_wall, 50) * 1000:.1f} ms, zero-latency simulators)"
            ),
            target=f"p99 < {OWN_P99_TARGET * 1000:.0f} ms",
            passed=own_p99 < OWN_P99_TARGET,
            value=round(own_p99 * 1000, 2),
            unit="ms",
        )
    )
    slow_wall = [wall for wall, _ in slow]
    wall_p50, wall_p99 = percentile(slow_wall, 50), percentile(slow_wall, 99)
    limit = ROUND_TRIPS * LATENCY
    section.figures.append(
        Figure(
            name=f"/zoom start, wall time, +{LATENCY * 1000:.0f} ms per call",
            measured=f"p50 {wall_p50 * 1000:.1f} ms, p99 {wall_p99 * 1000:.1f} ms",
            target=f"p99 <= {limit * 1000:.0f} ms ({ROUND_TRIPS} x {LATENCY * 1000:.0f} ms)",
            passed=wall_p99 <= limit,
            value=round(wall_p99 * 1000, 2),
            unit="ms",
        )
    )
    section.details = {
        "zero_latency": {
            "starts": len(fast),
            "wall_ms": _ms(fast_wall),
            "simulators_busy_ms": _ms([busy for _, busy in fast]),
            "own_ms": _ms(own),
            # CPU time of the serve process per start: the service's own work,
            # whatever the scheduler did meanwhile.
            "serve_cpu_ms_per_start": round(results["cpu_ms"], 2),
        },
        "added_latency": {
            "latency_ms": LATENCY * 1000,
            "starts": len(slow),
            "wall_ms": _ms(slow_wall),
            "simulators_busy_ms": _ms([busy for _, busy in slow]),
            "own_ms": _ms([wall - busy for wall, busy in slow]),
        },
    }
    return section


def _measure(d: Deployment, fast_count: int, slow_count: int) -> dict[str, Any]:
    sandbox = d.sandbox
    sandbox.connect(sandbox.alice, sandbox.alice_zoom)
    prefer_unique_meeting_ids(sandbox)
    marks = Instruments(sandbox)

    async def measure() -> dict[str, Any]:
        await series(sandbox, marks, 10, 0)  # warm-up
        before = d.serve.cpu_seconds()
        fast = await series(sandbox, marks, fast_count, 100)
        cpu_ms = (d.serve.cpu_seconds() - before) / fast_count * 1000
        sandbox.mm.latency = sandbox.zoom.latency = LATENCY
        try:
            await series(sandbox, marks, 3, 10_000)  # warm-up at this latency
            slow = await series(sandbox, marks, slow_count, 10_100)
        finally:
            sandbox.mm.latency = sandbox.zoom.latency = 0.0
        return {"fast": fast, "slow": slow, "cpu_ms": cpu_ms}

    result: dict[str, Any] = asyncio.run(measure())
    return result


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50) * 1000, 2),
        "p99": round(percentile(values, 99) * 1000, 2),
        "max": round(max(values, default=0.0) * 1000, 2),
    }
