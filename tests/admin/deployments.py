"""A Mattermost nobody has prepared for the service yet, a Zoom app, and the admin
commands run against them as real processes, as an admin runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mattermost_zoom.simulators import MattermostSimulator, ServerThread, ZoomSimulator
from mattermost_zoom.simulators.mattermost_admin_api import admin_state
from mattermost_zoom.simulators.mattermost_model import Channel, Team, User
from mattermost_zoom.simulators.sandbox import ZOOM_WEBHOOK_SECRET, free_port
from mattermost_zoom.simulators.zoom import OAuthApp
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests


@dataclass
class Site:
    mm: MattermostSimulator
    zoom: ZoomSimulator
    admin: User
    admin_token: str
    acme: Team
    globex: Team
    alice: User
    town_square: Channel  # in acme
    general: Channel  # in globex
    app: OAuthApp
    port: int
    config: Path
    database_url: str
    servers: list[ServerThread] = field(default_factory=list)

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/plugins/zoom"

    def settings_file(self) -> dict[str, Any]:
        return tomllib.loads(self.config.read_text())

    def commands(self, team: Team) -> list[dict[str, Any]]:
        """The team's custom commands, as the System Console lists them."""
        response = httpx.get(
            f"{self.mm.url}/api/v4/commands",
            params={"team_id": team.id, "custom_only": "true"},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def bot(self) -> User:
        bots = [u for u in self.mm.users.values() if u.is_bot and u.username == "zoom"]
        assert len(bots) == 1, bots
        return bots[0]

    def spec_violations(self) -> list[str]:
        return validate_mattermost_requests(self.mm.requests) + validate_zoom_requests(
            self.zoom.requests
        )


@contextmanager
def fresh_site(tmp_path: Path, database_url: str) -> Iterator[Site]:
    """Mattermost with an admin, two teams and a user; a Zoom app; a configuration
    file in which the admin has already put the Zoom URLs and the database."""
    mm, zoom = MattermostSimulator(), ZoomSimulator()
    servers = [mm.serve(), zoom.serve()]
    try:
        # The admin enabled bot accounts, as the README's deployment steps say.
        admin_state(mm).enable_bot_account_creation = True
        admin = mm.add_user("sysadmin", roles="system_user system_admin")
        alice = mm.add_user("alice")
        acme, globex = mm.add_team("acme"), mm.add_team("globex")
        port = free_port()
        site = Site(
            mm=mm,
            zoom=zoom,
            admin=admin,
            admin_token=mm.add_token(admin.id),
            acme=acme,
            globex=globex,
            alice=alice,
            town_square=mm.add_channel(acme, "O", "town-square", [alice]),
            general=mm.add_channel(globex, "O", "general", [alice]),
            app=zoom.add_app(
                redirect_uris=[f"http://127.0.0.1:{port}/plugins/zoom/oauth2/complete"]
            ),
            port=port,
            config=tmp_path / "mattermost-zoom.toml",
            database_url=database_url,
            servers=servers,
        )
        site.config.write_text(
            f'zoom_url = "{zoom.url}"\n'
            f'zoom_api_url = "{zoom.api_url}"\n'
            f'database_url = "{database_url}"\n'
            'log_format = "text"\n'
        )
        yield site
    finally:
        for server in reversed(servers):
            server.stop()


def run_cli(
    *args: str, env: dict[str, str] | None = None, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process, with none of this machine's MMZOOM_ variables. ``umask``:
    the one the process starts with (set around the call: a child inherits it)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MMZOOM_")}
    previous = os.umask(umask) if umask is not None else None
    try:
        return subprocess.run(
            [sys.executable, "-m", "mattermost_zoom", *args],
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    finally:
        if previous is not None:
            os.umask(previous)


def run_setup(
    site: Site, *args: str, token: str | None = None, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`setup` with the admin token in the environment, as the README suggests."""
    return run_cli(
        "setup",
        "--mattermost-url",
        site.mm.url,
        "--public-url",
        site.public_url,
        "--write-config",
        str(site.config),
        *args,
        env={"MMZOOM_SETUP_ADMIN_TOKEN": site.admin_token if token is None else token},
        umask=umask,
    )


def zoom_app_args(site: Site) -> list[str]:
    # "--option=value": a secret may start with "-" (argparse would take it for an option).
    return [
        f"--zoom-client-id={site.app.client_id}",
        f"--zoom-client-secret={site.app.client_secret}",
        f"--zoom-webhook-secret={ZOOM_WEBHOOK_SECRET}",
    ]


def run_check(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check", "--config", str(config), *args)


def lines(result: subprocess.CompletedProcess[str], status: str) -> list[str]:
    """The check lines with that status ("ok", "warn", "FAIL", "skip")."""
    return [line for line in result.stdout.splitlines() if line.split(" ", 1)[0] == status]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777
