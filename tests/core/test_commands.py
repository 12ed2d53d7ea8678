"""Parsing what users type after /zoom."""

import pytest

from mattermost_zoom.core import commands


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start", commands.Start(topic="")),
        ("start   Weekly   sync ", commands.Start(topic="Weekly sync")),
        ("START Retro", commands.Start(topic="Retro")),
        ("connect", commands.Connect()),
        ("disconnect", commands.Disconnect()),
        ("settings", commands.Settings()),
        ("help", commands.Help()),
        ("", commands.Help()),
        ("   ", commands.Help()),
        ("launch", commands.Unknown(word="launch")),
    ],
)
def test_parse(text: str, expected: commands.Command) -> None:
    assert commands.parse(text) == expected


def test_arguments_to_argumentless_commands_are_refused() -> None:
    result = commands.parse("connect now")
    assert isinstance(result, commands.Invalid)
    assert "/zoom connect" in result.reason


def test_topic_longer_than_zoom_allows_is_refused() -> None:
    result = commands.parse("start " + "x" * 201)
    assert isinstance(result, commands.Invalid)
    assert "200" in result.reason


def test_help_hides_connect_from_non_admins_with_an_account_level_app() -> None:
    user = commands.allowed_entries(is_system_admin=False, account_level_app=True)
    admin = commands.allowed_entries(is_system_admin=True, account_level_app=True)
    assert "/zoom connect" not in [e.usage for e in user]
    assert "/zoom connect" in [e.usage for e in admin]
    assert "/zoom start [topic]" in [e.usage for e in user]
