"""ServerThread runs an ASGI app on a free loopback port and stops cleanly."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mattermost_zoom.simulators import ServerThread


async def hello(_request: object) -> PlainTextResponse:
    return PlainTextResponse("hello")


def test_serves_on_loopback_and_stops() -> None:
    app = Starlette(routes=[Route("/", hello)])
    with ServerThread(app) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.running
        assert httpx.get(server.url + "/").text == "hello"
        url = server.url
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/", timeout=1)


def test_two_servers_get_different_ports() -> None:
    app = Starlette(routes=[Route("/", hello)])
    with ServerThread(app) as one, ServerThread(app) as two:
        assert one.port != two.port


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = ServerThread(Starlette()).url
