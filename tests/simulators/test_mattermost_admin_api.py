"""The Mattermost simulator's administration API answers like the server does:
bots, roles, access tokens, teams and slash commands, and the settings that
govern them."""

from __future__ import annotations

import httpx

from mattermost_zoom.simulators import MattermostSimulator
from mattermost_zoom.simulators.mattermost_admin_api import admin_state
from tests.spec_validation import validate_mattermost_requests


def admin(mm: MattermostSimulator) -> dict[str, str]:
    user = mm.add_user("sysadmin", roles="system_user system_admin")
    return {"Authorization": "Bearer " + mm.add_token(user.id)}


def test_ping_needs_no_session(mm: MattermostSimulator) -> None:
    response = httpx.get(f"{mm.url}/api/v4/system/ping")
    assert response.status_code == 200
    assert response.json()["status"] == "OK"
    assert not validate_mattermost_requests(mm.requests)


def test_bot_creation_follows_the_server_setting(mm: MattermostSimulator) -> None:
    h = admin(mm)
    body = {"username": "zoom", "display_name": "Zoom"}
    refused = httpx.post(f"{mm.url}/api/v4/bots", json=body, headers=h)
    assert refused.status_code == 403
    assert refused.json()["id"] == "api.bot.create_disabled"

    admin_state(mm).enable_bot_account_creation = True
    created = httpx.post(f"{mm.url}/api/v4/bots", json=body, headers=h)
    assert created.status_code == 201
    bot = created.json()
    assert bot["username"] == "zoom" and bot["display_name"] == "Zoom" and bot["delete_at"] == 0
    assert mm.users[bot["user_id"]].is_bot

    again = httpx.post(f"{mm.url}/api/v4/bots", json=body, headers=h)
    assert again.status_code == 400
    assert again.json()["id"] == "app.user.save.username_exists.app_error"

    listed = httpx.get(f"{mm.url}/api/v4/bots", params={"per_page": 200}, headers=h).json()
    assert [b["user_id"] for b in listed] == [bot["user_id"]]
    assert not validate_mattermost_requests(mm.requests)


def test_only_admins_manage_bots_and_roles(mm: MattermostSimulator) -> None:
    alice = mm.add_user("alice")
    h = {"Authorization": "Bearer " + mm.add_token(alice.id)}
    admin_state(mm).enable_bot_account_creation = True
    assert (
        httpx.post(f"{mm.url}/api/v4/bots", json={"username": "b0t"}, headers=h).status_code == 403
    )
    assert httpx.get(f"{mm.url}/api/v4/bots", headers=h).status_code == 403
    put = httpx.put(
        f"{mm.url}/api/v4/users/{alice.id}/roles", json={"roles": "system_admin"}, headers=h
    )
    assert put.status_code == 403
    assert alice.roles == "system_user"


def test_roles_and_bot_tokens(mm: MattermostSimulator) -> None:
    h = admin(mm)
    bot, _ = mm.add_bot("zoom")
    roles = httpx.put(
        f"{mm.url}/api/v4/users/{bot.id}/roles",
        json={"roles": "system_user system_admin"},
        headers=h,
    )
    assert roles.json() == {"status": "OK"}
    assert bot.has_role("system_admin")

    # Bots get tokens even while personal access tokens are off (the default).
    made = httpx.post(
        f"{mm.url}/api/v4/users/{bot.id}/tokens", json={"description": "svc"}, headers=h
    )
    assert made.status_code == 200
    token = made.json()["token"]
    me = httpx.get(f"{mm.url}/api/v4/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["id"] == bot.id and me.json()["is_bot"] is True

    alice = mm.add_user("alice")
    person = httpx.post(
        f"{mm.url}/api/v4/users/{alice.id}/tokens", json={"description": "x"}, headers=h
    )
    assert person.status_code == 501
    assert person.json()["id"] == "app.user_access_token.disabled"
    assert not validate_mattermost_requests(mm.requests)


def test_slash_commands_are_created_listed_and_run(mm: MattermostSimulator) -> None:
    h = admin(mm)
    team = mm.add_team("acme")
    alice = mm.add_user("alice")
    town = mm.add_channel(team, "O", "town-square", [alice])
    body = {
        "team_id": team.id,
        "trigger": "Zoom",
        "method": "P",
        "url": "http://127.0.0.1:9/command",
        "auto_complete": True,
        "auto_complete_hint": "[command]",
    }
    created = httpx.post(f"{mm.url}/api/v4/commands", json=body, headers=h)
    assert created.status_code == 201
    command = created.json()
    assert command["trigger"] == "zoom" and len(command["token"]) == 26

    duplicate = httpx.post(f"{mm.url}/api/v4/commands", json=body, headers=h)
    assert duplicate.status_code == 400
    assert duplicate.json()["id"] == "api.command.duplicate_trigger.app_error"
    built_in = httpx.post(f"{mm.url}/api/v4/commands", json=body | {"trigger": "away"}, headers=h)
    assert built_in.json()["id"] == "api.command.duplicate_trigger.app_error"

    listed = httpx.get(
        f"{mm.url}/api/v4/commands",
        params={"team_id": team.id, "custom_only": "true"},
        headers=h,
    ).json()
    assert listed == [command]

    # The command exists for users: typing it calls its URL with its token.
    result = mm.run_command_sync(alice.id, town.id, "/zoom help")
    assert result.request["token"] == command["token"]

    admin_state(mm).enable_commands = False
    disabled = httpx.post(f"{mm.url}/api/v4/commands", json=body | {"trigger": "x"}, headers=h)
    assert disabled.status_code == 501
    assert not validate_mattermost_requests(mm.requests)


def test_teams_are_listed_by_page(mm: MattermostSimulator) -> None:
    h = admin(mm)
    for name in ("c", "a", "b"):
        mm.add_team(name)
    first = httpx.get(f"{mm.url}/api/v4/teams", params={"page": 0, "per_page": 2}, headers=h)
    second = httpx.get(f"{mm.url}/api/v4/teams", params={"page": 1, "per_page": 2}, headers=h)
    assert [t["name"] for t in first.json() + second.json()] == ["a", "b", "c"]
    assert httpx.get(f"{mm.url}/api/v4/teams").status_code == 401
