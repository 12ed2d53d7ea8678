"""Help, unknown commands, health, and secrets that never reach a log or a page."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.harness import World


def test_help_lists_the_commands(world: World) -> None:
    message = world.run(world.alice, world.town_square, "/zoom help").ephemeral_posts[-1]["message"]
    for usage in ("/zoom start [topic]", "/zoom connect", "/zoom disconnect", "/zoom settings"):
        assert usage in message


def test_unknown_subcommand_gets_an_error_and_the_help(world: World) -> None:
    reply = world.run(world.alice, world.town_square, "/zoom launch").ephemeral_posts[-1]
    assert "`/zoom launch` is not a Zoom command" in reply["message"]
    assert "/zoom start [topic]" in reply["message"]


def test_replies_to_commands_are_only_visible_to_the_user(world: World) -> None:
    world.run(world.alice, world.town_square, "/zoom help")
    assert world.posts(world.town_square) == []
    assert world.ephemerals(world.bob, world.town_square) == []


def test_healthz(world: World) -> None:
    response = httpx.get(f"{world.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_no_secret_or_token_reaches_a_log_line(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.connect(world.alice, world.alice_zoom)
    world.run(world.alice, world.town_square, "/zoom start")
    question = world.wait_for_ephemeral(world.alice, world.town_square, "Which meeting ID")
    world.click(world.alice, question, "Use a Unique Meeting ID")
    world.wait_for_card(world.town_square)
    world.let_tokens_expire(world.alice, world.alice_zoom)
    world.zoom.revoke(world.alice_zoom.id)
    world.run(world.alice, world.private, "/zoom start")
    world.wait_for_ephemeral(world.alice, world.private, "no longer accepts")
    httpx.get(f"{world.url}/oauth2/complete?state=s3cr3t-state&code=s3cr3t-code")

    secrets = {
        world.env["MMZOOM_BOT_TOKEN"],
        world.env["MMZOOM_OAUTH_CLIENT_SECRET"],
        world.env["MMZOOM_ENCRYPTION_KEY"],
        world.env["MMZOOM_WEBHOOK_SECRET"],
        *world.env["MMZOOM_SLASH_COMMAND_TOKEN"].split(","),
        *world.zoom.access_tokens,
        *world.zoom.refresh_tokens,
        *world.zoom.codes,
        "s3cr3t-state",
        "s3cr3t-code",
    }
    assert len(secrets) > 8
    # Only what the service itself logged: it runs on its own server thread.
    service_thread = f"uvicorn-{world.servers[-1].port}"
    records = [r for r in caplog.records if r.threadName == service_thread]
    assert any(r.name.startswith("mattermost_zoom") for r in records)
    logged = "".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    leaked = [s for s in secrets if s and s in logged]
    assert leaked == []
