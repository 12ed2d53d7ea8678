"""What the benchmarks run against: the simulators in this process, the service as
a real ``serve`` process (uvicorn), on a fresh SQLite or PostgreSQL database."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from mattermost_zoom.simulators.process import ServiceProcess
from mattermost_zoom.simulators.sandbox import Sandbox, start_sandbox
from mattermost_zoom.simulators.scratch_database import scratch_postgres_database
from mattermost_zoom.store.urls import sync_url

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = (
    os.environ.get("MMZOOM_BENCH_POSTGRES_URL")
    or os.environ.get("MMZOOM_TEST_POSTGRES_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)


# --- databases ----------------------------------------------------------------------


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    if os.environ.get("MMZOOM_TEST_SKIP_POSTGRES") == "1":
        return "MMZOOM_TEST_SKIP_POSTGRES=1"
    engine = sa.create_engine(sync_url(POSTGRES_ADMIN_URL))
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        where = urlsplit(POSTGRES_ADMIN_URL).netloc
        return f"PostgreSQL at {where} unreachable ({type(exc).__name__})"
    finally:
        engine.dispose()
    return None


@contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped
    afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    with scratch_postgres_database(POSTGRES_ADMIN_URL, "mmzoom_bench") as url:
        yield url


# --- the service as a process ---------------------------------------------------------


@dataclass(frozen=True)
class Memory:
    """Resident memory of a process, in MiB: now, and the peak since the peak was
    last reset (or since the process started)."""

    rss: float
    peak: float


class ServeProcess(ServiceProcess):
    """The service process, plus what the benchmarks read of it from /proc."""

    def memory(self) -> Memory:
        fields: dict[str, float] = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                name, _, value = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    fields[name] = int(value.split()[0]) / 1024  # kB -> MiB
        return Memory(rss=fields["VmRSS"], peak=fields["VmHWM"])

    def cpu_seconds(self) -> float:
        """User and system CPU time the process has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak(self) -> bool:
        """Make the peak start again from the current size (Linux: clear_refs 5)."""
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as refs:
                refs.write("5")
        except OSError:
            return False
        return True


class MemorySampler:
    """Samples a process's resident size every few milliseconds in a thread: the
    peak even where the kernel's own peak cannot be reset."""

    def __init__(self, process: ServeProcess, interval: float = 0.005) -> None:
        self._process = process
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peak = 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._process.memory().rss)
            self._stop.wait(self._interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Deployment:
    sandbox: Sandbox
    serve: ServeProcess

    @property
    def public_url(self) -> str:
        return self.sandbox.url

    @property
    def host(self) -> str:
        return urlsplit(self.public_url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.public_url).path


@contextmanager
def deploy(
    database_url: str,
    workdir: Path,
    label: str,
    *,
    module: str = "mattermost_zoom",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Deployment]:
    """The simulators here, seeded, and ``serve`` at the public URL (an empty
    database: serve migrates it, as in production)."""
    with start_sandbox(database_url, service=False) as sandbox:
        public = urlsplit(sandbox.url)
        assert public.port is not None
        env = sandbox.env | (extra_env or {})
        serve = ServeProcess(
            env, public.port, workdir / f"serve-{label}.log", module=module, cwd=REPO
        )
        serve.start(public.path)
        try:
            yield Deployment(sandbox, serve)
        finally:
            serve.stop()


# --- timing the simulators --------------------------------------------------------------


class Spans:
    """When a simulator was busy answering: (start, end) perf_counter pairs, one per
    HTTP request it handled."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    def instrument(self, app: Starlette) -> None:
        """Time every request ``app`` handles from now on, already served or not."""
        inner = app.middleware_stack or app.build_middleware_stack()

        async def timed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await inner(scope, receive, send)
                return
            started = time.perf_counter()
            try:
                await inner(scope, receive, send)
            finally:
                self.spans.append((started, time.perf_counter()))  # atomic append

        app.middleware_stack = timed

    def busy_within(self, start: float, end: float) -> float:
        """Seconds within [start, end] during which at least one request was being
        handled (overlapping requests count once)."""
        clipped = sorted(
            (max(a, start), min(b, end)) for a, b in list(self.spans) if b > start and a < end
        )
        total = 0.0
        current_start, current_end = None, 0.0
        for a, b in clipped:
            if current_start is None or a > current_end:
                if current_start is not None:
                    total += current_end - current_start
                current_start, current_end = a, b
            else:
                current_end = max(current_end, b)
        if current_start is not None:
            total += current_end - current_start
        return total


def loadavg() -> tuple[float, float, float]:
    with open("/proc/loadavg") as f:
        one, five, fifteen = f.read().split()[:3]
    return float(one), float(five), float(fifteen)
