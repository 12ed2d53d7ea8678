"""``POST /webhook``: Zoom's event notifications.

Checked in one place, in order: the ``?secret=``, the size, the content type,
Zoom's signature and its timestamp, then the JSON. A verified event is stored
before the 200 goes out; what it causes happens in the worker, afterwards.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import webhooks
from mattermost_zoom.core.webhooks import Rejected
from mattermost_zoom.crypto import constant_time_in
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)


async def zoom_webhook(request: Request) -> Response:
    svc: Services = request.app.state.services
    counted = svc.metrics.webhook_events
    now = utcnow()
    event = "unknown"
    try:
        body = await verified_body(request, svc)
        envelope = json_object(body)
        event = str(envelope["event"])
        if event == "endpoint.url_validation":
            answer = url_validation(svc, envelope)
            counted.labels(event, "answered").inc()
            return JSONResponse(answer)
        if event not in webhooks.HANDLED_EVENTS:
            counted.labels("other", "ignored").inc()
            return JSONResponse({"status": "ignored"})
        webhooks.parse_event(envelope)  # refuse now what the worker could never handle
    except Rejected as rejected:
        counted.labels(event if event in webhooks.HANDLED_EVENTS else "unknown", "rejected").inc()
        detail = f"{rejected.status}: {rejected.reason}"
        await svc.store.events.note_delivery("rejected", now, detail)
        log.warning("zoom webhook rejected", extra={"reason": detail})
        return JSONResponse({"error": rejected.reason}, rejected.status)
    queued = await svc.store.events.add(
        dedup_key=webhooks.dedup_key(envelope), event=event, body=body.decode(), now=now
    )
    outcome = "accepted" if queued else "duplicate"
    counted.labels(event, outcome).inc()
    if queued:
        request.app.state.worker.wake()
    return JSONResponse({"status": outcome})


async def verified_body(request: Request, svc: Services) -> bytes:
    """The raw body of a genuine Zoom delivery, or ``Rejected``."""
    secret = request.query_params.get("secret", "")
    if not constant_time_in(secret, [svc.settings.webhook_secret.get_secret_value()]):
        raise Rejected(401, "the ?secret= query parameter is wrong or missing")
    body = await read_capped(request, webhooks.MAX_BODY_BYTES)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Rejected(415, "expected Content-Type: application/json")
    zoom_secret = svc.settings.zoom_webhook_secret
    webhooks.check_signature(
        secret=zoom_secret.get_secret_value() if zoom_secret else None,
        timestamp=request.headers.get("x-zm-request-timestamp"),
        signature=request.headers.get("x-zm-signature"),
        body=body,
        now=utcnow(),
    )
    return body


async def read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"the body is larger than {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Rejected(413, f"the body is larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Rejected(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)


def json_object(body: bytes) -> dict[str, object]:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(400, "the body is not valid JSON") from None
    if not isinstance(value, dict) or not isinstance(value.get("event"), str):
        raise Rejected(400, "the body has no event name")
    return value


def url_validation(svc: Services, envelope: dict[str, object]) -> dict[str, str]:
    payload = envelope.get("payload")
    plain = payload.get("plainToken") if isinstance(payload, dict) else None
    if not isinstance(plain, str) or not plain:
        raise Rejected(400, "endpoint.url_validation: payload.plainToken is missing")
    zoom_secret = svc.settings.zoom_webhook_secret
    assert zoom_secret is not None  # checked with the signature
    return webhooks.url_validation_answer(zoom_secret.get_secret_value(), plain)
