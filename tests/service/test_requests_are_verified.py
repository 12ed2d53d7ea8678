"""Every request into the service is checked before it changes anything."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import World


def command_form(world: World, **overrides: str) -> dict[str, str]:
    form = {
        "token": world.env["MMZOOM_SLASH_COMMAND_TOKEN"].split(",")[0],
        "team_id": world.team.id,
        "team_domain": world.team.name,
        "channel_id": world.town_square.id,
        "channel_name": world.town_square.name,
        "user_id": world.alice.id,
        "user_name": "alice",
        "command": "/zoom",
        "text": "disconnect",
        "trigger_id": "x",
        "response_url": "http://127.0.0.1:9/hooks/commands/x",
    }
    form.update(overrides)
    return form


def test_slash_command_with_a_wrong_token_is_rejected(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    response = httpx.post(f"{world.url}/command", data=command_form(world, token="guess"))
    assert response.status_code == 401
    # Still connected: the forged disconnect changed nothing.
    again = world.run(world.alice, world.town_square, "/zoom connect")
    assert "already connected" in again.ephemeral_posts[-1]["message"]


def test_each_teams_token_is_accepted(world: World) -> None:
    result = world.run(world.alice, world.other_team_channel, "/zoom help")
    assert "Zoom commands" in result.ephemeral_posts[-1]["message"]


def test_slash_command_missing_fields_is_a_bad_request(world: World) -> None:
    form = command_form(world)
    del form["user_id"]
    response = httpx.post(f"{world.url}/command", data=form)
    assert response.status_code == 400
    assert "user_id" in response.json()["error"]


def test_slash_command_must_be_form_encoded(world: World) -> None:
    response = httpx.post(f"{world.url}/command", json=command_form(world))
    assert response.status_code == 415


def settings_prompt(world: World) -> dict[str, Any]:
    world.run(world.alice, world.town_square, "/zoom settings")
    return world.ephemerals(world.alice, world.town_square)[-1]


def action(prompt: dict[str, Any], name: str) -> dict[str, Any]:
    for attachment in prompt["props"]["attachments"]:
        for candidate in attachment.get("actions", []):
            if candidate["name"] == name:
                return dict(candidate["integration"])
    raise AssertionError(f"no button {name!r}")


def click_as(world: World, integration: dict[str, Any], user_id: str) -> httpx.Response:
    body = {
        "user_id": user_id,
        "user_name": "someone",
        "channel_id": world.town_square.id,
        "team_id": world.team.id,
        "post_id": "p",
        "trigger_id": "t",
        "type": "button",
        "context": integration["context"],
    }
    return httpx.post(integration["url"], json=body)


def saved_choice_shown(world: World) -> str:
    world.run(world.alice, world.town_square, "/zoom settings")
    return str(world.ephemerals(world.alice, world.town_square)[-1]["message"])


def test_button_clicked_by_another_user_is_forbidden(world: World) -> None:
    integration = action(settings_prompt(world), "Use Personal Meeting ID")
    response = click_as(world, integration, world.bob.id)
    assert response.status_code == 403
    assert "Ask each time" in saved_choice_shown(world)


def test_tampered_button_context_is_forbidden(world: World) -> None:
    integration = action(settings_prompt(world), "Use Personal Meeting ID")
    signed = integration["context"]["signed"]
    integration["context"] = {"signed": signed[:-2] + ("xy" if not signed.endswith("xy") else "zw")}
    assert click_as(world, integration, world.alice.id).status_code == 403
    integration["context"] = {"choice": "pmi"}
    assert click_as(world, integration, world.alice.id).status_code == 403
    assert "Ask each time" in saved_choice_shown(world)


def test_button_context_replayed_at_another_action_is_forbidden(world: World) -> None:
    integration = action(settings_prompt(world), "Use Personal Meeting ID")
    integration["url"] = integration["url"].replace("/actions/settings", "/actions/start")
    assert click_as(world, integration, world.alice.id).status_code == 403
    assert world.cards(world.town_square) == []


def test_genuine_click_works(world: World) -> None:
    integration = action(settings_prompt(world), "Use Personal Meeting ID")
    response = click_as(world, integration, world.alice.id)
    assert response.status_code == 200
    assert "Use Personal Meeting ID" in saved_choice_shown(world)


def test_malformed_click_is_a_bad_request(world: World) -> None:
    url = f"{world.url}/actions/settings"
    assert httpx.post(url, content=b"{not json").status_code == 400
    assert httpx.post(url, json={"context": {}}).status_code == 400
    assert httpx.post(f"{world.url}/actions/nonsense", json={}).status_code == 404
