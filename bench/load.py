"""A small HTTP/1.1 load generator on raw asyncio streams.

A general-purpose client spends more time per request than the service does on a
trivial route, and would then measure itself. This one sends pre-built request
bytes over a bounded number of keep-alive connections and reads answers that
carry a Content-Length (every answer of the service does).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Run:
    """What one load run observed. Latencies in seconds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        return percentile(self.latencies, q)

    def summary(self) -> dict[str, float]:
        return {
            "requests": self.count,
            "errors": self.errors,
            "seconds": round(self.elapsed, 3),
            "per_second": round(self.throughput, 1),
            "p50_ms": round(self.percentile(50) * 1000, 2),
            "p99_ms": round(self.percentile(99) * 1000, 2),
            "max_ms": round(max(self.latencies, default=0.0) * 1000, 2),
        }


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def get(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mmzoom-bench\r\n\r\n".encode()


def post(host: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "User-Agent: mmzoom-bench"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Connection:
    """One keep-alive connection: one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        """Send one request, read the whole answer; its status."""
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
            elif name.strip().lower() == b"transfer-encoding":
                raise RuntimeError("chunked answers are not supported by this load generator")
        if length:
            await self._reader.readexactly(length)
        return status

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def _connections(host: str, port: int, count: int) -> list[Connection]:
    return list(await asyncio.gather(*(Connection.open(host, port) for _ in range(count))))


async def closed_loop(
    host: str, port: int, requests: Iterator[bytes], *, connections: int, duration: float
) -> Run:
    """As fast as the server answers: each connection sends its next request as
    soon as the previous answer arrived, for ``duration`` seconds."""
    pool = await _connections(host, port, connections)
    run = Run()
    deadline = time.perf_counter() + duration

    async def drive(conn: Connection) -> None:
        while time.perf_counter() < deadline:
            request = next(requests)
            sent = time.perf_counter()
            status = await conn.exchange(request)
            _note(run, status, time.perf_counter() - sent)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(drive(c) for c in pool))
    finally:
        run.elapsed = time.perf_counter() - started
        await asyncio.gather(*(c.close() for c in pool))
    return run


async def open_loop(
    host: str,
    port: int,
    requests: Iterator[bytes],
    *,
    rate: float,
    duration: float,
    connections: int,
    grace: float = 15.0,
) -> Run:
    """Requests at a fixed rate whatever the answers do (as Zoom sends events).
    Latency runs from the moment a request was due, so time spent waiting for a
    free connection counts: a slow server cannot hide its backlog. Requests not
    answered ``grace`` seconds after the last one was due count as errors."""
    pool = await _connections(host, port, connections)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for conn in pool:
        idle.put_nowait(conn)
    run = Run()
    total = int(rate * duration)
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: bytes, due: float) -> None:
        conn = await idle.get()
        try:
            status = await conn.exchange(request)
        finally:
            idle.put_nowait(conn)
        _note(run, status, time.perf_counter() - due)

    started = time.perf_counter()
    try:
        for index in range(total):
            due = started + index / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(next(requests), due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            _, late = await asyncio.wait(set(tasks), timeout=grace)
            for task in late:
                task.cancel()
            run.errors += len(late)
    finally:
        run.elapsed = time.perf_counter() - started
        await asyncio.gather(*(c.close() for c in pool))
    return run


def _note(run: Run, status: int, latency: float) -> None:
    run.statuses[status] = run.statuses.get(status, 0) + 1
    if status == 200:
        run.latencies.append(latency)
    else:
        run.errors += 1
