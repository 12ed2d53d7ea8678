"""``POST /deauthorization``: Zoom says a user removed the app.

Checked like ``/webhook``: the ``?secret=`` (constant time), the size, the content
type and, when the delivery is signed (``x-zm-signature``), the signature and its
timestamp. Zoom signs what it sends through an event subscription; an app's
legacy deauthorization endpoint got Zoom's retired verification token instead,
so an unsigned delivery is accepted on the secret alone, as the Go plugin does.
The event is stored before the 200 goes out; forgetting the user, the Data
Compliance call and the user's direct message happen in the worker.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mattermost_zoom.clock import utcnow
from mattermost_zoom.core import webhooks
from mattermost_zoom.core.webhooks import AppDeauthorized, Rejected
from mattermost_zoom.crypto import constant_time_in
from mattermost_zoom.web.webhook import json_object, read_capped, url_validation, verified_body
from mattermost_zoom.workflows.services import Services

log = logging.getLogger(__name__)

EVENT = "app_deauthorized"


async def zoom_deauthorization(request: Request) -> Response:
    svc: Services = request.app.state.services
    now = utcnow()
    try:
        body = await _checked_body(request, svc)
        envelope = json_object(body)
        if envelope["event"] == "endpoint.url_validation":
            return JSONResponse(_signed_url_validation(request, svc, envelope))
        if envelope["event"] != EVENT:
            raise Rejected(400, f"expected an {EVENT} event")
        event = webhooks.parse_event(envelope)
        assert isinstance(event, AppDeauthorized)
        if event.client_id != svc.settings.oauth_client_id:
            raise Rejected(400, "payload.client_id is not this app's client ID")
    except Rejected as rejected:
        await svc.store.events.note_delivery(
            "rejected", now, f"deauthorization {rejected.status}: {rejected.reason}"
        )
        log.warning(
            "zoom deauthorization rejected",
            extra={"status": rejected.status, "reason": rejected.reason},
        )
        return JSONResponse({"error": rejected.reason}, rejected.status)
    queued = await svc.store.events.add(
        dedup_key=webhooks.dedup_key(envelope), event=EVENT, body=body.decode(), now=now
    )
    if queued:
        request.app.state.worker.wake()
    return JSONResponse({"status": "accepted" if queued else "duplicate"})


def _signed(request: Request) -> bool:
    return "x-zm-signature" in request.headers or "x-zm-request-timestamp" in request.headers


async def _checked_body(request: Request, svc: Services) -> bytes:
    if _signed(request):
        return await verified_body(request, svc)
    secret = request.query_params.get("secret", "")
    if not constant_time_in(secret, [svc.settings.webhook_secret.get_secret_value()]):
        raise Rejected(401, "the ?secret= query parameter is wrong or missing")
    body = await read_capped(request, webhooks.MAX_BODY_BYTES)
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise Rejected(415, "expected Content-Type: application/json")
    return body


def _signed_url_validation(
    request: Request, svc: Services, envelope: dict[str, object]
) -> dict[str, str]:
    """Zoom validates an event subscription's URL before sending it events."""
    if not _signed(request):
        raise Rejected(401, "endpoint.url_validation must be signed")
    return url_validation(svc, envelope)
