"""The spec validation harness accepts correct requests and reports wrong ones."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from mattermost_zoom.simulators import MattermostSimulator, RecordedRequest, ZoomSimulator
from tests.spec_validation import validate_mattermost_requests, validate_zoom_requests

BEARER = {"authorization": "Bearer abcdefghijklmnopqrstuvwxyz"}
BASIC = {"authorization": "Basic " + base64.b64encode(b"client:secret").decode()}


def req(
    method: str,
    path: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    query: str = "",
    content_type: str | None = None,
    raw: bytes | None = None,
) -> RecordedRequest:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    if content_type is None:
        content_type = "application/json" if data else ""
    return RecordedRequest(
        method, path, query, dict(BEARER if headers is None else headers), data, content_type
    )


# ------------------------------------------------------------------ Mattermost


def test_real_mattermost_traffic_passes(mm: MattermostSimulator) -> None:
    team = mm.add_team("acme")
    alice = mm.add_user("alice")
    bot, token = mm.add_bot("zoom", system_admin=True)
    town = mm.add_channel(team, "O", "town-square", [alice, bot])
    h = {"Authorization": "Bearer " + token}
    base = mm.url + "/api/v4"
    httpx.get(base + "/users/me", headers=h)
    httpx.get(base + "/users/email/alice@example.com", headers=h)
    httpx.get(base + f"/channels/{town.id}/members/{alice.id}", headers=h)
    post = httpx.post(
        base + "/posts",
        json={"channel_id": town.id, "message": "m", "type": "custom_zoom"},
        headers=h,
    ).json()
    httpx.put(
        base + f"/posts/{post['id']}",
        json={"id": post["id"], "message": "x", "props": {}},
        headers=h,
    )
    httpx.put(base + f"/posts/{post['id']}/patch", json={"props": {"a": 1}}, headers=h)
    httpx.post(
        base + "/posts/ephemeral",
        json={"user_id": alice.id, "post": {"channel_id": town.id, "message": "e"}},
        headers=h,
    )
    httpx.post(base + "/channels/direct", json=[bot.id, alice.id], headers=h)
    httpx.post(
        base + "/files", data={"channel_id": town.id}, files={"files": ("a.txt", b"x")}, headers=h
    )
    assert len(mm.requests) == 9
    assert validate_mattermost_requests(mm.requests) == []


def test_mattermost_wrong_body_is_reported() -> None:
    missing = validate_mattermost_requests([req("POST", "/api/v4/posts", {"message": "m"})])
    assert len(missing) == 1 and "channel_id" in missing[0] and "required" in missing[0]
    wrong_type = validate_mattermost_requests(
        [req("POST", "/api/v4/posts", {"channel_id": 5, "message": "m"})]
    )
    assert len(wrong_type) == 1 and "not of type 'string'" in wrong_type[0]
    not_json = validate_mattermost_requests([req("POST", "/api/v4/posts", raw=b"{nope")])
    assert len(not_json) == 1
    ephemeral = validate_mattermost_requests(
        [req("POST", "/api/v4/posts/ephemeral", {"user_id": "u", "post": {"message": "m"}})]
    )
    assert len(ephemeral) == 1 and "channel_id" in ephemeral[0]
    direct = validate_mattermost_requests([req("POST", "/api/v4/channels/direct", {"a": "b"})])
    assert len(direct) == 1 and "array" in direct[0]


def test_mattermost_props_errata() -> None:
    # The published description says props is a string; the server wants an object.
    ok = req("PUT", "/api/v4/posts/abc/patch", {"props": {"attachments": []}})
    bad = req("PUT", "/api/v4/posts/abc/patch", {"props": "{}"})
    assert validate_mattermost_requests([ok]) == []
    assert len(validate_mattermost_requests([bad])) == 1


def test_mattermost_wrong_method_unknown_path_and_missing_token() -> None:
    wrong_method = validate_mattermost_requests([req("DELETE", "/api/v4/users/email/a@b.c")])
    assert len(wrong_method) == 1 and "Operation delete not found" in wrong_method[0]
    unknown = validate_mattermost_requests([req("GET", "/api/v4/no/such/thing")])
    assert len(unknown) == 1 and "Path not found" in unknown[0]
    outside = validate_mattermost_requests([req("GET", "/plugins/x")])
    assert outside == ["GET /plugins/x: not a Mattermost API v4 endpoint"]
    no_token = validate_mattermost_requests(
        [req("POST", "/api/v4/posts", {"channel_id": "c", "message": "m"}, headers={"x": "y"})]
    )
    assert len(no_token) == 1 and "Security" in no_token[0]
    # Opening a dialog needs no token (the trigger id authorizes).
    dialog = {"trigger_id": "t", "url": "http://u", "dialog": {"title": "T", "elements": []}}
    assert (
        validate_mattermost_requests(
            [req("POST", "/api/v4/actions/dialogs/open", dialog, headers={})]
        )
        == []
    )


def test_mattermost_query_parameters_are_checked() -> None:
    body = {"channel_id": "c", "message": "m"}
    ok = req("POST", "/api/v4/posts", body, query="set_online=false")
    bad = req("POST", "/api/v4/posts", body, query="set_online=maybe")
    assert validate_mattermost_requests([ok]) == []
    assert len(validate_mattermost_requests([bad])) == 1


def test_command_response_url_check() -> None:
    ok = req(
        "POST", "/hooks/commands/abc", {"response_type": "in_channel", "text": "t"}, headers={}
    )
    bad = req("POST", "/hooks/commands/abc", {"response_type": "loud", "props": []}, headers={})
    assert validate_mattermost_requests([ok]) == []
    assert len(validate_mattermost_requests([bad])) == 2


# ------------------------------------------------------------------ Zoom


def test_real_zoom_traffic_passes(zoom: ZoomSimulator) -> None:
    app = zoom.add_app(redirect_uris=["http://svc/cb"])
    user = zoom.add_user("a@example.com", pmi=1234567890)
    tokens = zoom.issue_tokens(user.id, app.client_id)
    basic = (app.client_id, app.client_secret)
    httpx.post(
        zoom.url + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=basic,
    )
    h = {"Authorization": "Bearer " + tokens["access_token"]}
    httpx.get(zoom.api_url + "/users/me", headers=h)
    meeting = httpx.post(
        zoom.api_url + "/users/me/meetings", json={"topic": "T", "type": 2}, headers=h
    ).json()
    httpx.get(zoom.api_url + f"/meetings/{meeting['id']}", headers=h)
    httpx.patch(zoom.api_url + f"/meetings/{meeting['id']}", json={"topic": "U"}, headers=h)
    httpx.put(zoom.api_url + f"/meetings/{meeting['id']}/status", json={"action": "end"}, headers=h)
    httpx.get(
        zoom.url + "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": "http://svc/cb",
        },
    )
    httpx.post(zoom.url + "/oauth/revoke", data={"token": tokens["access_token"]}, auth=basic)
    assert len(zoom.requests) == 8
    assert validate_zoom_requests(zoom.requests) == []


def test_zoom_wrong_body_and_params_are_reported() -> None:
    bad_type = validate_zoom_requests([req("POST", "/v2/users/me/meetings", {"type": "one"})])
    assert len(bad_type) == 1 and "type" in bad_type[0]
    bad_id = validate_zoom_requests([req("GET", "/v2/meetings/abc")])
    assert len(bad_id) == 1 and "meetingId" in bad_id[0]
    wrong_method = validate_zoom_requests([req("POST", "/v2/users/me")])
    assert len(wrong_method) == 1
    unknown = validate_zoom_requests([req("GET", "/v2/nothing/here")])
    assert len(unknown) == 1 and "Path not found" in unknown[0]
    no_token = validate_zoom_requests([req("GET", "/v2/meetings/123", headers={})])
    assert len(no_token) == 1 and "Bearer" in no_token[0]
    assert validate_zoom_requests([req("GET", "/elsewhere")]) == [
        "GET /elsewhere: not a documented Zoom endpoint"
    ]


def form(**fields: str) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def test_zoom_oauth_explicit_checks() -> None:
    ct = "application/x-www-form-urlencoded"
    good = req(
        "POST",
        "/oauth/token",
        raw=form(grant_type="authorization_code", code="c", redirect_uri="r"),
        headers=BASIC,
        content_type=ct,
    )
    assert validate_zoom_requests([good]) == []
    no_basic = req(
        "POST",
        "/oauth/token",
        raw=form(grant_type="refresh_token", refresh_token="r"),
        content_type=ct,
    )
    assert any("Basic" in v for v in validate_zoom_requests([no_basic]))
    as_json = req(
        "POST", "/oauth/token", {"grant_type": "refresh_token", "refresh_token": "r"}, headers=BASIC
    )
    assert any("x-www-form-urlencoded" in v for v in validate_zoom_requests([as_json]))
    bad_grant = req(
        "POST", "/oauth/token", raw=form(grant_type="password"), headers=BASIC, content_type=ct
    )
    assert any("grant_type" in v for v in validate_zoom_requests([bad_grant]))
    no_redirect = req(
        "POST",
        "/oauth/token",
        raw=form(grant_type="authorization_code", code="c"),
        headers=BASIC,
        content_type=ct,
    )
    assert any("redirect_uri" in v for v in validate_zoom_requests([no_redirect]))
    short_verifier = req(
        "POST",
        "/oauth/token",
        raw=form(
            grant_type="authorization_code", code="c", redirect_uri="r", code_verifier="short"
        ),
        headers=BASIC,
        content_type=ct,
    )
    assert any("code_verifier" in v for v in validate_zoom_requests([short_verifier]))
    bad_authorize = req(
        "GET",
        "/oauth/authorize",
        query="client_id=c&redirect_uri=r&code_challenge_method=S512",
        headers={},
    )
    assert len(validate_zoom_requests([bad_authorize])) == 3


def test_zoom_compliance_check() -> None:
    good = {
        "client_id": "c",
        "user_id": "u",
        "account_id": "a",
        "deauthorization_event_received": {"user_id": "u"},
        "compliance_completed": True,
    }
    assert (
        validate_zoom_requests([req("POST", "/oauth/data/compliance", good, headers=BASIC)]) == []
    )
    bad = {**good, "compliance_completed": "yes"}
    del bad["account_id"]
    assert (
        len(validate_zoom_requests([req("POST", "/oauth/data/compliance", bad, headers=BASIC)]))
        == 2
    )
