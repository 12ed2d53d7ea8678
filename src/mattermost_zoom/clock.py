"""The one place the service reads the wall clock; the core takes ``now`` as input."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
