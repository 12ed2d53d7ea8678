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
import uuid as uuid_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette

from mattermost_zoom.simulators import zoom_api, zoom_webhooks
from mattermost_zoom.simulators.recording import Faults, FaultSwitches, RecordedRequest
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


_EXTENSIONS = {"CHAT": "TXT", "TRANSCRIPT": "VTT", "CC": "VTT", "TIMELINE": "JSON", "CSV": "CSV"}


def _default_chat(host: ZoomUser) -> bytes:
    name = f"{host.first_name} {host.last_name}".strip() or host.email
    return (
        f"00:00:12\t From  {name}  to  Everyone:\n\tWelcome, the recording is on.\n"
        f"00:01:40\t From  {name}  to  Everyone:\n\tSlides: see the channel header.\n"
    ).encode()


def _default_transcript(host: ZoomUser) -> bytes:
    name = f"{host.first_name} {host.last_name}".strip() or host.email
    return (
        "WEBVTT\n\n"
        "1\n00:00:01.200 --> 00:00:04.800\n"
        f"{name}: Thanks for joining, let's get started.\n\n"
        "2\n00:00:05.100 --> 00:00:08.000\n"
        f"{name}: First item is the release plan.\n"
    ).encode()


@dataclass
class OAuthApp:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: str = "meeting:write:meeting meeting:read:meeting user:read:user"
    # Admin-managed ("account-level") apps act for every user of the account.
    account_level: bool = False


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


# Cloud recording files: what their downloads are served as.
FILE_CONTENT_TYPES = {
    "MP4": "video/mp4",
    "M4A": "audio/mp4",
    "TXT": "text/plain",
    "VTT": "text/vtt",
    "JSON": "application/json",
    "CSV": "text/csv",
}
GENERATED_BLOCK = 64 * 1024  # generated content repeats one block of this size
DOWNLOAD_TOKEN_LIFETIME = 24 * 3600.0  # a webhook's download_token lasts 24 hours


@dataclass
class CloudFile:
    """One file of a cloud recording.

    Its content is either given, or generated on the fly from ``seed`` so that a
    file of any size (hundreds of MB, for benchmarks) is served without ever being
    held in memory. ``key`` is the opaque part of its download and play URLs.
    """

    id: str
    key: str
    meeting_id: int
    meeting_uuid: str
    file_type: str
    file_extension: str
    recording_type: str
    recording_start: str
    recording_end: str
    size: int
    content: bytes | None = None
    seed: bytes = b""
    reported_size: int | None = None  # what the event says, if not the true size
    downloads: int = 0  # completed downloads

    @property
    def content_type(self) -> str:
        return FILE_CONTENT_TYPES.get(self.file_extension.upper(), "application/octet-stream")

    @property
    def filename(self) -> str:
        return f"{self.recording_type or self.file_type.lower()}.{self.file_extension.lower()}"

    def chunks(self, chunk_size: int = GENERATED_BLOCK) -> Iterator[bytes]:
        if self.content is not None:
            for start in range(0, len(self.content), chunk_size):
                yield self.content[start : start + chunk_size]
            return
        block = hashlib.shake_256(self.seed).digest(GENERATED_BLOCK)
        remaining = self.size
        while remaining > 0:
            piece = block[: min(remaining, GENERATED_BLOCK)]
            remaining -= len(piece)
            yield piece

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def read(self) -> bytes:
        """The whole content; only for small files."""
        return b"".join(self.chunks())

    def to_json(self, base_url: str) -> dict[str, Any]:
        """The entry in an event's ``recording_files``."""
        data: dict[str, Any] = {
            "id": self.id,
            "meeting_id": self.meeting_uuid,
            "recording_start": self.recording_start,
            "recording_end": self.recording_end,
            "file_type": self.file_type,
            "file_size": self.size if self.reported_size is None else self.reported_size,
            "file_extension": self.file_extension,
            "play_url": f"{base_url}/rec/play/{self.key}",
            "download_url": f"{base_url}/rec/webhook_download/{self.key}",
            "status": "completed",
            "recording_type": self.recording_type,
        }
        if self.file_type == "TIMELINE":
            del data["play_url"]  # a timeline cannot be played
        return data


