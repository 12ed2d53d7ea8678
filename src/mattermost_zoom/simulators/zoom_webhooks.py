"""Zoom webhook envelopes, signatures and delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx


def build_event(
    event: str, obj: dict[str, Any], *, account_id: str, event_ts: int | None = None, **payload: Any
) -> dict[str, Any]:
    """``{"event", "payload": {"account_id", "object", ...}, "event_ts"}`` (ms)."""
    return {
        "event": event,
        "payload": {"account_id": account_id, "object": obj, **payload},
        "event_ts": event_ts if event_ts is not None else int(time.time() * 1000),
    }


def sign(body: bytes | str, timestamp: int | str, secret: str) -> str:
    """x-zm-signature: "v0=" + hex HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    text = body.decode() if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{text}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def encode(event: dict[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":")).encode()


def signed_headers(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = timestamp if timestamp is not None else int(time.time())
    return {
        "content-type": "application/json; charset=utf-8",
        "user-agent": "Zoom Marketplace/1.1a",
        "x-zm-request-timestamp": str(ts),
        "x-zm-signature": sign(body, ts, secret),
        "x-zm-trackingid": "v=2.0;clid=sim;rid=" + secrets.token_hex(16),
    }


async def deliver(
    url: str,
    event: dict[str, Any],
    secret: str,
    *,
    timestamp: int | None = None,
    client: httpx.AsyncClient | None = None,
) -> httpx.Response:
    """POST an event to a webhook endpoint, signed as Zoom signs it."""
    body = encode(event)
    headers = signed_headers(body, secret, timestamp)
    if client is not None:
        return await client.post(url, content=body, headers=headers)
    async with httpx.AsyncClient(timeout=10.0) as own:
        return await own.post(url, content=body, headers=headers)


async def validate_endpoint(
    url: str, secret: str, *, client: httpx.AsyncClient | None = None
) -> bool:
    """Zoom's endpoint.url_validation challenge: the app must answer with
    {"plainToken", "encryptedToken": hex HMAC-SHA256(secret, plainToken)}."""
    plain = secrets.token_urlsafe(16)
    event = {
        "payload": {"plainToken": plain},
        "event_ts": int(time.time() * 1000),
        "event": "endpoint.url_validation",
    }
    response = await deliver(url, event, secret, client=client)
    if response.status_code != 200:
        return False
    try:
        answer = response.json()
    except ValueError:
        return False
    expected = hmac.new(secret.encode(), plain.encode(), hashlib.sha256).hexdigest()
    return (
        isinstance(answer, dict)
        and answer.get("plainToken") == plain
        and answer.get("encryptedToken") == expected
    )
