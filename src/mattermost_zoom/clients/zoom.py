"""Zoom: the OAuth 2 endpoints on the web host and the REST API. Thin adapters.

Tokens pass through here in memory only; no exception or log line carries one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx


class ZoomError(Exception):
    """A Zoom API call failed."""

    def __init__(self, status: int, code: int | None, message: str, retry_after: float | None):
        super().__init__(f"Zoom answered {status}" + (f" (code {code})" if code else ""))
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class ZoomUnauthorized(ZoomError):
    """The access token was rejected (expired early or revoked)."""


class OAuthGrantError(Exception):
    """Zoom's token endpoint refused a code or refresh token."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"Zoom token endpoint answered {status}: {error}")
        self.status = status
        self.error = error
        self.reason = reason

    @property
    def grant_is_dead(self) -> bool:
        """The refresh token will never work again: the user must reconnect."""
        return self.error in ("invalid_grant", "invalid_token") or (
            self.status in (400, 401) and "invalid token" in self.reason.lower()
        )


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime

    def __repr__(self) -> str:  # never print the tokens themselves
        return f"TokenSet(expires_at={self.expires_at.isoformat()})"


@dataclass(frozen=True)
class ZoomUser:
    id: str
    email: str
    account_id: str
    pmi: str | None
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class ZoomMeeting:
    id: str
    uuid: str
    join_url: str
    topic: str
    host_id: str = ""
    type: int = 0  # 1 instant, 2 scheduled, 3 and 8 recurring, 4 personal meeting ID
    pmi: str | None = None  # set when the meeting uses its host's personal meeting ID


def new_code_verifier() -> str:
    """RFC 7636 code verifier: 43+ characters of high-entropy URL-safe text."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class ZoomOAuth:
    """Authorization-code flow with PKCE, and refresh."""

    def __init__(
        self,
        *,
        zoom_url: str,
        client_id: str,
        client_secret: str,
        redirect_url: str,
        http: httpx.AsyncClient,
    ) -> None:
        self._zoom_url = zoom_url
        self._client_id = client_id
        self._auth = httpx.BasicAuth(client_id, client_secret)
        self._redirect_url = redirect_url
        self._http = http

    def authorize_url(self, state: str, verifier: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self._redirect_url,
                "state": state,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{self._zoom_url}/oauth/authorize?{query}"

    async def exchange_code(self, code: str, verifier: str, now: datetime) -> TokenSet:
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._redirect_url,
                "code_verifier": verifier,
            },
            now,
        )

    async def refresh(self, refresh_token: str, now: datetime) -> TokenSet:
        return await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, now
        )

    async def report_data_compliance(
        self, *, user_id: str, account_id: str, deauthorization_event: dict[str, Any]
    ) -> None:
        """Zoom's Data Compliance API: tell Zoom that the data of a user who removed
        the app was deleted. ``deauthorization_event`` is the event's payload, as received."""
        response = await self._http.post(
            f"{self._zoom_url}/oauth/data/compliance",
            json={
                "client_id": self._client_id,
                "user_id": user_id,
                "account_id": account_id,
                "deauthorization_event_received": deauthorization_event,
                "compliance_completed": True,
            },
            auth=self._auth,
        )
        if response.is_error:
            body = _json_object(response)
            retry_after = response.headers.get("Retry-After")
            raise ZoomError(
                response.status_code,
                int(body["code"]) if str(body.get("code", "")).isdigit() else None,
                str(body.get("message") or body.get("reason") or ""),
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )

    async def _token_request(self, form: dict[str, str], now: datetime) -> TokenSet:
        response = await self._http.post(
            f"{self._zoom_url}/oauth/token", data=form, auth=self._auth
        )
        body = _json_object(response)
        if response.is_error or "access_token" not in body:
            raise OAuthGrantError(
                response.status_code, str(body.get("error", "")), str(body.get("reason", ""))
            )
        return TokenSet(
            access_token=str(body["access_token"]),
            refresh_token=str(body["refresh_token"]),
            expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
        )


class ZoomAPI:
    """The few REST calls the service makes, each with the user's access token."""

    def __init__(self, api_url: str, http: httpx.AsyncClient) -> None:
        self._api = api_url
        self._http = http

    async def _call(self, method: str, path: str, token: str, json: Any = None) -> Any:
        response = await self._http.request(
            method, self._api + path, json=json, headers={"Authorization": f"Bearer {token}"}
        )
        if response.is_error:
            body = _json_object(response)
            retry_after = response.headers.get("Retry-After")
            cls = ZoomUnauthorized if response.status_code == 401 else ZoomError
            raise cls(
                response.status_code,
                int(body["code"]) if str(body.get("code", "")).isdigit() else None,
                str(body.get("message", "")),
                float(retry_after) if retry_after and retry_after.isdigit() else None,
            )
        return response.json() if response.content else None

    async def get_me(self, token: str) -> ZoomUser:
        return await self.get_user(token, "me")

    async def get_user(self, token: str, user: str) -> ZoomUser:
        """``user``: "me", a Zoom user ID, or (with an account-level app) an email."""
        data = await self._call("GET", f"/users/{quote(user, safe='@')}", token)
        pmi = data.get("pmi")
        return ZoomUser(
            id=str(data["id"]),
            email=str(data.get("email", "")),
            account_id=str(data.get("account_id", "")),
            pmi=str(pmi) if pmi else None,
            first_name=str(data.get("first_name", "")),
            last_name=str(data.get("last_name", "")),
        )

    async def create_meeting(self, token: str, topic: str, user: str = "me") -> ZoomMeeting:
        # type 1 = an instant meeting: starts now, with a fresh, unique meeting ID.
        data = await self._call(
            "POST",
            f"/users/{quote(user, safe='@')}/meetings",
            token,
            json={"topic": topic, "type": 1},
        )
        return _meeting(data)

    async def get_meeting(self, token: str, meeting_id: str) -> ZoomMeeting:
        return _meeting(await self._call("GET", f"/meetings/{meeting_id}", token))


def _meeting(data: dict[str, Any]) -> ZoomMeeting:
    meeting_type = data.get("type")
    pmi = data.get("pmi")
    return ZoomMeeting(
        id=str(data["id"]),
        uuid=str(data.get("uuid", "")),
        join_url=str(data["join_url"]),
        topic=str(data.get("topic", "")),
        host_id=str(data.get("host_id") or ""),
        type=meeting_type if isinstance(meeting_type, int) else 0,
        pmi=str(pmi) if pmi else None,
    )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
