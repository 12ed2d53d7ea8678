"""Fixtures for the simulator tests: served simulators and a fake integration."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mattermost_zoom.simulators import MattermostSimulator, ServerThread, ZoomSimulator


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


class SwappableApp:
    """One server per session; each test mounts its own fresh ASGI app on it.

    Stopping a uvicorn server takes ~0.15 s, so reusing servers keeps the suite fast
    while every test still gets brand-new simulator state.
    """

    def __init__(self) -> None:
        self.app: Any = Starlette()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return  # nothing to start or stop; the mounted apps have no lifespan
        await self.app(scope, receive, send)


@dataclass
class Slot:
    server: ServerThread
    mount: SwappableApp


def _slot() -> Iterator[Slot]:
    mount = SwappableApp()
    with ServerThread(mount) as server:
        yield Slot(server, mount)


@pytest.fixture(scope="session")
def _mm_slot() -> Iterator[Slot]:
    yield from _slot()


@pytest.fixture(scope="session")
def _zoom_slot() -> Iterator[Slot]:
    yield from _slot()


@pytest.fixture(scope="session")
def _integration_slot() -> Iterator[Slot]:
    yield from _slot()


@pytest.fixture
def integration(_integration_slot: Slot) -> FakeIntegration:
    fake = FakeIntegration(url=_integration_slot.server.url)
    routes = [Route("/{path:path}", fake.handle, methods=["GET", "POST"])]
    _integration_slot.mount.app = Starlette(routes=routes)
    return fake


@pytest.fixture
def mm(_mm_slot: Slot) -> MattermostSimulator:
    sim = MattermostSimulator(url=_mm_slot.server.url)
    _mm_slot.mount.app = sim.app
    return sim


@pytest.fixture
def zoom(_zoom_slot: Slot) -> ZoomSimulator:
    sim = ZoomSimulator(url=_zoom_slot.server.url)
    _zoom_slot.mount.app = sim.app
    return sim
