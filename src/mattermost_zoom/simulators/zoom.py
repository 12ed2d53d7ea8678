"""An in-memory Zoom: the OAuth web host and the REST API under /v2 (``.app``),
plus driver helpers that play the user's browser and Zoom's webhooks.

The service is pointed at it with ZOOM_URL = sim.url and ZOOM_API_URL = sim.url + "/v2".
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from mattermost_zoom.simulators import zoom_api, zoom_webhooks
from mattermost_zoom.simulators.recording import Faults, RecordedRequest
from mattermost_zoom.simulators.server import ServerThread

LOGIN_COOKIE = "zoomsim_user"
CODE_LIFETIME = 300.0  # Zoom authorization codes live 5 minutes


def zoom_id() -> str:
    """A 22-character id like Zoom's user and account ids."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: str = "meeting:write:meeting meeting:read:meeting user:read:user"


@dataclass
class ZoomUser:
    id: str
    email: str
    first_name: str
    last_name: str
    type: int  # 1 basic, 2 licensed
    pmi: int  # 0: no personal meeting id
    timezone: str
    account_id: str
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "display_name": f"{self.first_name} {self.last_name}".strip(),
            "email": self.email,
            "type": self.type,
            "role_name": "Member",
            "use_pmi": False,
            "personal_meeting_url": "",
            "timezone": self.timezone,
            "verified": 1,
            "dept": "",
            "created_at": iso(self.created_at),
            "user_created_at": iso(self.created_at),
            "last_login_time": iso(self.created_at),
            "last_client_version": "",
            "pic_url": "",
            "language": "en-US",
            "phone_number": "",
            "status": "active",
            "role_id": "2",
            "account_id": self.account_id,
            "account_number": 0,
            "cluster": "us06",
        }
        if self.pmi:
            data["pmi"] = self.pmi
        return data


@dataclass
class IssuedCode:
    client_id: str
    user_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    expires_at: float
    used: bool = False


@dataclass
class AccessGrant:
    user_id: str
    client_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class RefreshGrant:
    user_id: str
    client_id: str
    used: bool = False
    revoked: bool = False


