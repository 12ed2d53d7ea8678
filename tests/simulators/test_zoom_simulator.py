"""The Zoom simulator behaves like Zoom where the service depends on it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.responses import JSONResponse

from mattermost_zoom.simulators import ZoomSimulator
from mattermost_zoom.simulators.zoom import OAuthApp, ZoomUser
from mattermost_zoom.simulators.zoom_webhooks import sign

REDIRECT = "http://service.test/oauth2/complete"


def basic(app: OAuthApp) -> dict[str, str]:
    raw = f"{app.client_id}:{app.client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def authorize(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser, **extra: str) -> httpx.Response:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT}
    params.update(extra)
    return httpx.get(
        zoom.url + "/oauth/authorize", params=params, cookies=zoom.login_cookie(user.id)
    )


def code_from(response: httpx.Response) -> str:
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


def token_request(zoom: ZoomSimulator, app: OAuthApp, **form: str) -> httpx.Response:
    return httpx.post(zoom.url + "/oauth/token", data=form, headers=basic(app))


def exchange(zoom: ZoomSimulator, app: OAuthApp, code: str, **extra: str) -> httpx.Response:
    return token_request(
        zoom, app, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, **extra
    )


@pytest.fixture
def app(zoom: ZoomSimulator) -> OAuthApp:
    return zoom.add_app(redirect_uris=[REDIRECT])


@pytest.fixture
def user(zoom: ZoomSimulator) -> ZoomUser:
    return zoom.add_user("ada@example.com", "Ada", "Lovelace", pmi=1234567890)


@pytest.fixture
def tokens(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser) -> dict[str, Any]:
    resp = exchange(zoom, app, code_from(authorize(zoom, app, user)))
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token}


# ------------------------------------------------------------------ authorize


def test_authorize_redirects_with_code_and_state(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser
) -> None:
    resp = authorize(zoom, app, user, state="xyz")
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert resp.headers["location"].startswith(REDIRECT + "?")
    assert query["state"] == ["xyz"] and query["code"][0]


def test_authorize_rejects_unknown_client_and_redirect(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser
) -> None:
    params = {"response_type": "code", "client_id": "nope", "redirect_uri": REDIRECT}
    assert httpx.get(zoom.url + "/oauth/authorize", params=params).status_code == 400
    resp = authorize(zoom, app, user, redirect_uri="http://evil.test/cb")
    assert resp.status_code == 400 and "4709" in resp.text


def test_authorize_without_login_shows_sign_in(zoom: ZoomSimulator, app: OAuthApp) -> None:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": REDIRECT}
    resp = httpx.get(zoom.url + "/oauth/authorize", params=params)
    assert resp.status_code == 200 and "Sign In" in resp.text


def test_declined_authorization_redirects_with_access_denied(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser
) -> None:
    zoom.deny_authorization = True
    query = parse_qs(urlsplit(authorize(zoom, app, user, state="s").headers["location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s"] and "code" not in query


# ------------------------------------------------------------------ token endpoint


def test_code_exchange_returns_zoom_token_shape(tokens: dict[str, Any]) -> None:
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3599
    assert {"access_token", "refresh_token", "scope", "api_url"} <= tokens.keys()
    assert len(tokens["access_token"]) > 400  # Zoom's tokens are long signed JWTs


def test_code_is_single_use(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser) -> None:
    code = code_from(authorize(zoom, app, user))
    assert exchange(zoom, app, code).status_code == 200
    again = exchange(zoom, app, code)
    assert again.status_code == 400
    assert again.json() == {
        "reason": f"Invalid authorization code {code}",
        "error": "invalid_grant",
    }


def test_code_exchange_needs_matching_redirect_uri(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser
) -> None:
    code = code_from(authorize(zoom, app, user))
    resp = token_request(
        zoom, app, grant_type="authorization_code", code=code, redirect_uri="http://other.test/"
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


def test_bad_client_credentials_are_rejected(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser
) -> None:
    code = code_from(authorize(zoom, app, user))
    wrong = OAuthApp(app.client_id, "wrong-secret", [])
    resp = exchange(zoom, wrong, code)
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def test_pkce_s256_is_verified(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(
        authorize(zoom, app, user, code_challenge=challenge, code_challenge_method="S256")
    )
    assert exchange(zoom, app, code, code_verifier=verifier).status_code == 200

    code = code_from(
        authorize(zoom, app, user, code_challenge=challenge, code_challenge_method="S256")
    )
    bad = exchange(zoom, app, code, code_verifier=secrets.token_urlsafe(48))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"

    code = code_from(
        authorize(zoom, app, user, code_challenge=challenge, code_challenge_method="S256")
    )
    assert exchange(zoom, app, code).status_code == 400  # verifier missing


def test_pkce_method_defaults_to_plain(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser) -> None:
    verifier, challenge = pkce_pair()
    code = code_from(authorize(zoom, app, user, code_challenge=challenge))
    # Without code_challenge_method Zoom treats the challenge as "plain".
    assert exchange(zoom, app, code, code_verifier=verifier).status_code == 400
    code = code_from(authorize(zoom, app, user, code_challenge=challenge))
    assert exchange(zoom, app, code, code_verifier=challenge).status_code == 200


def test_refresh_tokens_rotate_and_are_single_use(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser, tokens: dict[str, Any]
) -> None:
    first = token_request(
        zoom, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert first.status_code == 200
    rotated = first.json()["refresh_token"]
    assert rotated != tokens["refresh_token"]

    reused = token_request(
        zoom, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert reused.status_code == 400
    assert reused.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}

    assert (
        token_request(zoom, app, grant_type="refresh_token", refresh_token=rotated).status_code
        == 200
    )
    assert zoom.refresh_count[user.id] == 2
    assert zoom.token_requests == 4  # one code exchange, three refresh attempts


def test_refresh_delay_makes_concurrent_refresh_lose(
    zoom: ZoomSimulator, app: OAuthApp, tokens: dict[str, Any]
) -> None:
    zoom.refresh_delay = 0.3
    statuses: list[int] = []

    def refresh() -> None:
        resp = token_request(
            zoom, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
        )
        statuses.append(resp.status_code)

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 400]


def test_unknown_grant_type(zoom: ZoomSimulator, app: OAuthApp) -> None:
    resp = token_request(zoom, app, grant_type="password")
    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


# ------------------------------------------------------------------ API auth


def test_expired_and_invalid_tokens_get_code_124(
    zoom: ZoomSimulator, user: ZoomUser, tokens: dict[str, Any]
) -> None:
    me = zoom.api_url + "/users/me"
    assert httpx.get(me, headers=bearer(tokens["access_token"])).status_code == 200
    zoom.expire_access_tokens(user.id)
    expired = httpx.get(me, headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401
    assert expired.json() == {"code": 124, "message": "Access token is expired."}
    invalid = httpx.get(me, headers=bearer("garbage"))
    assert invalid.status_code == 401
    assert invalid.json() == {"code": 124, "message": "Invalid access token."}
    assert httpx.get(me).status_code == 401


def test_revoke_kills_access_and_refresh_tokens(
    zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser, tokens: dict[str, Any]
) -> None:
    zoom.revoke(user.id)
    assert (
        httpx.get(zoom.api_url + "/users/me", headers=bearer(tokens["access_token"])).status_code
        == 401
    )
    refresh = token_request(
        zoom, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refresh.status_code == 400


def test_revoke_endpoint(zoom: ZoomSimulator, app: OAuthApp, tokens: dict[str, Any]) -> None:
    resp = httpx.post(
        zoom.url + "/oauth/revoke", data={"token": tokens["access_token"]}, headers=basic(app)
    )
    assert resp.json() == {"status": "success"}
    assert (
        httpx.get(zoom.api_url + "/users/me", headers=bearer(tokens["access_token"])).status_code
        == 401
    )


def test_short_token_lifetime() -> None:
    sim = ZoomSimulator(access_token_lifetime=0.2)
    app = sim.add_app(redirect_uris=[REDIRECT])
    user = sim.add_user("x@example.com")
    issued = sim.issue_tokens(user.id, app.client_id)
    assert sim.check_access_token(issued["access_token"])[0] is user
    import time

    time.sleep(0.25)
    assert sim.check_access_token(issued["access_token"]) == (None, "Access token is expired.")


# ------------------------------------------------------------------ API


def test_users_me_and_by_id_and_email(
    zoom: ZoomSimulator, user: ZoomUser, tokens: dict[str, Any]
) -> None:
    h = bearer(tokens["access_token"])
    me = httpx.get(zoom.api_url + "/users/me", headers=h).json()
    assert me["id"] == user.id and me["email"] == "ada@example.com" and me["pmi"] == 1234567890
    assert me["type"] == 2 and me["account_id"] == user.account_id
    assert httpx.get(zoom.api_url + f"/users/{user.id}", headers=h).json()["id"] == user.id
    assert httpx.get(zoom.api_url + "/users/ada@example.com", headers=h).json()["id"] == user.id
    missing = httpx.get(zoom.api_url + "/users/nobody@example.com", headers=h)
    assert missing.status_code == 404 and missing.json()["code"] == 1001


def test_user_without_pmi_has_no_pmi_field(zoom: ZoomSimulator, app: OAuthApp) -> None:
    basic_user = zoom.add_user("b@example.com", user_type=1, pmi=0)
    issued = zoom.issue_tokens(basic_user.id, app.client_id)
    me = httpx.get(zoom.api_url + "/users/me", headers=bearer(issued["access_token"])).json()
    assert "pmi" not in me and me["type"] == 1


def test_create_and_get_meeting(
    zoom: ZoomSimulator, user: ZoomUser, tokens: dict[str, Any]
) -> None:
    h = bearer(tokens["access_token"])
    resp = httpx.post(
        zoom.api_url + "/users/me/meetings", json={"topic": "Standup", "type": 1}, headers=h
    )
    assert resp.status_code == 201
    meeting = resp.json()
    assert isinstance(meeting["id"], int) and len(str(meeting["id"])) == 11
    assert meeting["host_id"] == user.id and meeting["status"] == "waiting" and meeting["type"] == 1
    assert (
        meeting["join_url"] == f"{zoom.url}/j/{meeting['id']}?pwd={meeting['encrypted_password']}"
    )
    assert meeting["start_url"].startswith(f"{zoom.url}/s/{meeting['id']}")
    assert base64.b64decode(meeting["uuid"]) and meeting["password"] and meeting["settings"]
    fetched = httpx.get(zoom.api_url + f"/meetings/{meeting['id']}", headers=h).json()
    assert fetched == meeting
    missing = httpx.get(zoom.api_url + "/meetings/12345678901", headers=h)
    assert missing.status_code == 404 and missing.json()["code"] == 3001


def test_meeting_validation(zoom: ZoomSimulator, tokens: dict[str, Any]) -> None:
    h = bearer(tokens["access_token"])
    resp = httpx.post(zoom.api_url + "/users/me/meetings", json={"type": 7}, headers=h)
    assert resp.status_code == 400 and resp.json()["code"] == 300
    resp = httpx.post(zoom.api_url + "/users/me/meetings", content=b"nope", headers=h)
    assert resp.status_code == 400


def test_personal_meeting_room(zoom: ZoomSimulator, user: ZoomUser, tokens: dict[str, Any]) -> None:
    pmi = httpx.get(
        zoom.api_url + "/meetings/1234567890", headers=bearer(tokens["access_token"])
    ).json()
    assert pmi["type"] == 4 and pmi["id"] == 1234567890
    assert pmi["join_url"].startswith(f"{zoom.url}/j/1234567890")


def test_rate_limit_injection(zoom: ZoomSimulator, tokens: dict[str, Any]) -> None:
    zoom.fail_next("POST", "/v2/users/", 429, times=2)
    h = bearer(tokens["access_token"])
    for _ in range(2):
        limited = httpx.post(zoom.api_url + "/users/me/meetings", json={"type": 2}, headers=h)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert limited.json()["code"] == 429
    assert (
        httpx.post(zoom.api_url + "/users/me/meetings", json={"type": 2}, headers=h).status_code
        == 201
    )


def test_requests_are_recorded(zoom: ZoomSimulator, tokens: dict[str, Any]) -> None:
    token_calls = [r for r in zoom.requests if r.path == "/oauth/token"]
    assert token_calls and token_calls[0].form()["grant_type"] == "authorization_code"
    assert token_calls[0].headers["authorization"].startswith("Basic ")


def test_compliance_is_recorded(zoom: ZoomSimulator, app: OAuthApp, user: ZoomUser) -> None:
    event = zoom.deauthorize(user.id, app.client_id)
    body = {
        "client_id": app.client_id,
        "user_id": user.id,
        "account_id": user.account_id,
        "deauthorization_event_received": event["payload"],
        "compliance_completed": True,
    }
    resp = httpx.post(zoom.url + "/oauth/data/compliance", json=body, headers=basic(app))
    assert resp.status_code == 200 and zoom.compliance_requests == [body]


# ------------------------------------------------------------------ webhooks


def test_signature_matches_zoom_scheme() -> None:
    import hmac

    body = '{"event":"meeting.ended"}'
    expected = hmac.new(b"s3cret", b"v0:1700000000:" + body.encode(), hashlib.sha256).hexdigest()
    assert sign(body, 1700000000, "s3cret") == "v0=" + expected


def test_meeting_events_and_delivery(
    zoom: ZoomSimulator, user: ZoomUser, tokens: dict[str, Any], integration: Any
) -> None:
    h = bearer(tokens["access_token"])
    meeting = httpx.post(zoom.api_url + "/users/me/meetings", json={"topic": "T"}, headers=h).json()
    started = zoom.start_meeting(meeting["id"])
    assert started["event"] == "meeting.started"
    assert started["payload"]["account_id"] == user.account_id
    assert started["payload"]["object"]["id"] == str(meeting["id"])  # a string in webhooks
    assert started["payload"]["object"]["uuid"] == meeting["uuid"]
    assert isinstance(started["event_ts"], int) and started["event_ts"] > 10**12
    ended = zoom.end_meeting(meeting["id"])
    assert ended["event"] == "meeting.ended" and "end_time" in ended["payload"]["object"]
    assert zoom.meetings[meeting["id"]]["status"] == "finished"

    integration.reply_json("/zoom/webhook", {})
    resp = asyncio.run(zoom.deliver(integration.url + "/zoom/webhook", ended, "whsecret"))
    assert resp.status_code == 200
    got = integration.last("/zoom/webhook")
    assert json.loads(got.body) == ended
    ts = got.headers["x-zm-request-timestamp"]
    assert got.headers["x-zm-signature"] == sign(got.body, ts, "whsecret")


def test_endpoint_validation_helper(zoom: ZoomSimulator, integration: Any) -> None:
    import hmac

    def answer(req: Any) -> JSONResponse:
        plain = req.json()["payload"]["plainToken"]
        digest = hmac.new(b"whsecret", plain.encode(), hashlib.sha256).hexdigest()
        return JSONResponse({"plainToken": plain, "encryptedToken": digest})

    integration.reply("/zoom/webhook", answer)
    assert asyncio.run(zoom.validate_endpoint(integration.url + "/zoom/webhook", "whsecret"))
    assert not asyncio.run(zoom.validate_endpoint(integration.url + "/zoom/webhook", "other"))
