"""The Mattermost driver calls the integration exactly as Mattermost does and
applies the answers the same way."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.responses import JSONResponse, PlainTextResponse

from mattermost_zoom.simulators import MattermostSimulator
from mattermost_zoom.simulators.mattermost_model import Channel, Command, Team, User


@dataclass
class Env:
    team: Team
    alice: User
    bob: User
    bot: User
    token: str
    town: Channel
    command: Command


@pytest.fixture
def env(mm: MattermostSimulator, integration: Any) -> Env:
    team = mm.add_team("acme")
    alice = mm.add_user("alice")
    bob = mm.add_user("bob")
    bot, token = mm.add_bot("zoom", system_admin=True)
    town = mm.add_channel(team, "O", "town-square", [alice, bob, bot])
    command = mm.register_command(
        team.id, "zoom", url=integration.url + "/command", token="cmdtoken"
    )
    return Env(team, alice, bob, bot, token, town, command)


# ------------------------------------------------------------------ slash commands


def test_slash_command_request_matches_mattermost(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json("/command", {"text": "ok"})
    mm.run_command_sync(env.alice.id, env.town.id, "start @bob")
    got = integration.last("/command")
    assert got.method == "POST"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert got.headers["accept"] == "application/json"
    assert got.headers["authorization"] == "Token cmdtoken"
    form = got.form()
    assert list(form) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "trigger_id", "root_id", "user_mentions", "user_mentions_ids",
        "response_url",
    ]  # fmt: skip
    assert (
        form["token"] == "cmdtoken" and form["command"] == "/zoom" and form["text"] == "start @bob"
    )
    assert form["team_domain"] == "acme" and form["channel_name"] == "town-square"
    assert form["user_name"] == "alice" and form["user_mentions_ids"] == env.bob.id
    assert form["response_url"].startswith(mm.url + "/hooks/commands/")


def test_ephemeral_and_in_channel_responses(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json("/command", {"text": "only you see this"})
    result = mm.run_command_sync(env.alice.id, env.town.id, "/zoom help")
    assert result.status_code == 200 and result.posts == []
    assert [p["message"] for p in result.ephemeral_posts] == ["only you see this"]
    assert mm.visible_posts(env.town.id, env.bob.id) == []

    integration.reply_json(
        "/command",
        {
            "response_type": "in_channel",
            "text": "meeting started",
            "props": {"meeting_id": 1},
            "extra_responses": [{"text": "also this, privately"}],
            "goto_location": "https://zoom.test/j/1",
        },
    )
    result = mm.run_command_sync(env.alice.id, env.town.id, "start")
    post = result.posts[0]
    assert post["user_id"] == env.alice.id  # posted as the user who ran it
    assert post["props"] == {"meeting_id": 1, "from_webhook": "true"}
    assert [p["message"] for p in result.ephemeral_posts] == ["also this, privately"]
    assert result.goto_location == "https://zoom.test/j/1"
    assert [p["message"] for p in mm.visible_posts(env.town.id, env.bob.id)] == ["meeting started"]


def test_plain_text_and_failing_responses(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply("/command", lambda _r: PlainTextResponse("plain words"))
    result = mm.run_command_sync(env.alice.id, env.town.id, "x")
    assert [p["message"] for p in result.ephemeral_posts] == ["plain words"]

    integration.reply_json("/command", {"text": "boom"}, status=500)
    result = mm.run_command_sync(env.alice.id, env.town.id, "x")
    assert result.error == "Command with a trigger of '/zoom' returned response 500."
    assert result.ephemeral_posts == []


def test_response_url_posts_later(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    integration.reply_json("/command", {})
    result = mm.run_command_sync(env.alice.id, env.town.id, "x")
    url = result.request["response_url"]
    resp = httpx.post(url, json={"response_type": "in_channel", "text": "later"})
    assert resp.status_code == 200
    assert [p["message"] for p in mm.visible_posts(env.town.id, env.bob.id)] == ["later"]
    for _ in range(4):
        httpx.post(url, json={"text": "again"})
    assert httpx.post(url, json={"text": "sixth"}).status_code == 400  # 5 uses at most


# ------------------------------------------------------------------ buttons


def button_post(
    mm: MattermostSimulator, env: Env, url: str, action_id: str = "join"
) -> dict[str, Any]:
    props = {
        "override_username": "Zoom",
        "attachments": [
            {
                "title": "Meeting",
                "actions": [
                    {
                        "id": action_id,
                        "type": "button",
                        "name": "Join",
                        "integration": {"url": url, "context": {"meeting_id": 42}},
                    }
                ],
            }
        ],
    }
    return mm.create_post(env.bot.id, env.town.id, "Meeting started", props=props)


def test_click_sends_mattermost_body(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    integration.reply_json("/action", {})
    post = button_post(mm, env, integration.url + "/action")
    result = mm.click_sync(env.alice.id, post["id"], "Join")
    assert result.api_status == 200 and result.status_code == 200
    got = integration.last("/action")
    assert got.headers["content-type"] == "application/json"
    body = got.json()
    assert list(body) == [
        "user_id", "user_name", "channel_id", "channel_name", "team_id", "team_domain",
        "post_id", "trigger_id", "type", "data_source", "context",
    ]  # fmt: skip
    assert body["user_name"] == "alice" and body["team_domain"] == "acme"
    assert body["post_id"] == post["id"] and body["type"] == "button" and body["data_source"] == ""
    assert body["context"] == {"meeting_id": 42} and body["trigger_id"]


def test_click_update_replaces_message_and_props(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json(
        "/action",
        {
            "update": {"message": "Meeting ended", "props": {"attachments": []}},
            "ephemeral_text": "done",
        },
    )
    post = button_post(mm, env, integration.url + "/action")
    result = mm.click_sync(env.alice.id, post["id"], "join")
    updated = mm.posts[post["id"]]
    assert updated["message"] == "Meeting ended" and updated["edit_at"] > 0
    assert updated["props"]["attachments"] == []
    assert updated["props"]["override_username"] == "Zoom"  # retained from the original
    assert result.updated_post is not None
    assert [p["message"] for p in result.ephemeral_posts] == ["done"]
    assert [p["message"] for p in mm.visible_posts(env.town.id, env.bob.id)] == ["Meeting ended"]


def test_update_without_message_blanks_it(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json("/action", {"update": {"props": {"x": 1}}})
    post = button_post(mm, env, integration.url + "/action")
    mm.click_sync(env.alice.id, post["id"], "join")
    assert mm.posts[post["id"]]["message"] == ""


def test_update_on_ephemeral_post_fails(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json("/action", {"update": {"message": "changed"}, "ephemeral_text": "x"})
    props = {
        "attachments": [
            {
                "actions": [
                    {"id": "ok", "name": "OK", "integration": {"url": integration.url + "/action"}}
                ]
            }
        ]
    }
    shown = mm.send_ephemeral(env.alice.id, env.town.id, "pick", author_id=env.bot.id, props=props)
    result = mm.click_sync(env.alice.id, shown["id"], "OK")
    assert result.status_code == 200  # the integration was called ...
    assert result.api_status == 404 and result.error is not None  # ... but the update failed
    assert [p["message"] for p in mm.visible_posts(env.town.id, env.alice.id)] == ["pick"]


def test_action_ids_must_be_alphanumeric(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    integration.reply_json("/action", {})
    post = button_post(mm, env, integration.url + "/action", action_id="join_meeting")
    result = mm.click_sync(env.alice.id, post["id"], "join_meeting")
    assert result.api_status == 404 and result.status_code is None
    assert integration.received == []


def test_failing_integration(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    integration.reply_json("/action", {"ephemeral_text": "nope"}, status=500)
    post = button_post(mm, env, integration.url + "/action")
    result = mm.click_sync(env.alice.id, post["id"], "join")
    assert result.api_status == 400 and result.status_code == 500 and result.ephemeral_posts == []


# ------------------------------------------------------------------ dialogs


def dialog_spec(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "trigger_id": "",
        "url": url,
        "dialog": {
            "callback_id": "cb1",
            "title": "Schedule",
            "state": "st",
            "elements": [
                {"name": "topic", "display_name": "Topic", "type": "text"},
                {
                    "name": "record",
                    "display_name": "Record",
                    "type": "bool",
                    "default": "true",
                    "optional": True,
                },
            ],
            **extra,
        },
    }


def open_dialog_from_command(
    mm: MattermostSimulator, env: Env, integration: Any, **extra: Any
) -> None:
    def on_command(req: Any) -> JSONResponse:
        body = dialog_spec(integration.url + "/dialog", **extra)
        body["trigger_id"] = req.form()["trigger_id"]
        resp = httpx.post(mm.url + "/api/v4/actions/dialogs/open", json=body)
        assert resp.status_code == 200, resp.text
        return JSONResponse({})

    integration.reply("/command", on_command)
    mm.run_command_sync(env.alice.id, env.town.id, "schedule")


def test_dialog_open_and_submit(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    open_dialog_from_command(mm, env, integration)
    dialog = mm.last_dialog(env.alice.id)
    assert dialog.dialog["title"] == "Schedule" and dialog.channel_id == env.town.id

    missing = mm.submit_dialog_sync(env.alice.id, dialog, {})
    assert missing.client_errors == {"topic": "This field is required."}
    assert not [r for r in integration.received if r.path == "/dialog"]

    integration.reply_json("/dialog", {"errors": {"topic": "too short"}})
    result = mm.submit_dialog_sync(env.alice.id, dialog, {"topic": "x"})
    assert result.errors == {"topic": "too short"} and not result.closed
    body = integration.last("/dialog").json()
    assert body == {
        "type": "dialog_submission",
        "callback_id": "cb1",
        "state": "st",
        "user_id": env.alice.id,
        "channel_id": env.town.id,
        "team_id": env.team.id,
        "submission": {"topic": "x", "record": True},
        "cancelled": False,
    }

    integration.reply_json("/dialog", {})
    assert mm.submit_dialog_sync(env.alice.id, dialog, {"topic": "Weekly"}).closed
    assert mm.open_dialogs(env.alice.id) == []


def test_dialog_cancel_notifies_only_when_asked(
    mm: MattermostSimulator, env: Env, integration: Any
) -> None:
    open_dialog_from_command(mm, env, integration)
    result = mm.submit_dialog_sync(env.alice.id, mm.last_dialog(env.alice.id), {}, cancelled=True)
    assert result.closed and result.status_code is None

    open_dialog_from_command(mm, env, integration, notify_on_cancel=True)
    integration.reply_json("/dialog", {})
    result = mm.submit_dialog_sync(env.alice.id, mm.last_dialog(env.alice.id), {}, cancelled=True)
    sent = integration.last("/dialog").json()
    assert sent["cancelled"] is True and sent["submission"] is None and result.closed


def test_dialog_trigger_id_validity(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    url = mm.url + "/api/v4/actions/dialogs/open"
    bad = httpx.post(url, json={**dialog_spec(integration.url + "/d"), "trigger_id": "bogus"})
    assert bad.status_code == 400

    trigger = mm.issue_trigger(env.alice.id, env.town.id, env.team.id)
    mm.trigger_ttl = 0.05
    time.sleep(0.1)
    expired = httpx.post(url, json={**dialog_spec(integration.url + "/d"), "trigger_id": trigger})
    assert expired.status_code == 400
    assert expired.json()["id"] == "interactive_message.decode_trigger_id.expired"


def test_render_and_visible_posts(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    post = button_post(mm, env, integration.url + "/action")
    mm.send_ephemeral(env.alice.id, env.town.id, "hint", author_id=env.bot.id)
    shown = mm.visible_posts(env.town.id, env.alice.id)
    assert [p["id"] for p in shown] == [post["id"], shown[1]["id"]]
    text = "\n".join(mm.render(p) for p in shown)
    assert "Zoom: Meeting started" in text and "| Meeting" in text and "[Join]" in text
    assert "zoom: hint  (only visible to you)" in text


def test_click_needs_read_access(mm: MattermostSimulator, env: Env, integration: Any) -> None:
    integration.reply_json("/action", {})
    secret = mm.add_channel(env.team, "P", "secret", [env.bot])
    props = {
        "attachments": [
            {
                "actions": [
                    {"id": "go", "name": "Go", "integration": {"url": integration.url + "/action"}}
                ]
            }
        ]
    }
    post = mm.create_post(env.bot.id, secret.id, "private", props=props)
    result = mm.click_sync(env.alice.id, post["id"], "Go")
    assert result.api_status == 403 and integration.received == []
