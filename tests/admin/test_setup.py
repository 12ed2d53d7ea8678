"""`mattermost-zoom setup` as an admin runs it: a fresh Mattermost ends with a bot,
a token, a /zoom command in every team and a private configuration file that
`serve` accepts; running it again changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mattermost_zoom.simulators.mattermost_admin_api import BotRecord, admin_state
from mattermost_zoom.simulators.sandbox import ZOOM_WEBHOOK_SECRET
from tests.admin.deployments import Site, fresh_site, mode, run_cli, run_setup, zoom_app_args
from tests.processes import ServiceProcess

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with fresh_site(tmp_path, f"sqlite:///{tmp_path / 'mmzoom.db'}") as s:
        yield s


def test_fresh_mattermost_gets_bot_token_and_commands_and_serve_accepts_the_file(
    tmp_path: Path, database_url: str
) -> None:
    with fresh_site(tmp_path, database_url) as site:
        key = "an-encryption-key-the-admin-chose-0123456789"
        site.config.write_text(site.config.read_text() + f'encryption_key = "{key}"\n')
        site.config.chmod(0o644)  # as an editor left it: world-readable

        result = run_setup(site, *zoom_app_args(site), umask=0)

        assert result.returncode == 0, result.stdout + result.stderr
        out = result.stdout
        assert "bot @zoom: created" in out
        assert "bot @zoom: given the System Admin role" in out
        assert "bot @zoom: access token created" in out
        assert "team acme: /zoom registered" in out
        assert "team globex: /zoom registered" in out
        assert "Zoom app credentials: Zoom accepts them" in out
        # What to enter in the Zoom app, with this deployment's URLs.
        settings = site.settings_file()
        secret = settings["webhook_secret"]
        assert f"{site.public_url}/oauth2/complete" in out
        assert f"{site.public_url}/webhook?secret={secret}" in out
        assert f"{site.public_url}/deauthorization?secret={secret}" in out
        assert "meeting.ended" in out and "meeting:write:meeting" in out

        bot = site.bot()
        assert "system_admin" in bot.roles.split()
        assert admin_state(site.mm).bots[bot.id].owner_id == site.admin.id
        for team in (site.acme, site.globex):
            (command,) = [c for c in site.commands(team) if c["trigger"] == "zoom"]
            assert command["url"] == f"{site.public_url}/command"
            assert command["method"] == "P"
            assert command["auto_complete"] is True
            assert command["auto_complete_hint"] == "[command]"
            assert command["token"] in settings["slash_command_token"].split(",")

        # The file: private whatever the umask, the admin's values kept, the rest set.
        assert mode(site.config) == 0o600
        assert settings["encryption_key"] == key
        assert settings["database_url"] == database_url
        assert settings["zoom_url"] == site.zoom.url
        assert site.mm.user_for_token(settings["bot_token"]) == bot
        assert len(settings["webhook_secret"]) >= 16
        assert settings["oauth_client_id"] == site.app.client_id
        assert settings["zoom_webhook_secret"] == ZOOM_WEBHOOK_SECRET

        for secret_value in (site.admin_token, settings["bot_token"], site.app.client_secret):
            assert secret_value not in out + result.stderr

        service = ServiceProcess(
            {}, site.port, tmp_path / "serve.log", args=["--config", str(site.config)]
        ).start()
        try:
            for channel in (site.town_square, site.general):
                answer = site.mm.run_command_sync(site.alice.id, channel.id, "/zoom help")
                assert answer.error is None, answer.error
                assert "#### Zoom commands" in answer.ephemeral_posts[-1]["message"]
        finally:
            service.stop()
        assert not site.spec_violations(), site.spec_violations()


def test_running_setup_again_changes_nothing(site: Site) -> None:
    first = run_setup(site, *zoom_app_args(site))
    assert first.returncode == 0, first.stdout + first.stderr
    written = site.config.read_bytes()
    command_ids = {t.name: [c["id"] for c in site.commands(t)] for t in (site.acme, site.globex)}
    tokens_before = dict(site.mm.tokens)
    seen = len(site.mm.requests)

    again = run_setup(site, *zoom_app_args(site))

    assert again.returncode == 0, again.stdout + again.stderr
    assert "bot @zoom: exists" in again.stdout
    assert "bot @zoom: has the System Admin role" in again.stdout
    assert "access token in" in again.stdout and "works; kept" in again.stdout
    assert "team acme: /zoom already registered; kept" in again.stdout
    assert "team globex: /zoom already registered; kept" in again.stdout
    assert "already up to date" in again.stdout
    changes = [f"{r.method} {r.path}" for r in site.mm.requests[seen:] if r.method in WRITES]
    assert changes == [], "the second run changed something in Mattermost"
    assert site.mm.tokens == tokens_before, "no new access token"
    assert site.config.read_bytes() == written
    assert mode(site.config) == 0o600
    assert {
        t.name: [c["id"] for c in site.commands(t)] for t in (site.acme, site.globex)
    } == command_ids
    assert not site.spec_violations(), site.spec_violations()


def test_team_option_registers_only_there_and_keeps_other_teams_tokens(site: Site) -> None:
    first = run_setup(site, "--team", "acme")

    assert first.returncode == 0, first.stdout + first.stderr
    assert "team acme: /zoom registered" in first.stdout
    assert "globex" not in first.stdout
    assert site.commands(site.globex) == []
    (acme_command,) = site.commands(site.acme)
    assert site.settings_file()["slash_command_token"] == acme_command["token"]

    second = run_setup(site, "--team", "globex")

    assert second.returncode == 0, second.stdout + second.stderr
    assert "team globex: /zoom registered" in second.stdout
    (globex_command,) = site.commands(site.globex)
    assert site.commands(site.acme) == [acme_command]
    tokens = site.settings_file()["slash_command_token"].split(",")
    assert tokens == [acme_command["token"], globex_command["token"]]

    unknown = run_setup(site, "--team", "initech")
    assert unknown.returncode == 1
    assert "team initech: no such team." in unknown.stdout


def test_a_token_that_stopped_working_is_replaced(site: Site) -> None:
    assert run_setup(site).returncode == 0
    old = site.settings_file()["bot_token"]
    del site.mm.tokens[old]  # revoked in the System Console

    result = run_setup(site)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "access token created (the one in the file no longer worked)" in result.stdout
    new = site.settings_file()["bot_token"]
    assert new != old
    assert site.mm.user_for_token(new) == site.bot()


def test_bot_left_disabled_is_enabled_and_given_the_role(site: Site) -> None:
    # e.g. the Go plugin's bot, disabled when the plugin was removed.
    bot, _ = site.mm.add_bot("zoom")
    admin_state(site.mm).bots[bot.id] = BotRecord(
        user_id=bot.id,
        owner_id="zoom",
        display_name="Zoom",
        description="",
        create_at=bot.create_at,
        update_at=bot.create_at,
        delete_at=bot.create_at,
    )

    result = run_setup(site)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "bot @zoom: existed but was disabled; enabled again" in result.stdout
    assert "given the System Admin role" in result.stdout
    assert admin_state(site.mm).bots[bot.id].delete_at == 0
    assert site.mm.user_for_token(site.settings_file()["bot_token"]) == bot
    assert "system_admin" in bot.roles.split()


def test_bot_accounts_turned_off_says_where_to_turn_them_on(site: Site) -> None:
    admin_state(site.mm).enable_bot_account_creation = False  # Mattermost's default
    before = site.config.read_text()

    result = run_setup(site)

    assert result.returncode == 1
    assert "Mattermost does not allow creating bot accounts" in result.stdout
    assert "Enable Bot Account Creation" in result.stdout
    assert site.config.read_text() == before, "nothing written"
    assert site.mm.commands == []


def test_another_zoom_command_is_left_alone_and_reported(site: Site) -> None:
    site.mm.register_command(site.acme.id, url="https://meet.example.com/slash")

    result = run_setup(site)

    assert result.returncode == 1
    assert (
        "team acme: another /zoom command (POST https://meet.example.com/slash) exists; "
        "left alone." in result.stdout
    )
    assert f"point it at {site.public_url}/command" in result.stdout
    assert [c["url"] for c in site.commands(site.acme)] == ["https://meet.example.com/slash"]
    assert "team globex: /zoom registered" in result.stdout
    (globex_command,) = site.commands(site.globex)
    assert site.settings_file()["slash_command_token"] == globex_command["token"]


def test_wrong_zoom_secret_is_refused_and_not_written(site: Site) -> None:
    result = run_setup(
        site,
        "--zoom-client-id",
        site.app.client_id,
        "--zoom-client-secret",
        "a-secret-from-another-app",
    )

    assert result.returncode == 1
    assert "Zoom app credentials: Zoom refuses" in result.stdout
    assert "They were not written." in result.stdout
    assert "App Credentials page" in result.stdout
    assert "a-secret-from-another-app" not in result.stdout + result.stderr
    settings = site.settings_file()
    assert "oauth_client_secret" not in settings
    assert settings["bot_token"], "the rest was set up"
    assert "MMZOOM_OAUTH_CLIENT_SECRET is not set" in result.stdout  # still to do
    assert not site.spec_violations(), site.spec_violations()


def test_admin_token_is_required_and_must_be_a_system_admins(site: Site) -> None:
    refused = run_setup(site, token="not-a-token-of-this-server")
    assert refused.returncode == 1
    assert "admin token: Mattermost does not accept it." in refused.stdout
    assert "not-a-token-of-this-server" not in refused.stdout + refused.stderr

    alice_token = site.mm.add_token(site.alice.id)
    not_admin = run_setup(site, token=alice_token)
    assert not_admin.returncode == 1
    assert "@alice is not a system admin" in not_admin.stdout
    assert site.mm.commands == [] and not any(u.is_bot for u in site.mm.users.values())

    missing = run_cli("setup", "--mattermost-url", site.mm.url, "--write-config", str(site.config))
    assert missing.returncode == 2
    assert "MMZOOM_SETUP_ADMIN_TOKEN" in missing.stderr


def test_the_setup_token_variable_does_not_upset_other_commands(site: Site) -> None:
    """An admin who exported the token for setup can still run the service."""
    assert run_setup(site, *zoom_app_args(site)).returncode == 0
    result = run_cli(
        "migrate",
        "--config",
        str(site.config),
        env={"MMZOOM_SETUP_ADMIN_TOKEN": site.admin_token},
    )
    assert result.returncode == 0, result.stderr
    assert "not a known setting" not in result.stderr
