"""The ASGI application: every route under the path of ``MMZOOM_PUBLIC_URL``."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mattermost_zoom.config import Settings
from mattermost_zoom.observability import Metrics, current_request_id
from mattermost_zoom.web.actions import post_action
from mattermost_zoom.web.command import slash_command
from mattermost_zoom.web.deauthorization import zoom_deauthorization
from mattermost_zoom.web.dialogs import channel_settings_submission
from mattermost_zoom.web.health import healthz, livez, metrics_endpoint, readyz
from mattermost_zoom.web.oauth import oauth_complete, oauth_connect
from mattermost_zoom.web.webhook import zoom_webhook
from mattermost_zoom.worker import EventWorker
from mattermost_zoom.workflows.events import HANDLERS
from mattermost_zoom.workflows.services import Services

log = logging.getLogger("mattermost_zoom.http")


def create_app(settings: Settings) -> Starlette:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        services = Services.build(settings, metrics)
        worker = EventWorker(
            services, HANDLERS, lease=timedelta(seconds=settings.worker_lease_seconds)
        )
        app.state.services = services
        app.state.worker = worker
        worker.start()
        try:
            yield
        finally:
            await worker.stop()
            await services.close()

    routes = [
        Route("/livez", livez, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/command", slash_command, methods=["POST"]),
        Route("/oauth2/connect", oauth_connect, methods=["GET"]),
        Route("/oauth2/complete", oauth_complete, methods=["GET"]),
        Route("/actions/{action}", post_action, methods=["POST"]),
        Route("/webhook", zoom_webhook, methods=["POST"]),
        Route("/dialogs/channel-settings", channel_settings_submission, methods=["POST"]),
        Route("/deauthorization", zoom_deauthorization, methods=["POST"]),
    ]
    base = settings.public_path
    app = Starlette(routes=[Mount(base, routes=routes)] if base else routes, lifespan=lifespan)
    app.add_middleware(AccessLog, metrics=metrics)
    return app


class AccessLog:
    """One log line and one metric sample per request, under a fresh request id.

    The query string is never logged: it carries the webhook secret and OAuth codes.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        context = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(label, scope["method"], str(status)).inc()
            self.metrics.request_seconds.labels(label).observe(elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={"duration_ms": round(elapsed * 1000, 1)},
            )
            current_request_id.reset(context)
