"""The Mattermost simulator's REST API answers like the server does."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import httpx
import pytest

from mattermost_zoom.simulators import MattermostSimulator
from mattermost_zoom.simulators.mattermost_model import Channel, Team, User


@dataclass
class Env:
    team: Team
    alice: User
    bob: User
    bot: User
    token: str
    town: Channel
    secret: Channel

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token}


@pytest.fixture
def env(mm: MattermostSimulator) -> Env:
    team = mm.add_team("acme", "ACME")
    alice = mm.add_user("alice", first_name="Alice", last_name="A")
    bob = mm.add_user("bob")
    bot, token = mm.add_bot("zoom")
    town = mm.add_channel(team, "O", "town-square", [alice, bob])
    secret = mm.add_channel(team, "P", "secret", [alice], admins=[bob])
    return Env(team, alice, bob, bot, token, town, secret)


def api(mm: MattermostSimulator, path: str) -> str:
    return mm.url + "/api/v4" + path


def test_ids_look_like_mattermost_ids(env: Env) -> None:
    for value in (env.alice.id, env.team.id, env.town.id, env.token):
        assert len(value) == 26 and value.isalnum() and value == value.lower()


def test_auth_errors_have_app_error_shape(mm: MattermostSimulator, env: Env) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        resp = httpx.get(api(mm, "/users/me"), headers=headers)
        assert resp.status_code == 401
        body = resp.json()
        assert body["id"] == "api.context.session_expired.app_error"
        assert body["status_code"] == 401
        assert {"message", "detailed_error", "request_id"} <= body.keys()
    assert httpx.get(
        api(mm, "/users/me"), headers={"Authorization": "Token " + env.token}
    ).is_success


def test_get_users(mm: MattermostSimulator, env: Env) -> None:
    me = httpx.get(api(mm, "/users/me"), headers=env.auth).json()
    assert me["id"] == env.bot.id and me["is_bot"] is True and me["roles"] == "system_user"
    alice = httpx.get(api(mm, f"/users/{env.alice.id}"), headers=env.auth).json()
    assert alice["username"] == "alice" and alice["email"] == "alice@example.com"
    by_email = httpx.get(api(mm, "/users/email/ALICE@example.com"), headers=env.auth).json()
    assert by_email["id"] == env.alice.id
    missing = httpx.get(api(mm, "/users/" + "x" * 26), headers=env.auth)
    assert missing.status_code == 404 and missing.json()["id"] == "app.user.missing_account.const"


def test_hidden_email_addresses(mm: MattermostSimulator, env: Env) -> None:
    mm.show_email_address = False
    alice = httpx.get(api(mm, f"/users/{env.alice.id}"), headers=env.auth).json()
    assert alice["email"] == ""
    resp = httpx.get(api(mm, "/users/email/alice@example.com"), headers=env.auth)
    assert resp.status_code == 403


def test_channels_and_members(mm: MattermostSimulator, env: Env) -> None:
    chan = httpx.get(api(mm, f"/channels/{env.town.id}"), headers=env.auth).json()
    assert chan["team_id"] == env.team.id and chan["type"] == "O" and chan["name"] == "town-square"
    member = httpx.get(api(mm, f"/channels/{env.town.id}/members/{env.alice.id}"), headers=env.auth)
    assert member.status_code == 200 and member.json()["roles"] == "channel_user"
    not_member = httpx.get(
        api(mm, f"/channels/{env.town.id}/members/{env.bot.id}"), headers=env.auth
    )
    assert not_member.status_code == 404
    assert not_member.json()["id"] == "app.channel.get_member.missing.app_error"
    # A private channel the bot is not in is hidden from it.
    assert httpx.get(api(mm, f"/channels/{env.secret.id}"), headers=env.auth).status_code == 403
    mm.add_member(env.secret, env.bot)
    admin = httpx.get(
        api(mm, f"/channels/{env.secret.id}/members/{env.bob.id}"), headers=env.auth
    ).json()
    assert admin["roles"] == "channel_user channel_admin" and admin["scheme_admin"] is True


def test_direct_channel_is_created_once(mm: MattermostSimulator, env: Env) -> None:
    ids = [env.bot.id, env.alice.id]
    first = httpx.post(api(mm, "/channels/direct"), json=ids, headers=env.auth)
    assert first.status_code == 201
    dm = first.json()
    assert dm["type"] == "D" and dm["team_id"] == "" and dm["name"] == "__".join(sorted(ids))
    again = httpx.post(api(mm, "/channels/direct"), json=list(reversed(ids)), headers=env.auth)
    assert again.json()["id"] == dm["id"]
    others = httpx.post(
        api(mm, "/channels/direct"), json=[env.alice.id, env.bob.id], headers=env.auth
    )
    assert others.status_code == 403


def test_create_post_strips_integrations_and_marks_bot(mm: MattermostSimulator, env: Env) -> None:
    props = {
        "attachments": [
            {
                "title": "Meeting",
                "actions": [{"id": "join", "name": "Join", "integration": {"url": "http://x"}}],
            }
        ]
    }
    body = {"channel_id": env.town.id, "message": "hello", "props": props, "type": "custom_zoom"}
    resp = httpx.post(api(mm, "/posts"), json=body, headers=env.auth)
    assert resp.status_code == 201
    post = resp.json()
    assert post["type"] == "custom_zoom" and post["user_id"] == env.bot.id
    assert post["props"]["from_bot"] == "true"
    assert "integration" not in post["props"]["attachments"][0]["actions"][0]
    # ... but the server keeps it, so the button still works.
    assert mm.posts[post["id"]]["props"]["attachments"][0]["actions"][0]["integration"]
    fetched = httpx.get(api(mm, f"/posts/{post['id']}"), headers=env.auth).json()
    assert fetched == post


def test_create_post_errors(mm: MattermostSimulator, env: Env) -> None:
    missing = httpx.post(
        api(mm, "/posts"), json={"channel_id": "x" * 26, "message": "m"}, headers=env.auth
    )
    assert missing.status_code == 400
    private = httpx.post(
        api(mm, "/posts"), json={"channel_id": env.secret.id, "message": "m"}, headers=env.auth
    )
    assert private.status_code == 403
    system = httpx.post(
        api(mm, "/posts"),
        json={"channel_id": env.town.id, "message": "m", "type": "system_join_channel"},
        headers=env.auth,
    )
    assert system.status_code == 400


def test_post_all_bot_can_post_in_private_channels(mm: MattermostSimulator, env: Env) -> None:
    _, token = mm.add_bot("poster", post_all=True)
    resp = httpx.post(
        api(mm, "/posts"),
        json={"channel_id": env.secret.id, "message": "m"},
        headers={"Authorization": "Bearer " + token},
    )
    assert resp.status_code == 201


def make_post(mm: MattermostSimulator, env: Env, **extra: object) -> dict[str, object]:
    body = {"channel_id": env.town.id, "message": "original", **extra}
    resp = httpx.post(api(mm, "/posts"), json=body, headers=env.auth)
    assert resp.status_code == 201
    return resp.json()  # type: ignore[no-any-return]


def test_update_replaces_props_and_patch_merges(mm: MattermostSimulator, env: Env) -> None:
    post = make_post(mm, env, props={"attachments": [{"text": "a"}]})
    pid = post["id"]
    time.sleep(0.002)
    put = httpx.put(
        api(mm, f"/posts/{pid}"), json={"id": pid, "message": "edited"}, headers=env.auth
    )
    assert put.status_code == 200
    updated = put.json()
    assert updated["message"] == "edited" and updated["edit_at"] > 0
    assert "attachments" not in updated["props"]  # PUT without props drops them
    assert updated["props"]["from_bot"] == "true"  # identity props survive

    patch = httpx.put(
        api(mm, f"/posts/{pid}/patch"),
        json={"props": {"attachments": [{"text": "b"}]}},
        headers=env.auth,
    ).json()
    assert patch["message"] == "edited" and patch["props"]["attachments"] == [{"text": "b"}]

    mismatch = httpx.put(
        api(mm, f"/posts/{pid}"), json={"id": "other", "message": "x"}, headers=env.auth
    )
    assert mismatch.status_code == 400


def test_channel_posts_since_lists_what_changed_after_then(
    mm: MattermostSimulator, env: Env
) -> None:
    early = make_post(mm, env, message="early")
    time.sleep(0.005)
    since = int(time.time() * 1000)
    time.sleep(0.005)
    late = make_post(mm, env, message="late")
    listed = httpx.get(
        api(mm, f"/channels/{env.town.id}/posts"), params={"since": since}, headers=env.auth
    )
    assert listed.status_code == 200
    body = listed.json()
    assert set(body["posts"]) == {late["id"]} and body["order"] == [late["id"]]
    # Without since: a page of the newest, newest first.
    page = httpx.get(api(mm, f"/channels/{env.town.id}/posts"), headers=env.auth).json()
    assert page["order"][:2] == [late["id"], early["id"]]

    bad = httpx.get(
        api(mm, f"/channels/{env.town.id}/posts"), params={"since": "soon"}, headers=env.auth
    )
    assert bad.status_code == 400
    # The bot is not in the private channel and is no admin.
    hidden = httpx.get(api(mm, f"/channels/{env.secret.id}/posts"), headers=env.auth)
    assert hidden.status_code == 403


def test_bot_cannot_edit_other_users_posts(mm: MattermostSimulator, env: Env) -> None:
    post = mm.create_post(env.alice.id, env.town.id, "by alice")
    resp = httpx.put(
        api(mm, f"/posts/{post['id']}/patch"), json={"message": "hijack"}, headers=env.auth
    )
    assert resp.status_code == 403


def test_ephemeral_needs_system_admin(mm: MattermostSimulator, env: Env) -> None:
    body = {"user_id": env.alice.id, "post": {"channel_id": env.town.id, "message": "psst"}}
    assert httpx.post(api(mm, "/posts/ephemeral"), json=body, headers=env.auth).status_code == 403
    _, admin_token = mm.add_bot("adminbot", system_admin=True)
    resp = httpx.post(
        api(mm, "/posts/ephemeral"), json=body, headers={"Authorization": "Bearer " + admin_token}
    )
    assert resp.status_code == 201
    shown = resp.json()
    assert shown["type"] == "system_ephemeral"
    visible = mm.visible_posts(env.town.id, env.alice.id)
    assert [p["message"] for p in visible] == ["psst"]
    assert mm.visible_posts(env.town.id, env.bob.id) == []
    # Sending again with the same id replaces what the user sees.
    body["post"] = {"id": shown["id"], "channel_id": env.town.id, "message": "updated"}
    httpx.post(
        api(mm, "/posts/ephemeral"), json=body, headers={"Authorization": "Bearer " + admin_token}
    )
    assert [p["message"] for p in mm.visible_posts(env.town.id, env.alice.id)] == ["updated"]


def test_file_upload(mm: MattermostSimulator, env: Env) -> None:
    data = b"recording bytes"
    resp = httpx.post(
        api(mm, "/files"),
        data={"channel_id": env.town.id},
        files={"files": ("rec.mp4", data, "video/mp4")},
        headers=env.auth,
    )
    assert resp.status_code == 201
    info = resp.json()["file_infos"][0]
    assert info["name"] == "rec.mp4" and info["size"] == len(data) and info["extension"] == "mp4"
    assert mm.files[info["id"]].sha256 == hashlib.sha256(data).hexdigest()
    post = make_post(mm, env, file_ids=[info["id"]])
    assert post["file_ids"] == [info["id"]] and mm.files[info["id"]].post_id == post["id"]


def test_fault_injection_down_and_latency(mm: MattermostSimulator, env: Env) -> None:
    mm.fail_next("POST", "/api/v4/posts", 500, times=1)
    failed = httpx.post(
        api(mm, "/posts"), json={"channel_id": env.town.id, "message": "m"}, headers=env.auth
    )
    assert failed.status_code == 500 and failed.json()["status_code"] == 500
    assert make_post(mm, env)["message"] == "original"

    mm.set_down(True)
    down = httpx.get(api(mm, "/users/me"), headers=env.auth)
    assert down.status_code == 503
    mm.set_down(False)

    mm.latency = 0.2
    started = time.monotonic()
    httpx.get(api(mm, "/users/me"), headers=env.auth)
    assert time.monotonic() - started >= 0.2


def test_requests_are_recorded(mm: MattermostSimulator, env: Env) -> None:
    httpx.post(
        api(mm, "/posts?set_online=false"),
        json={"channel_id": env.town.id, "message": "m"},
        headers=env.auth,
    )
    rec = mm.requests[-1]
    assert (rec.method, rec.path, rec.query) == ("POST", "/api/v4/posts", "set_online=false")
    assert rec.headers["authorization"] == "Bearer " + env.token
    assert rec.content_type == "application/json" and rec.json()["message"] == "m"


def test_unknown_route_is_404(mm: MattermostSimulator, env: Env) -> None:
    resp = httpx.get(api(mm, "/emoji"), headers=env.auth)  # not simulated
    assert resp.status_code == 404 and resp.json()["id"] == "api.context.404.app_error"
