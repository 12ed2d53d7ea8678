"""Fixtures for the simulator tests: served simulators and a fake integration."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mattermost_zoom.simulators import MattermostSimulator, ServerThread, ZoomSimulator

# spec_validation.py lives in tests/, one level up.
_TESTS_DIR = str(Path(__file__).resolve().parents[1])
if _TESTS_DIR not in sys.path:
    sys.path.insert(0, _TESTS_DIR)


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


Reply = Callable[[Received], Response]


@dataclass
class FakeIntegration:
    """Stands in for the service: records what Mattermost sends, answers as told."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    replies: dict[str, Reply] = field(default_factory=dict)

    def reply_json(self, path: str, body: Any, status: int = 200) -> None:
        self.replies[path] = lambda _req: JSONResponse(body, status_code=status)

    def reply(self, path: str, fn: Reply) -> None:
        self.replies[path] = fn

    def last(self, path: str) -> Received:
        return [r for r in self.received if r.path == path][-1]

    async def handle(self, request: Request) -> Response:
        entry = Received(
            path=request.url.path,
            method=request.method,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        self.received.append(entry)
        reply = self.replies.get(entry.path)
        if reply is None:
            return PlainTextResponse("no reply configured", status_code=404)
        return reply(entry)


@pytest.fixture
def integration() -> Iterator[FakeIntegration]:
    fake = FakeIntegration()
    app = Starlette(routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST"])])
    with ServerThread(app) as server:
        fake.url = server.url
        yield fake


@pytest.fixture
def mm() -> Iterator[MattermostSimulator]:
    sim = MattermostSimulator()
    server = sim.serve()
    try:
        yield sim
    finally:
        server.stop()


@pytest.fixture
def zoom() -> Iterator[ZoomSimulator]:
    sim = ZoomSimulator()
    server = sim.serve()
    try:
        yield sim
    finally:
        server.stop()
