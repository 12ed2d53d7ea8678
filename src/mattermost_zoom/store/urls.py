"""One database URL from the settings, two drivers: async for the service, sync for
Alembic. ``postgresql://`` and ``sqlite:///`` are what admins write."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def async_url(database_url: str) -> str:
    url = make_url(_normalise(database_url))
    driver = "sqlite+aiosqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return url.set(drivername=driver).render_as_string(hide_password=False)


def sync_url(database_url: str) -> str:
    url = make_url(_normalise(database_url))
    driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    return url.set(drivername=driver).render_as_string(hide_password=False)


def _normalise(database_url: str) -> str:
    if database_url.startswith("postgres://"):
        return "postgresql://" + database_url.removeprefix("postgres://")
    return database_url