class ZoomSimulator:
    """State of Zoom as seen by one OAuth app's users."""

    def __init__(
        self, *, url: str = "http://zoom.invalid", access_token_lifetime: float = 3599
    ) -> None:
        self.url = url
        self.access_token_lifetime = access_token_lifetime
        # Seconds the token endpoint stalls after burning a refresh token (race tests).
        self.refresh_delay = 0.0
        self.deny_authorization = False  # the user clicks "Decline"
        self.apps: dict[str, OAuthApp] = {}
        self.users: dict[str, ZoomUser] = {}
        self.codes: dict[str, IssuedCode] = {}
        self.access_tokens: dict[str, AccessGrant] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.meetings: dict[int, dict[str, Any]] = {}
        self.refresh_count: dict[str, int] = {}
        self.token_requests = 0
        self.compliance_requests: list[dict[str, Any]] = []
        self.revoke_requests: list[str] = []
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self.lock = threading.RLock()
        self._key = secrets.token_bytes(32)
        self._ssl: ssl.SSLContext | None = None
        self.app: Starlette = zoom_api.build_app(self)

    # ------------------------------------------------------------------ basics

    def serve(self) -> ServerThread:
        server = ServerThread(self.app).start()
        self.url = server.url
        return server

    @property
    def api_url(self) -> str:
        return self.url + "/v2"

    @property
    def latency(self) -> float:
        return self.faults.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self.faults.latency = seconds

    def set_down(self, down: bool) -> None:
        self.faults.down = down

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 429,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Fail matching requests; a 429 gets Zoom's body and a Retry-After header."""
        if status == 429 and headers is None:
            headers = {
                "Retry-After": "1",
                "X-RateLimit-Category": "Medium",
                "X-RateLimit-Type": "QPS",
            }
        self.faults.fail_next(method, path_prefix, status, headers, times=times)

    # ------------------------------------------------------------------ seeding

    def add_app(
        self,
        *,
        redirect_uris: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        scopes: str | None = None,
    ) -> OAuthApp:
        app = OAuthApp(
            client_id or zoom_id(), client_secret or secrets.token_urlsafe(24), list(redirect_uris)
        )
        if scopes is not None:
            app.scopes = scopes
        with self.lock:
            self.apps[app.client_id] = app
        return app

    def add_user(
        self,
        email: str,
        first_name: str = "",
        last_name: str = "",
        *,
        user_type: int = 2,
        pmi: int | None = None,
        timezone: str = "America/New_York",
        account_id: str | None = None,
        user_id: str | None = None,
    ) -> ZoomUser:
        user = ZoomUser(
            id=user_id or zoom_id(),
            email=email,
            first_name=first_name,
            last_name=last_name,
            type=user_type,
            pmi=pmi if pmi is not None else secrets.randbelow(9 * 10**9) + 10**9,
            timezone=timezone,
            account_id=account_id or zoom_id(),
        )
        with self.lock:
            self.users[user.id] = user
        return user

    @staticmethod
    def login_cookie(user_id: str) -> dict[str, str]:
        """The cookie a test browser sends to be "logged in to Zoom" as a user."""
        return {LOGIN_COOKIE: user_id}

    def find_user(self, ref: str) -> ZoomUser | None:
        with self.lock:
            if ref in self.users:
                return self.users[ref]
            return next((u for u in self.users.values() if u.email.lower() == ref.lower()), None)

    # ------------------------------------------------------------------ tokens

    def _token(self, user_id: str, client_id: str, kind: str, lifetime: float) -> str:
        # Shaped like Zoom's tokens (signed JWTs, several hundred characters long),
        # so storage that truncates them is caught; nothing should parse them.
        user = self.users[user_id]
        now = int(time.time())
        header = {"alg": "HS512", "v": "2.0", "kid": secrets.token_hex(16)}
        claims = {
            "ver": 10,
            "auid": secrets.token_hex(32),
            "code": secrets.token_urlsafe(24),
            "iss": f"zm:cid:{client_id}",
            "gno": 0,
            "type": 0,
            "tid": 0,
            "aud": "https://oauth.zoom.us",
            "uid": user_id,
            "nbf": now,
            "exp": now + int(lifetime),
            "iat": now,
            "aid": user.account_id,
            "tokenType": kind,
            "jti": secrets.token_hex(16),
        }
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        )
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha512).digest()
        return signing_input + "." + _b64url(signature)

    def issue_tokens(self, user_id: str, client_id: str) -> dict[str, Any]:
        """A fresh access/refresh pair, as the token endpoint returns it."""
        app = self.apps[client_id]
        access = self._token(user_id, client_id, "access_token", self.access_token_lifetime)
        refresh = self._token(user_id, client_id, "refresh_token", 15 * 365 * 86400)
        with self.lock:
            self.access_tokens[access] = AccessGrant(
                user_id, client_id, time.time() + self.access_token_lifetime
            )
            self.refresh_tokens[refresh] = RefreshGrant(user_id, client_id)
        return {
            "access_token": access,
            "token_type": "bearer",
            "refresh_token": refresh,
            "expires_in": int(self.access_token_lifetime),
            "scope": app.scopes,
            "api_url": self.url,
        }

    def issue_code(
        self, client_id: str, user_id: str, redirect_uri: str, challenge: str | None, method: str
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = IssuedCode(
                client_id, user_id, redirect_uri, challenge, method, time.time() + CODE_LIFETIME
            )
        return code

    def consume_code(self, code: str, client_id: str) -> IssuedCode | None:
        """Codes are single-use: the first exchange (even a failing one) burns it."""
        with self.lock:
            issued = self.codes.get(code)
            if issued is None or issued.used or issued.client_id != client_id:
                return None
            issued.used = True
            if issued.expires_at < time.time():
                return None
            return issued

    def consume_refresh_token(self, token: str, client_id: str) -> RefreshGrant | None:
        """Refresh tokens rotate: each works once; the old one fails afterwards."""
        with self.lock:
            grant = self.refresh_tokens.get(token)
            if grant is None or grant.used or grant.revoked or grant.client_id != client_id:
                return None
            grant.used = True
            self.refresh_count[grant.user_id] = self.refresh_count.get(grant.user_id, 0) + 1
            return grant

    def check_access_token(self, token: str) -> tuple[ZoomUser | None, str]:
        """Return the token's user, or None with Zoom's 401 message."""
        with self.lock:
            grant = self.access_tokens.get(token)
            if grant is None or grant.revoked:
                return None, "Invalid access token."
            if grant.expires_at <= time.time():
                return None, "Access token is expired."
            return self.users.get(grant.user_id), ""

    def expire_access_tokens(self, user_id: str) -> None:
        with self.lock:
            for grant in self.access_tokens.values():
                if grant.user_id == user_id:
                    grant.expires_at = time.time() - 1

    def revoke(self, user_id: str) -> None:
        """The user's authorization ends: every token of theirs stops working."""
        with self.lock:
            for grant in self.access_tokens.values():
                if grant.user_id == user_id:
                    grant.revoked = True
            for refresh in self.refresh_tokens.values():
                if refresh.user_id == user_id:
                    refresh.revoked = True

    def revoke_token(self, token: str, client_id: str) -> bool:
        with self.lock:
            self.revoke_requests.append(token)
            access = self.access_tokens.get(token)
            refresh = self.refresh_tokens.get(token)
            grant = access or refresh
            if grant is None or grant.client_id != client_id:
                return False
            self.revoke(grant.user_id)
            return True

    # ------------------------------------------------------------------ meetings

    def new_meeting(self, host: ZoomUser, body: dict[str, Any]) -> dict[str, Any]:
        meeting_id = secrets.randbelow(9 * 10**10) + 10**10  # 11 digits
        return self._meeting_json(host, meeting_id, body)

    def _meeting_json(
        self, host: ZoomUser, meeting_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        now = time.time()
        password = str(body.get("password") or secrets.token_urlsafe(6)[:6])
        encrypted = secrets.token_urlsafe(24)
        settings = {
            "host_video": False,
            "participant_video": False,
            "join_before_host": False,
            "mute_upon_entry": False,
            "watermark": False,
            "use_pmi": False,
            "approval_type": 2,
            "audio": "voip",
            "auto_recording": "none",
            "waiting_room": False,
            "meeting_authentication": False,
            "encryption_type": "enhanced_encryption",
        }
        settings.update(body.get("settings") or {})
        meeting: dict[str, Any] = {
            "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "id": meeting_id,
            "host_id": host.id,
            "host_email": host.email,
            "topic": str(body.get("topic") or "Zoom meeting"),
            "type": int(body.get("type") or 2),
            "status": "waiting",
            "start_time": str(body.get("start_time") or iso(now)),
            "duration": int(body.get("duration") or 60),
            "timezone": str(body.get("timezone") or host.timezone),
            "agenda": str(body.get("agenda") or ""),
            "created_at": iso(now),
            "start_url": f"{self.url}/s/{meeting_id}?zak={secrets.token_urlsafe(32)}",
            "join_url": f"{self.url}/j/{meeting_id}?pwd={encrypted}",
            "password": password,
            "h323_password": str(secrets.randbelow(900000) + 100000),
            "pstn_password": str(secrets.randbelow(900000) + 100000),
            "encrypted_password": encrypted,
            "settings": settings,
            "pre_schedule": False,
        }
        return meeting

    def store_meeting(self, meeting: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.meetings[int(meeting["id"])] = meeting
        return copy.deepcopy(meeting)

    def get_meeting(self, meeting_id: int, viewer: ZoomUser) -> dict[str, Any] | None:
        with self.lock:
            meeting = self.meetings.get(meeting_id)
            if meeting is None and viewer.pmi and meeting_id == viewer.pmi:
                # The personal meeting room exists without being created: type 4.
                meeting = self._meeting_json(
                    viewer,
                    viewer.pmi,
                    {"type": 4, "topic": f"{viewer.first_name}'s Personal Meeting Room"},
                )
                meeting["type"] = 4
                self.meetings[viewer.pmi] = meeting
            if meeting is None or meeting["host_id"] != viewer.id:
                return None
            return copy.deepcopy(meeting)

    def _webhook_object(self, meeting: dict[str, Any]) -> dict[str, Any]:
        # Webhook payloads carry the meeting id as a string (the REST API: a number).
        return {
            "id": str(meeting["id"]),
            "uuid": meeting["uuid"],
            "host_id": meeting["host_id"],
            "topic": meeting["topic"],
            "type": meeting["type"],
            "start_time": meeting["start_time"],
            "timezone": meeting["timezone"],
            "duration": meeting["duration"],
        }

    def start_meeting(self, meeting_id: int) -> dict[str, Any]:
        """The host starts the meeting; returns the meeting.started event."""
        with self.lock:
            meeting = self.meetings[meeting_id]
            meeting["status"] = "started"
            meeting["start_time"] = iso(time.time())
            obj = self._webhook_object(meeting)
            account = self.users[meeting["host_id"]].account_id
        return self.build_event("meeting.started", obj, account_id=account)

    def end_meeting(self, meeting_id: int) -> dict[str, Any]:
        """The meeting ends; returns the meeting.ended event (with end_time)."""
        with self.lock:
            meeting = self.meetings[meeting_id]
            meeting["status"] = "finished" if meeting["type"] != 4 else "waiting"
            obj = self._webhook_object(meeting)
            obj["end_time"] = iso(time.time())
            account = self.users[meeting["host_id"]].account_id
        return self.build_event("meeting.ended", obj, account_id=account)

    def deauthorize(self, user_id: str, client_id: str) -> dict[str, Any]:
        """The user removes the app: tokens are revoked; returns app_deauthorized."""
        self.revoke(user_id)
        user = self.users[user_id]
        payload = {
            "account_id": user.account_id,
            "user_id": user_id,
            "signature": secrets.token_hex(32),
            "deauthorization_time": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "client_id": client_id,
        }
        return {
            "event": "app_deauthorized",
            "payload": payload,
            "event_ts": int(time.time() * 1000),
        }

    # ------------------------------------------------------------------ webhooks

    build_event = staticmethod(zoom_webhooks.build_event)
    sign = staticmethod(zoom_webhooks.sign)

    def http_client(self) -> httpx.AsyncClient:
        # One SSL context per simulator: building one per client costs ~40 ms.
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return httpx.AsyncClient(timeout=10.0, verify=self._ssl)

    async def deliver(
        self, url: str, event: dict[str, Any], secret: str, *, timestamp: int | None = None
    ) -> httpx.Response:
        """POST a webhook event to ``url``, signed with the app's secret token."""
        async with self.http_client() as client:
            return await zoom_webhooks.deliver(
                url, event, secret, timestamp=timestamp, client=client
            )

    async def validate_endpoint(self, url: str, secret: str) -> bool:
        """Run Zoom's endpoint.url_validation challenge against ``url``."""
        async with self.http_client() as client:
            return await zoom_webhooks.validate_endpoint(url, secret, client=client)