class ZoomSimulator(FaultSwitches):
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
        # Cloud recordings: files by URL key, the files of each meeting, the
        # download tokens handed out in events, and every download request (kept
        # apart from ``requests``: downloads are not part of the REST API).
        self.cloud_files: dict[str, CloudFile] = {}
        self.recordings: dict[int, list[str]] = {}
        self.recording_passwords: dict[int, str] = {}
        self.download_tokens: dict[str, tuple[int, float]] = {}
        self.download_requests: list[RecordedRequest] = []
        # Zoom answers a download with a redirect to its storage host; set a base
        # URL to do the same (e.g. ``sim.url``), None to serve the file directly.
        self.redirect_downloads_to: str | None = None
        self.send_content_length = True  # False: downloads are sent chunked
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
        account_level: bool = False,
    ) -> OAuthApp:
        app = OAuthApp(
            client_id or zoom_id(),
            client_secret or secrets.token_urlsafe(24),
            list(redirect_uris),
            account_level=account_level,
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

    def token_app(self, token: str) -> OAuthApp | None:
        """The app an access token was issued to."""
        with self.lock:
            grant = self.access_tokens.get(token)
            return self.apps.get(grant.client_id) if grant else None

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

    # ------------------------------------------------------------------ cloud recordings

    def add_recording_file(
        self,
        meeting_id: int,
        file_type: str,
        recording_type: str,
        *,
        content: bytes | None = None,
        size: int | None = None,
        extension: str | None = None,
        reported_size: int | None = None,
    ) -> CloudFile:
        """Add a file to the meeting's cloud recording. Give ``content``, or a
        ``size`` for generated content (served lazily, of any size)."""
        with self.lock:
            meeting = self.meetings[meeting_id]
            if content is None and size is None:
                raise ValueError("give content or size")
            cloud = CloudFile(
                id=str(uuid_module.uuid4()),
                key=secrets.token_urlsafe(48),
                meeting_id=meeting_id,
                meeting_uuid=meeting["uuid"],
                file_type=file_type,
                file_extension=extension or _EXTENSIONS.get(file_type, file_type),
                recording_type=recording_type,
                recording_start=meeting["start_time"],
                recording_end=iso(time.time()),
                size=len(content) if content is not None else int(size or 0),
                content=content,
                seed=secrets.token_bytes(16),
                reported_size=reported_size,
            )
            self.cloud_files[cloud.key] = cloud
            self.recordings.setdefault(meeting_id, []).append(cloud.key)
        return cloud

    def recording_files(self, meeting_id: int) -> list[CloudFile]:
        with self.lock:
            return [self.cloud_files[k] for k in self.recordings.get(meeting_id, [])]

    def complete_recording(
        self,
        meeting_id: int,
        *,
        with_chat: bool = True,
        chat: bytes | None = None,
        with_audio: bool = True,
        video_size: int = 256 * 1024,
        password: str | None = None,
    ) -> dict[str, Any]:
        """The cloud recording of the meeting is ready: a video (shared screen with
        speaker view), an audio-only file, the chat and a timeline are added; returns
        the recording.completed event, with a fresh download_token. The event lists
        every file of the recording, including any added before with
        ``add_recording_file`` (transcripts come with ``complete_transcript``)."""
        meeting = self.meetings[meeting_id]
        host = self.users[meeting["host_id"]]
        self.add_recording_file(
            meeting_id, "MP4", "shared_screen_with_speaker_view", size=video_size
        )
        if with_audio:
            self.add_recording_file(meeting_id, "M4A", "audio_only", size=video_size // 8)
        if with_chat:
            text = chat if chat is not None else _default_chat(host)
            self.add_recording_file(meeting_id, "CHAT", "chat_file", content=text)
        self.add_recording_file(meeting_id, "TIMELINE", "timeline", content=b'{"timeline": []}')
        with self.lock:
            if password is not None or meeting_id not in self.recording_passwords:
                self.recording_passwords[meeting_id] = (
                    password if password is not None else secrets.token_urlsafe(6)[:8]
                )
        files = [
            f for f in self.recording_files(meeting_id) if f.file_type not in ("TRANSCRIPT", "CC")
        ]
        return self.recording_event("recording.completed", meeting_id, files)

    def complete_transcript(
        self, meeting_id: int, *, transcript: bytes | None = None, size: int | None = None
    ) -> dict[str, Any]:
        """Zoom finished transcribing the recording's audio: adds the VTT file and
        returns the recording.transcript_completed event (only that file listed)."""
        host = self.users[self.meetings[meeting_id]["host_id"]]
        if transcript is None and size is None:
            transcript = _default_transcript(host)
        vtt = self.add_recording_file(
            meeting_id, "TRANSCRIPT", "audio_transcript", content=transcript, size=size
        )
        return self.recording_event("recording.transcript_completed", meeting_id, [vtt])

    def recording_event(
        self, event: str, meeting_id: int, files: list[CloudFile]
    ) -> dict[str, Any]:
        """A recording event listing ``files``, with a new download_token."""
        with self.lock:
            meeting = self.meetings[meeting_id]
            host = self.users[meeting["host_id"]]
            started = datetime.fromisoformat(meeting["start_time"].replace("Z", "+00:00"))
            minutes = max(1, round((time.time() - started.timestamp()) / 60))
            obj: dict[str, Any] = {
                "uuid": meeting["uuid"],
                "id": int(meeting["id"]),
                "account_id": host.account_id,
                "host_id": host.id,
                "topic": meeting["topic"],
                "type": meeting["type"],
                "start_time": meeting["start_time"],
                "password": self.recording_passwords.setdefault(
                    meeting_id, secrets.token_urlsafe(6)[:8]
                ),
                "timezone": meeting["timezone"],
                "host_email": host.email,
                "duration": minutes,
                "share_url": f"{self.url}/rec/share/{_b64url(meeting['uuid'].encode())}",
                "total_size": sum(f.size for f in files),
                "recording_count": len(files),
                "recording_play_passcode": secrets.token_urlsafe(24),
                "recording_files": [f.to_json(self.url) for f in files],
            }
        built = self.build_event(event, obj, account_id=host.account_id)
        built["download_token"] = self.issue_download_token(meeting_id)
        return built

    def issue_download_token(self, meeting_id: int) -> str:
        """A download token for the meeting's recording files, shaped like Zoom's
        (a signed JWT) and valid for 24 hours."""
        now = int(time.time())
        claims = {
            "iss": "https://event.zoom.us",
            "aud": "https://oauth.zoom.us",
            "mid": self.meetings[meeting_id]["uuid"],
            "exp": now + int(DOWNLOAD_TOKEN_LIFETIME),
            "jti": secrets.token_hex(16),
        }
        signing_input = (
            _b64url(json.dumps({"alg": "HS512"}).encode())
            + "."
            + _b64url(json.dumps(claims).encode())
        )
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha512).digest()
        token = signing_input + "." + _b64url(signature)
        with self.lock:
            self.download_tokens[token] = (meeting_id, now + DOWNLOAD_TOKEN_LIFETIME)
        return token

    def expire_download_tokens(self) -> None:
        """A day passes: no download token handed out so far works any more."""
        with self.lock:
            for token, (meeting_id, _) in list(self.download_tokens.items()):
                self.download_tokens[token] = (meeting_id, time.time() - 1)

    def may_download(self, key: str, token: str) -> CloudFile | None:
        """The file, if ``token`` is a live download token for its meeting."""
        with self.lock:
            cloud = self.cloud_files.get(key)
            grant = self.download_tokens.get(token)
            if cloud is None or grant is None:
                return None
            meeting_id, expires_at = grant
            if meeting_id != cloud.meeting_id or expires_at <= time.time():
                return None
            return cloud

    def storage_signature(self, key: str, expires: int) -> str:
        message = f"{key}:{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

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
