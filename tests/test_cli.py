"""The command line, run as an admin runs it: real processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from mattermost_zoom.store.urls import sync_url


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}
    return subprocess.run(
        [sys.executable, "-m", "mattermost_zoom", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_with_bad_configuration_says_what_to_fix_and_does_not_start(tmp_path: Path) -> None:
    result = run(
        "serve",
        "--port",
        "1",
        env={"MMZOOM_MATTERMOST_URL": "chat.example.com", "MMZOOM_ENCRYPTION_KEY": "tiny-k3y"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    named = {line.split()[1] for line in lines}
    assert {
        "MMZOOM_MATTERMOST_URL",
        "MMZOOM_ENCRYPTION_KEY",
        "MMZOOM_BOT_TOKEN",
        "MMZOOM_SLASH_COMMAND_TOKEN",
        "MMZOOM_OAUTH_CLIENT_ID",
        "MMZOOM_OAUTH_CLIENT_SECRET",
        "MMZOOM_WEBHOOK_SECRET",
    } <= named
    assert "tiny-k3y" not in result.stderr
    assert not list(tmp_path.iterdir()), "nothing was created"


VALID = {
    "MMZOOM_MATTERMOST_URL": "https://chat.example.com",
    "MMZOOM_BOT_TOKEN": "bot-token",
    "MMZOOM_SLASH_COMMAND_TOKEN": "slash-token",
    "MMZOOM_OAUTH_CLIENT_ID": "client",
    "MMZOOM_OAUTH_CLIENT_SECRET": "secret",
    "MMZOOM_ENCRYPTION_KEY": "k" * 40,
    "MMZOOM_WEBHOOK_SECRET": "w" * 20,
}


def test_missing_config_file_is_reported(tmp_path: Path) -> None:
    result = run("migrate", "--config", str(tmp_path / "nope.toml"), env=VALID)
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_migrations_started_together_run_once(database_url: str, tmp_path: Path) -> None:
    env = dict(VALID, MMZOOM_DATABASE_URL=database_url)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "mattermost_zoom", "migrate"],
            env={**clean, **env},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    engine = sa.create_engine(sync_url(database_url))
    with engine.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert len(versions) == 1
    assert {"zoom_connections", "meetings", "webhook_events"} <= tables


def test_every_command_has_help() -> None:
    for command in ("serve", "migrate", "demo"):
        result = run(command, "--help")
        assert result.returncode == 0
        assert "usage: mattermost-zoom" in result.stdout
