"""Fixtures: a database per backend, and a whole deployment (``world``) on it.

Every integration test runs on SQLite and on PostgreSQL. After each test, every
request the service sent to the simulators is checked against the published API
descriptions in ../shared/specs/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from mattermost_zoom.simulators.scratch_database import scratch_postgres_database
from tests.harness import World, build_world
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests

PG_ADMIN_URL = os.environ.get(
    "MMZOOM_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
SKIP_POSTGRES = os.environ.get("MMZOOM_TEST_SKIP_POSTGRES") == "1"


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    if SKIP_POSTGRES:
        pytest.skip("MMZOOM_TEST_SKIP_POSTGRES=1")
    with scratch_postgres_database(PG_ADMIN_URL, "mmzoom_test") as url:
        yield url


def _empty_postgres(url: str) -> None:
    engine = sa.create_engine(_pg(url))
    with engine.begin() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mmzoom.db'}"
    url: str = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with build_world(database_url) as w:
        yield w
        _assert_requests_follow_the_specs(w)


def _assert_requests_follow_the_specs(w: World) -> None:
    problems = validate_mattermost_requests(w.mm.requests) + validate_zoom_requests(w.zoom.requests)
    assert not problems, "requests that break the published API descriptions:\n" + "\n".join(
        problems
    )
