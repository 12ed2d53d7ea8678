"""Configuration: a contract of variable names, and one clear line per problem."""

from pathlib import Path

import pytest

from mattermost_zoom.config import ConfigError, load_settings

VALID = {
    "MMZOOM_MATTERMOST_URL": "https://chat.example.com/",
    "MMZOOM_BOT_TOKEN": "bot-token-value",
    "MMZOOM_SLASH_COMMAND_TOKEN": "team-a-token, team-b-token",
    "MMZOOM_OAUTH_CLIENT_ID": "client-id",
    "MMZOOM_OAUTH_CLIENT_SECRET": "client-secret-value",
    "MMZOOM_ENCRYPTION_KEY": "k" * 32,
    "MMZOOM_WEBHOOK_SECRET": "w" * 24,
}


def test_defaults_follow_the_plugin() -> None:
    settings = load_settings(environ=VALID)
    assert settings.mattermost_url == "https://chat.example.com"
    assert settings.public_url == "https://chat.example.com/plugins/zoom"
    assert settings.public_path == "/plugins/zoom"
    assert settings.oauth_redirect_url == "https://chat.example.com/plugins/zoom/oauth2/complete"
    assert settings.zoom_url == "https://zoom.us"
    assert settings.zoom_api_url == "https://api.zoom.us/v2"
    assert settings.slash_command_tokens == ("team-a-token", "team-b-token")
    assert settings.restrict_meeting_creation is False
    assert settings.database_url.startswith("sqlite")


def test_every_problem_is_one_line_naming_the_variable() -> None:
    env = dict(VALID)
    del env["MMZOOM_BOT_TOKEN"]
    env["MMZOOM_ENCRYPTION_KEY"] = "too-short"
    env["MMZOOM_MATTERMOST_URL"] = "chat.example.com"
    env["MMZOOM_RESTRICT_MEETING_CREATION"] = "perhaps"
    env["MMZOOM_ZOOM_URL_TYPO"] = "x"
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    problems = caught.value.problems
    assert len(problems) == 5
    by_name = {p.split()[0]: p for p in problems}
    assert "is not set" in by_name["MMZOOM_BOT_TOKEN"]
    assert "32" in by_name["MMZOOM_ENCRYPTION_KEY"]
    assert "http" in by_name["MMZOOM_MATTERMOST_URL"]
    assert "true or false" in by_name["MMZOOM_RESTRICT_MEETING_CREATION"]
    assert "not a known setting" in by_name["MMZOOM_ZOOM_URL_TYPO"]


def test_problems_never_echo_secret_values() -> None:
    env = dict(VALID, MMZOOM_ENCRYPTION_KEY="hunter2-secret", MMZOOM_WEBHOOK_SECRET="tiny")
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=env)
    assert "hunter2-secret" not in str(caught.value)
    assert "tiny" not in str(caught.value)


def test_toml_file_with_environment_overrides(tmp_path: Path) -> None:
    config = tmp_path / "zoom.toml"
    config.write_text(
        'mattermost_url = "https://file.example.com"\nrestrict_meeting_creation = true\n'
    )
    env = {k: v for k, v in VALID.items() if k != "MMZOOM_MATTERMOST_URL"}
    settings = load_settings(config, environ=env)
    assert settings.mattermost_url == "https://file.example.com"
    assert settings.restrict_meeting_creation is True
    settings = load_settings(config, environ=dict(env, MMZOOM_RESTRICT_MEETING_CREATION="false"))
    assert settings.restrict_meeting_creation is False


def test_public_url_can_be_elsewhere() -> None:
    settings = load_settings(environ=dict(VALID, MMZOOM_PUBLIC_URL="https://zoom.example.com/"))
    assert settings.public_path == ""
    assert settings.oauth_redirect_url == "https://zoom.example.com/oauth2/complete"
