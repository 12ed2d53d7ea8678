"""Request recording and fault injection shared by the simulators."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

Handler = Callable[[Request], Awaitable[Response]]
ErrorBody = Callable[[int], Mapping[str, Any]]
# Reads a request's body and returns what to record of it instead of the raw bytes
# (e.g. a file upload with each file's content replaced by its size and digest).
Summarize = Callable[[Request], Awaitable[bytes]]


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as a simulator received it (header names lowercased)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass
class FailureRule:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str]
    body: Mapping[str, Any] | None
    remaining: int
    after: bool = False  # the request takes effect, then the client sees the failure

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and path.startswith(self.path_prefix)


@dataclass
class Faults:
    """Injected failures, added latency and a whole-server outage switch."""

    latency: float = 0.0
    down: bool = False
    _rules: list[FailureRule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        *,
        times: int = 1,
        body: Mapping[str, Any] | None = None,
        after: bool = False,
    ) -> None:
        """Fail the next ``times`` matching requests with ``status``. ``after``: the
        request is carried out first, and only its answer is lost (a proxy that
        timed out while the server went on)."""
        rule = FailureRule(
            method.upper(), path_prefix, status, dict(headers or {}), body, times, after
        )
        with self._lock:
            self._rules.append(rule)

    def take(self, method: str, path: str) -> FailureRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


async def record(
    request: Request, log: list[RecordedRequest], summarize: Summarize | None = None
) -> RecordedRequest:
    if summarize is not None:
        body = await summarize(request)
    else:
        body = await request.body()  # cached by Starlette, so form() still works afterwards
    entry = RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=request.url.query,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        content_type=request.headers.get("content-type", ""),
    )
    log.append(entry)  # list.append is atomic; the log is read from other threads
    return entry


def guarded(
    handler: Handler,
    log: list[RecordedRequest],
    faults: Faults,
    error_body: ErrorBody,
    *,
    summarize: Summarize | None = None,
) -> Handler:
    """Wrap a route handler: record the request, then apply outage/failure/latency."""

    async def wrapper(request: Request) -> Response:
        await record(request, log, summarize)
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.down:
            # An outage looks like a proxy in front of a dead backend: not JSON.
            return PlainTextResponse("Service Unavailable", status_code=503)
        rule = faults.take(request.method, request.url.path)
        if rule is not None:
            if rule.after:
                await handler(request)
            body = rule.body if rule.body is not None else error_body(rule.status)
            return JSONResponse(dict(body), status_code=rule.status, headers=rule.headers)
        return await handler(request)

    return wrapper


class FaultSwitches:
    """What a test turns on a simulator: added latency and a whole-server outage
    (each simulator adds its own ``fail_next``)."""

    faults: Faults

    @property
    def latency(self) -> float:
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.faults.latency = seconds

    def set_down(self, down: bool) -> None:
        self.faults.down = down
