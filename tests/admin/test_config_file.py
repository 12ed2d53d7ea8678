"""The configuration file `setup` writes: what `serve` reads back, and private."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from mattermost_zoom.admin import config_file
from mattermost_zoom.config import load_settings


def test_render_reads_back_the_same_values_even_odd_ones() -> None:
    values = {
        "mattermost_url": "https://chat.example.com",
        "bot_token": 'quote " backslash \\ tab \t del \x7f newline \n é',
        "worker_lease_seconds": 45,
        "restrict_meeting_creation": True,
        "custom_unknown": "kept",
    }
    assert tomllib.loads(config_file.render(values)) == values


def test_render_orders_settings_like_the_readme() -> None:
    text = config_file.render({"webhook_secret": "w" * 20, "mattermost_url": "https://x.io"})
    assert text.index("mattermost_url") < text.index("webhook_secret")


def test_render_refuses_values_a_setting_cannot_have() -> None:
    with pytest.raises(config_file.ConfigFileError, match="cannot write setting teams"):
        config_file.render({"teams": ["a", "b"]})


def test_written_file_is_private_and_serve_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "mz.toml"
    path.write_text("old = 1\n")
    path.chmod(0o666)
    previous = os.umask(0)
    try:
        config_file.write_private(
            path,
            config_file.render(
                {
                    "mattermost_url": "https://chat.example.com",
                    "bot_token": "b",
                    "slash_command_token": "s1,s2",
                    "oauth_client_id": "c",
                    "oauth_client_secret": "cs",
                    "encryption_key": "k" * 40,
                    "webhook_secret": "w" * 20,
                }
            ),
        )
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o600
    assert config_file.is_private(path)
    settings = load_settings(path, environ={})
    assert settings.slash_command_tokens == ("s1", "s2")
    assert settings.public_url == "https://chat.example.com/plugins/zoom"
    assert [p.name for p in tmp_path.iterdir()] == ["mz.toml"], "no temporary file left"


def test_read_normalises_prefixed_names_and_reports_bad_toml(tmp_path: Path) -> None:
    path = tmp_path / "mz.toml"
    assert config_file.read(path) == {}
    path.write_text('MMZOOM_BOT_TOKEN = "b"\n')
    assert config_file.read(path) == {"bot_token": "b"}
    path.write_text("bot_token = \n")
    with pytest.raises(config_file.ConfigFileError, match="not valid TOML"):
        config_file.read(path)
