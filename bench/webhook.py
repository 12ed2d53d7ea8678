"""Figure 1: how fast a verified Zoom webhook is acknowledged.

Each delivery is a distinct, signed ``meeting.ended`` event, so each answer waits
for a durable write of the event. The reference is ``GET /livez`` on the same
process: the same server stack (uvicorn, the app's middleware, JSON logging) with
no work behind it. Bursts of the two alternate, so both see the same machine.
Then an open-loop run sends events at a fixed 500 per second, as Zoom would.

The worker carries the events out (claim, look-up, mark done): the events are for
meetings without a card, so it makes no Mattermost calls, and the simulators in
this process stay idle while the load generator runs. It waits while a burst of
deliveries lasts (at most 5 s) and catches up in the pause that follows; how fast
it catches up is reported beside the acknowledgement figures.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import load
from bench.deploy import Deployment, database, deploy, postgres_problem
from bench.report import Figure, MemoryReading, Section
from mattermost_zoom.simulators.sandbox import ZOOM_ACCOUNT
from mattermost_zoom.simulators.zoom_webhooks import build_event, encode, signed_headers

THROUGHPUT_SHARE_TARGET = 0.40  # of /livez, on SQLite
PACED_RATE = 500.0  # events per second
P99_TARGET = 0.050  # seconds, at PACED_RATE
CLOSED_CONNECTIONS = 8
OPEN_CONNECTIONS = 32


def webhook_requests(d: Deployment) -> Iterator[bytes]:
    """Distinct signed meeting.ended deliveries, without end."""
    sandbox = d.sandbox
    secret = sandbox.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]
    path = sandbox.webhook_url.removeprefix(f"http://{d.host}")
    run = secrets.token_hex(6)
    first_ts = int(time.time() * 1000)
    for n in itertools.count():
        meeting = {
            "id": str(70_000_000_000 + n),
            "uuid": f"{run}{n:010d}==",
            "host_id": "benchHost0000000000001",
            "topic": "Weekly sync",
            "type": 2,
            "start_time": "2026-12-04T12:00:00Z",
            "end_time": "2026-12-04T12:45:00Z",
            "timezone": "UTC",
            "duration": 45,
        }
        event = build_event(
            "meeting.ended", meeting, account_id=ZOOM_ACCOUNT, event_ts=first_ts + n
        )
        body = encode(event)
        yield load.post(d.host, path, body, signed_headers(body, secret, int(time.time())))


def livez_requests(d: Deployment) -> Iterator[bytes]:
    return itertools.repeat(load.get(d.host, f"{d.path}/livez"))


async def pending_events(d: Deployment) -> int:
    """Events the worker has not carried out yet (the service's own metric)."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{d.public_url}/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "mmzoom_pending_events":
                return int(sample.value)
    raise RuntimeError("mmzoom_pending_events is missing from /metrics")


async def drained(d: Deployment, limit: float) -> float:
    """Wait until the worker has caught up (at most ``limit`` seconds); how long it
    took, or -1 when it had not caught up by then."""
    started = time.perf_counter()
    while await pending_events(d):
        if time.perf_counter() - started > limit:
            return -1.0
        await asyncio.sleep(0.2)
    return time.perf_counter() - started


async def measure(
    d: Deployment, *, rounds: int, burst: float, paced: float, drain_limit: float
) -> dict[str, Any]:
    port = d.serve.port
    hooks, live = webhook_requests(d), livez_requests(d)

    cpu: dict[str, list[float]] = {"livez": [], "webhook": []}  # serve CPU ms per request

    async def closed(requests: Iterator[bytes], duration: float, kind: str = "") -> load.Run:
        before = d.serve.cpu_seconds()
        run = await load.closed_loop(
            "127.0.0.1", port, requests, connections=CLOSED_CONNECTIONS, duration=duration
        )
        if kind and run.count:
            cpu[kind].append((d.serve.cpu_seconds() - before) / run.count * 1000)
        return run

    await closed(live, 0.5)  # warm-up: imports, connection pools, caches
    await closed(hooks, 0.5)
    livez_runs, webhook_runs, drains = [], [], []
    for _ in range(rounds):
        # The reference runs on a process with nothing else to do: the worker
        # first finishes the events of the previous burst.
        drains.append(await drained(d, drain_limit))
        livez_runs.append(await closed(live, burst, "livez"))
        webhook_runs.append(await closed(hooks, burst, "webhook"))
    drains.append(await drained(d, drain_limit))
    paced_run = await load.open_loop(
        "127.0.0.1", port, hooks, rate=PACED_RATE, duration=paced, connections=OPEN_CONNECTIONS
    )
    backlog = await pending_events(d)
    return {
        "livez": livez_runs,
        "webhook": webhook_runs,
        "paced": paced_run,
        "drain_seconds": [round(x, 2) for x in drains],
        "cpu_ms": {kind: statistics.median(v) for kind, v in cpu.items() if v},
        "pending_after_paced": backlog,
    }


def _merged(runs: list[load.Run]) -> load.Run:
    merged = load.Run()
    for run in runs:
        merged.latencies += run.latencies
        merged.errors += run.errors
        merged.elapsed += run.elapsed
    return merged


def run(
    workdir: Path, *, quick: bool, backends: tuple[str, ...] = ("sqlite", "postgres")
) -> Section:
    section = Section("webhook")
    rounds, burst, paced, drain_limit = (2, 1.0, 2.0, 8.0) if quick else (3, 1.5, 4.0, 15.0)
    for backend in backends:
        label = "SQLite" if backend == "sqlite" else "PostgreSQL"
        if backend == "postgres" and (problem := postgres_problem()):
            section.notes.append(f"PostgreSQL figures left out: {problem}")
            continue
        with database(backend, workdir) as url, deploy(url, workdir, f"webhook-{backend}") as d:
            time.sleep(0.5)
            idle = d.serve.memory()
            runs = asyncio.run(
                measure(d, rounds=rounds, burst=burst, paced=paced, drain_limit=drain_limit)
            )
            loaded = d.serve.memory()
        section.memory.append(MemoryReading(f"webhook, {label}", idle, loaded))

        livez_rates = [r.throughput for r in runs["livez"]]
        webhook_rates = [r.throughput for r in runs["webhook"]]
        livez_rate, webhook_rate = statistics.median(livez_rates), statistics.median(webhook_rates)
        share = webhook_rate / livez_rate if livez_rate else 0.0
        webhooks, paced_run = _merged(runs["webhook"]), runs["paced"]
        errors = webhooks.errors + paced_run.errors + sum(r.errors for r in runs["livez"])
        section.figures.append(
            Figure(
                name=f"Webhook ack throughput, {label}",
                measured=(
                    f"{webhook_rate:.0f} ev/s = {share:.0%} of /livez ({livez_rate:.0f} req/s);"
                    f" p50 {webhooks.percentile(50) * 1000:.1f} ms,"
                    f" p99 {webhooks.percentile(99) * 1000:.1f} ms"
                ),
                target=(
                    f">= {THROUGHPUT_SHARE_TARGET:.0%} of /livez"
                    if backend == "sqlite"
                    else "(reference)"
                ),
                passed=(share >= THROUGHPUT_SHARE_TARGET and not errors)
                if backend == "sqlite"
                else None,
                value=round(share, 3),
                unit="share of /livez throughput",
            )
        )
        p99 = paced_run.percentile(99)
        section.figures.append(
            Figure(
                name=f"Webhook ack at {PACED_RATE:.0f}/s, {label}",
                measured=(
                    f"p50 {paced_run.percentile(50) * 1000:.1f} ms,"
                    f" p99 {p99 * 1000:.1f} ms ({paced_run.throughput:.0f} ev/s achieved)"
                ),
                target=f"p99 < {P99_TARGET * 1000:.0f} ms",
                passed=p99 < P99_TARGET and not paced_run.errors,
                value=round(p99 * 1000, 2),
                unit="ms",
            )
        )
        # Events of each burst over the time the worker then took to carry them out.
        catch_up = [
            burst.count / seconds
            for burst, seconds in zip(runs["webhook"], runs["drain_seconds"][1:], strict=True)
            if seconds > 0
        ]
        if catch_up:
            section.figures.append(
                Figure(
                    name=f"Worker catch-up after a burst, {label}",
                    measured=f"{statistics.median(catch_up):.0f} ev/s carried out",
                    target="(reference)",
                    passed=None,
                    value=round(statistics.median(catch_up)),
                    unit="events per second",
                )
            )
        if errors:
            section.notes.append(f"{label}: {errors} answers other than 200")
        section.details[backend] = {
            "closed_loop_connections": CLOSED_CONNECTIONS,
            "open_loop_connections": OPEN_CONNECTIONS,
            "livez_rounds": [r.summary() for r in runs["livez"]],
            "webhook_rounds": [r.summary() for r in runs["webhook"]],
            "paced": paced_run.summary() | {"rate": PACED_RATE},
            "share_of_livez": round(share, 3),
            # CPU time of the serve process per answer during the bursts (for webhooks
            # this includes whatever the worker did meanwhile): less noisy than rates.
            "serve_cpu_ms_per_livez": round(runs["cpu_ms"].get("livez", 0.0), 3),
            "serve_cpu_ms_per_webhook": round(runs["cpu_ms"].get("webhook", 0.0), 3),
            "worker_drain_seconds_before_each_livez_burst": runs["drain_seconds"],
            "pending_events_after_paced_run": runs["pending_after_paced"],
        }
        if any(x < 0 for x in runs["drain_seconds"]):
            section.notes.append(
                f"{label}: the worker had not caught up within {drain_limit:.0f} s before some"
                " /livez bursts (the reference then shares the process with the worker)"
            )
    return section
