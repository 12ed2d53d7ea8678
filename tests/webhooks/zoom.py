"""Sending Zoom deliveries to the service, signed or deliberately not."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import httpx

from mattermost_zoom.simulators.zoom_webhooks import encode, signed_headers
from tests.harness import World

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str, **object_fields: Any) -> dict[str, Any]:
    """A Zoom-shaped event from fixtures/, with payload.object fields replaced."""
    event: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    event = copy.deepcopy(event)
    if object_fields:
        event["payload"]["object"].update(object_fields)
    return event


def webhook_url(world: World, secret: str | None = None) -> str:
    value = world.settings.webhook_secret.get_secret_value() if secret is None else secret
    return f"{world.url}/webhook?secret={value}"


def deliver(
    world: World,
    event: dict[str, Any] | None = None,
    *,
    body: bytes | None = None,
    url: str | None = None,
    signing_secret: str | None = None,
    timestamp: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    raw = body if body is not None else encode(event or {})
    secret = signing_secret or world.env["MMZOOM_ZOOM_WEBHOOK_SECRET"]
    sent = signed_headers(raw, secret, timestamp if timestamp is not None else int(time.time()))
    sent.update(headers or {})
    return httpx.post(url or webhook_url(world), content=raw, headers=sent, timeout=10)
