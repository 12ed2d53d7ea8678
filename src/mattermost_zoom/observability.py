"""Logs and metrics: what an admin reads when something is wrong.

Logs are one JSON object per line (or a readable line in a terminal), each with
the id of the request or event it belongs to. Metrics live in a registry owned
by the app, never in a process-wide global, and are served at ``/metrics``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# The request or event being handled, for every log line written meanwhile.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "mmzoom_request_id", default=""
)

# Attributes every LogRecord has; anything else was passed with ``extra=``.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """For a terminal: the usual line, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {
            k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
        }
        request_id = getattr(record, "request_id", "")
        if request_id:
            extras = {"request_id": request_id, **extras}
        return line + "".join(f" {k}={v}" for k, v in extras.items())


def configure_logging(level: int, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every URL at INFO: noise that hides what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class Metrics:
    """The service's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mmzoom_http_requests",
            "HTTP requests answered, by route and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "mmzoom_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route"],
            registry=self.registry,
        )
        self.webhook_events = Counter(
            "mmzoom_webhook_events",
            "Zoom webhook deliveries and events, by type and outcome",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.pending_events = Gauge(
            "mmzoom_pending_events",
            "Verified Zoom events not yet carried out",
            registry=self.registry,
        )
        self.oldest_pending_seconds = Gauge(
            "mmzoom_oldest_pending_event_age_seconds",
            "Age of the oldest verified Zoom event not yet carried out",
            registry=self.registry,
        )
        self.failed_events = Gauge(
            "mmzoom_failed_events",
            "Zoom events given up on after retries",
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "mmzoom_upstream_request_duration_seconds",
            "Calls to Zoom and Mattermost",
            ["peer", "method"],
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "mmzoom_upstream_errors",
            "Failed calls to Zoom and Mattermost (error status or no answer)",
            ["peer", "kind"],
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def transport(self, peers: dict[str, str]) -> httpx.AsyncBaseTransport:
        """An httpx transport timing every outgoing call; ``peers`` maps host to name."""
        return _MeteredTransport(httpx.AsyncHTTPTransport(), self, peers)


class _MeteredTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics, peers: dict[str, str]):
        self._inner = inner
        self._metrics = metrics
        self._peers = peers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        peer = self._peers.get(request.url.netloc.decode(), "other")
        started = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            self._metrics.upstream_errors.labels(peer, type(exc).__name__).inc()
            raise
        self._metrics.upstream_seconds.labels(peer, request.method).observe(
            time.perf_counter() - started
        )
        if response.status_code >= 400:
            self._metrics.upstream_errors.labels(peer, str(response.status_code)).inc()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
