"""Streamed, size-capped downloads of recording files from Zoom. A thin adapter:
the caller says which URLs are allowed.

The body is never held whole: ``open_download`` yields an async iterator of
chunks, to be passed straight on (to a Mattermost upload). Neither the download
token nor the URL's path ends up in an exception or a log line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx

from mattermost_zoom.clients.zoom import ZoomError

MAX_REDIRECTS = 5
CHUNK_BYTES = 256 * 1024


class DownloadRefused(Exception):
    """The URL, or a redirect, leads somewhere downloads are not allowed from."""

    def __init__(self, origin: str) -> None:
        super().__init__(f"download from {origin} refused: not a configured Zoom host")
        self.origin = origin


class DownloadTooLarge(Exception):
    """The file is larger than the cap (said so up front, or found while streaming)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than {limit} bytes")
        self.limit = limit


class DownloadUnavailable(Exception):
    """Zoom refused the download for good (expired token, missing file, ...)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"Zoom refused the download with {status}")
        self.status = status


@asynccontextmanager
async def open_download(
    http: httpx.AsyncClient,
    url: str,
    *,
    token: str,
    allowed: Callable[[str], bool],
    origin: Callable[[str], str],
    max_bytes: int,
) -> AsyncIterator[AsyncIterator[bytes]]:
    """GET ``url`` with ``Authorization: Bearer <token>``, following redirects only
    to allowed URLs, and yield the body as chunks.

    Raises ``DownloadRefused``, ``DownloadTooLarge`` (also from the iterator, once
    more than ``max_bytes`` arrived), ``DownloadUnavailable`` for a refusal that a
    retry cannot fix, and ``ZoomError`` for 429 and 5xx, which a retry can.
    Transport errors propagate as httpx raises them.
    """
    response = await _follow(http, url, token, allowed, origin)
    try:
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = response.headers.get("Retry-After", "")
            raise ZoomError(
                status,
                None,
                "recording download failed",
                float(retry_after) if retry_after.isdigit() else None,
            )
        if status != 200:
            raise DownloadUnavailable(status)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise DownloadTooLarge(max_bytes)
        yield _capped(response, max_bytes)
    finally:
        await response.aclose()


async def _follow(
    http: httpx.AsyncClient,
    url: str,
    token: str,
    allowed: Callable[[str], bool],
    origin: Callable[[str], str],
) -> httpx.Response:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        if not allowed(current):
            raise DownloadRefused(origin(current))
        request = http.build_request("GET", current, headers={"Authorization": f"Bearer {token}"})
        response = await http.send(request, stream=True, follow_redirects=False)
        if not response.is_redirect:
            return response
        location = response.headers.get("Location", "")
        await response.aclose()
        current = str(response.url.join(location))
    raise DownloadUnavailable(310)


async def _capped(response: httpx.Response, max_bytes: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in response.aiter_bytes(CHUNK_BYTES):
        received += len(chunk)
        if received > max_bytes:
            raise DownloadTooLarge(max_bytes)
        yield chunk
