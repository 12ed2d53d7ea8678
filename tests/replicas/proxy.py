"""A round-robin reverse proxy: the load balancer in front of several replicas.

Every request goes to the next backend in turn, with no stickiness, as a plain
load balancer would send it: two steps of one user's story (an OAuth redirect
and its callback, a webhook and Zoom's retry of it) usually land on different
processes. Method, path, query string, headers and body go through unchanged;
status, headers (``Location`` included) and body come back unchanged.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# Headers about one connection, not the request: a proxy never passes them on.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",  # recomputed for the body actually sent
    }
)
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class Routed:
    """One request as the proxy sent it on."""

    method: str
    path: str
    backend: int  # index into the proxy's backends


class RoundRobinProxy:
    def __init__(self, backends: list[str]) -> None:
        self.backends = [b.rstrip("/") for b in backends]
        self.routed: list[Routed] = []
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self._client: httpx.AsyncClient | None = None

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            # The client lives on the server's own event loop.
            self._client = httpx.AsyncClient(timeout=60.0, follow_redirects=False)
            try:
                yield
            finally:
                await self._client.aclose()

        self.app = Starlette(
            routes=[Route("/{path:path}", self._forward, methods=METHODS)], lifespan=lifespan
        )

    def _next_backend(self) -> int:
        with self._lock:
            return next(self._turn) % len(self.backends)

    async def _forward(self, request: Request) -> Response:
        assert self._client is not None
        index = self._next_backend()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.scope.get("query_string", b"")
        target = self.backends[index] + raw_path.decode("latin-1")
        if query:
            target += "?" + query.decode("latin-1")
        headers = [
            (name, value)
            for name, value in request.headers.raw
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        client_host = request.client.host if request.client else "127.0.0.1"
        headers.append((b"x-forwarded-for", client_host.encode()))
        headers.append((b"x-forwarded-proto", request.url.scheme.encode()))
        body = await request.body()
        with self._lock:
            self.routed.append(Routed(request.method, request.url.path, index))
        upstream = self._client.build_request(
            request.method, httpx.URL(target), headers=headers, content=body
        )
        answer = await self._client.send(upstream, stream=True)
        try:
            # Raw bytes: whatever encoding the backend chose reaches the client as is.
            content = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        response = Response(content=content, status_code=answer.status_code)
        response.raw_headers = [
            (name, value)
            for name, value in answer.headers.raw
            if name.decode("latin-1").lower() not in HOP_BY_HOP
        ] + [(b"content-length", str(len(content)).encode())]
        return response
