"""`mattermost-zoom check` on a real deployment (set up by `setup`, served by a real
`serve` process): it passes when all is well, and each thing an admin can get wrong
gives one line naming the problem and its fix, and exit code 1."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from mattermost_zoom.admin import config_file
from mattermost_zoom.simulators.sandbox import ZOOM_WEBHOOK_SECRET
from mattermost_zoom.store.urls import sync_url
from tests.admin.deployments import Site, fresh_site, lines, run_check, run_setup, zoom_app_args
from tests.processes import ServiceProcess
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests


@dataclass
class Deployment:
    site: Site
    service: ServiceProcess
    tmp: Path

    @property
    def settings(self) -> dict[str, Any]:
        return tomllib.loads(self.site.config.read_text())

    def variant(self, **changes: str) -> Path:
        """A copy of the configuration file with some settings changed."""
        path = self.tmp / "variant.toml"
        config_file.write_private(path, config_file.render({**self.settings, **changes}))
        return path

    def webhook(self, secret: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.site.public_url}/webhook?secret={secret}", json=body)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def _deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("check")
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp / 'mmzoom.db'}"
    else:
        database_url = request.getfixturevalue("postgres_database")
    with fresh_site(tmp, database_url) as site:
        result = run_setup(site, *zoom_app_args(site))
        assert result.returncode == 0, result.stdout + result.stderr
        service = ServiceProcess(
            {}, site.port, tmp / "serve.log", args=["--config", str(site.config)]
        ).start()
        try:
            yield Deployment(site, service, tmp)
        finally:
            service.stop()


@pytest.fixture
def deployment(_deployment: Deployment) -> Iterator[Deployment]:
    """The deployment, without any Zoom delivery on record."""

    def clear() -> None:
        engine = sa.create_engine(sync_url(_deployment.site.database_url))
        with engine.begin() as conn:
            for table in ("webhook_effects", "webhook_events", "webhook_deliveries"):
                conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - fixed names
        engine.dispose()

    clear()
    yield _deployment
    clear()


def secrets_of(d: Deployment) -> list[str]:
    s = d.settings
    return [
        d.site.admin_token,
        s["bot_token"],
        s["oauth_client_secret"],
        s["encryption_key"],
        *s["slash_command_token"].split(","),
    ]


def subject(line: str) -> str:
    return line[6:].split(":", 1)[0]


def test_a_good_deployment_passes(deployment: Deployment) -> None:
    seen_mm, seen_zoom = len(deployment.site.mm.requests), len(deployment.site.zoom.requests)

    result = run_check(deployment.site.config)

    assert result.returncode == 0, result.stdout + result.stderr
    assert lines(result, "FAIL") == []
    passed = {subject(line) for line in lines(result, "ok")}
    assert {
        "Mattermost",
        "bot token",
        "bot role",
        "team acme",
        "team globex",
        "public URL",
        "Zoom app credentials",
        "database",
    } <= passed
    (warning,) = lines(result, "warn")
    assert "webhooks: no verified Zoom event received yet." in warning
    assert "check: everything works (1 warning(s))" in result.stdout
    for secret in secrets_of(deployment):
        assert secret not in result.stdout + result.stderr
    assert not validate_mattermost_requests(deployment.site.mm.requests[seen_mm:])
    assert not validate_zoom_requests(deployment.site.zoom.requests[seen_zoom:])


def test_verified_and_refused_deliveries_are_reported(deployment: Deployment) -> None:
    zoom = deployment.site.zoom
    refused = deployment.webhook("not-the-secret", {"event": "meeting.started"})
    assert refused.status_code == 401
    host = zoom.add_user("alice@example.com", "Alice", "Liddell")
    meeting = zoom.store_meeting(zoom.new_meeting(host, {"topic": "Standup", "type": 1}))
    event = zoom.start_meeting(int(meeting["id"]))
    secret = deployment.settings["webhook_secret"]
    url = f"{deployment.site.public_url}/webhook?secret={secret}"
    delivered = asyncio.run(zoom.deliver(url, event, ZOOM_WEBHOOK_SECRET))
    assert delivered.status_code == 200, delivered.text

    result = run_check(deployment.site.config)

    assert result.returncode == 0, result.stdout
    verified = [line for line in lines(result, "ok") if subject(line) == "webhooks"]
    assert verified and "last verified Zoom event" in verified[0], result.stdout
    (warning,) = [line for line in lines(result, "warn") if "refused webhook" in line]
    assert "?secret= query parameter is wrong or missing" in warning
    assert "Events verified since." in warning


# --- each thing that can go wrong --------------------------------------------------------

Breakage = Callable[[Deployment], AbstractContextManager[Path]]


@contextmanager
def bot_token_revoked(d: Deployment) -> Iterator[Path]:
    yield d.variant(bot_token="a-token-mattermost-never-issued")


@contextmanager
def bot_demoted(d: Deployment) -> Iterator[Path]:
    bot = d.site.bot()
    roles, bot.roles = bot.roles, "system_user"
    try:
        yield d.site.config
    finally:
        bot.roles = roles


@contextmanager
def new_team_without_command(d: Deployment) -> Iterator[Path]:
    team = d.site.mm.add_team("initech")
    try:
        yield d.site.config
    finally:
        del d.site.mm.teams[team.id]


@contextmanager
def globex_token_missing(d: Deployment) -> Iterator[Path]:
    (acme_command,) = d.site.commands(d.site.acme)
    yield d.variant(slash_command_token=acme_command["token"])


@contextmanager
def service_down(d: Deployment) -> Iterator[Path]:
    d.service.stop()
    try:
        yield d.site.config
    finally:
        d.service.start()


@contextmanager
def zoom_secret_wrong(d: Deployment) -> Iterator[Path]:
    yield d.variant(oauth_client_secret="the-secret-of-another-zoom-app")


@contextmanager
def delivery_refused(d: Deployment) -> Iterator[Path]:
    assert d.webhook("an-old-secret", {"event": "meeting.ended"}).status_code == 401
    yield d.site.config


@contextmanager
def database_without_schema(d: Deployment) -> Iterator[Path]:
    empty = d.tmp / "empty.db"
    sa.create_engine(f"sqlite:///{empty}").connect().close()  # an empty database file
    try:
        yield d.variant(database_url=f"sqlite:///{empty}")
    finally:
        empty.unlink()


@pytest.mark.parametrize(
    ("breakage", "failing", "problem", "fix"),
    [
        pytest.param(
            bot_token_revoked,
            {"bot token"},
            "Mattermost does not accept MMZOOM_BOT_TOKEN",
            "run `mattermost-zoom setup`",
            id="bad-bot-token",
        ),
        pytest.param(
            bot_demoted,
            {"bot role", "team acme", "team globex"},
            "@zoom lacks the System Admin role",
            "choose the System Admin role",
            id="bot-without-admin-role",
        ),
        pytest.param(
            new_team_without_command,
            {"team initech"},
            "no /zoom command, so /zoom does nothing in this team",
            "run `mattermost-zoom setup --team initech`",
            id="team-without-command",
        ),
        pytest.param(
            globex_token_missing,
            {"team globex"},
            "/zoom's token is not in MMZOOM_SLASH_COMMAND_TOKEN",
            "run `mattermost-zoom setup --team globex`",
            id="command-token-not-accepted",
        ),
        pytest.param(
            service_down,
            {"public URL"},
            "cannot reach",
            "start `mattermost-zoom serve`",
            id="service-down",
        ),
        pytest.param(
            zoom_secret_wrong,
            {"Zoom app credentials"},
            "Zoom refuses MMZOOM_OAUTH_CLIENT_ID or MMZOOM_OAUTH_CLIENT_SECRET",
            "copy both again from the App Credentials page",
            id="bad-zoom-secret",
        ),
        pytest.param(
            delivery_refused,
            {"refused webhook"},
            "the ?secret= query parameter is wrong or missing",
            "the endpoint URLs in the Zoom app must end with ?secret=",
            id="webhook-refused",
        ),
        pytest.param(
            database_without_schema,
            {"database"},
            "has no schema yet",
            "run `mattermost-zoom migrate`",
            id="database-not-migrated",
        ),
    ],
)
def test_each_problem_is_named_with_its_fix(
    deployment: Deployment, breakage: Breakage, failing: set[str], problem: str, fix: str
) -> None:
    with breakage(deployment) as config:
        result = run_check(config)

    assert result.returncode == 1, result.stdout + result.stderr
    failures = lines(result, "FAIL")
    assert {subject(line) for line in failures} == failing, result.stdout
    named = [line for line in failures if problem in line]
    assert named, f"no FAIL line says {problem!r}:\n{result.stdout}"
    assert all("Fix: " in line for line in failures)
    assert fix in named[0].split("Fix: ", 1)[1]
    for secret in secrets_of(deployment):
        assert secret not in result.stdout + result.stderr


def test_team_option_checks_only_those_teams(deployment: Deployment) -> None:
    with new_team_without_command(deployment) as config:
        chosen = run_check(config, "--team", "acme", "--team", "globex")
        everywhere = run_check(config)

    assert chosen.returncode == 0, chosen.stdout
    assert "initech" not in chosen.stdout
    assert {subject(line) for line in lines(everywhere, "FAIL")} == {"team initech"}


def test_bad_configuration_exits_2_with_the_settings_to_fix(tmp_path: Path) -> None:
    config = tmp_path / "broken.toml"
    config.write_text('mattermost_url = "chat.example.com"\n')

    result = run_check(config)

    assert result.returncode == 2
    assert "MMZOOM_MATTERMOST_URL must be an http:// or https:// URL" in result.stderr
    assert "MMZOOM_BOT_TOKEN is not set" in result.stderr
