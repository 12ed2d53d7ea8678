"""Mattermost REST API v4, as the bot account. A thin adapter: no decisions here."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

# Storing a large upload can take Mattermost a while after the last byte arrived.
UPLOAD_TIMEOUT = httpx.Timeout(10.0, connect=5.0, read=120.0)


class MattermostError(Exception):
    """A Mattermost call failed. Carries Mattermost's error id, never the bot token."""

    def __init__(self, status: int, error_id: str, message: str, retry_after: float | None = None):
        super().__init__(f"Mattermost answered {status}: {error_id or message}")
        self.status = status
        self.error_id = error_id
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class MattermostUser:
    id: str
    username: str
    email: str
    roles: frozenset[str]


@dataclass(frozen=True)
class MattermostChannel:
    id: str
    type: str
    team_id: str
    name: str
    display_name: str


class MattermostClient:
    def __init__(self, base_url: str, bot_token: str, http: httpx.AsyncClient) -> None:
        self._base = f"{base_url}/api/v4"
        self._headers = {"Authorization": f"Bearer {bot_token}"}
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        response = await self._http.request(
            method,
            self._base + path,
            json=json,
            headers={**self._headers, **(headers or {})},
            **kwargs,
        )
        if response.is_error:
            raise _error(response)
        return response

    async def get_me(self) -> MattermostUser:
        return _user((await self._call("GET", "/users/me")).json())

    async def get_user(self, user_id: str) -> MattermostUser:
        return _user((await self._call("GET", f"/users/{user_id}")).json())

    async def get_channel(self, channel_id: str) -> MattermostChannel:
        data = (await self._call("GET", f"/channels/{channel_id}")).json()
        return MattermostChannel(
            id=data["id"],
            type=data["type"],
            team_id=data.get("team_id", ""),
            name=data.get("name", ""),
            display_name=data.get("display_name", ""),
        )

    async def is_channel_member(self, channel_id: str, user_id: str) -> bool:
        return await self.channel_member_roles(channel_id, user_id) is not None

    async def channel_member_roles(self, channel_id: str, user_id: str) -> frozenset[str] | None:
        """The user's roles in the channel (e.g. channel_admin), None if not a member."""
        try:
            data = (await self._call("GET", f"/channels/{channel_id}/members/{user_id}")).json()
        except MattermostError as exc:
            if exc.status == 404:
                return None
            raise
        return frozenset(str(data.get("roles", "")).split())

    async def create_post(self, post: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = (await self._call("POST", "/posts", json=post)).json()
        return result

    async def send_ephemeral(
        self,
        user_id: str,
        channel_id: str,
        message: str,
        props: dict[str, Any] | None = None,
        *,
        replaces: str | None = None,
    ) -> None:
        """Show a message to one user. ``replaces``: the id of an ephemeral post this
        one takes the place of (clients replace ephemeral posts by id; the server
        keeps none it could update)."""
        post: dict[str, Any] = {"channel_id": channel_id, "message": message}
        if props:
            post["props"] = props
        if replaces:
            post["id"] = replaces
        await self._call("POST", "/posts/ephemeral", json={"user_id": user_id, "post": post})

    async def get_post(self, post_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._call("GET", f"/posts/{post_id}")).json()
        return result

    async def patch_post(self, post_id: str, patch: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = (
            await self._call("PUT", f"/posts/{post_id}/patch", json=patch)
        ).json()
        return result

    async def get_thread(self, post_id: str) -> list[dict[str, Any]]:
        """The posts of the thread ``post_id`` belongs to, root included."""
        data = (await self._call("GET", f"/posts/{post_id}/thread")).json()
        posts: dict[str, dict[str, Any]] = data.get("posts") or {}
        order = [str(i) for i in data.get("order") or posts]
        return [posts[i] for i in order if i in posts]

    async def channel_posts_since(self, channel_id: str, since: datetime) -> list[dict[str, Any]]:
        """Posts of the channel created or changed after ``since`` (Mattermost lists
        at most 1000), deleted ones left out."""
        millis = int(since.timestamp() * 1000)
        data = (
            await self._call("GET", f"/channels/{channel_id}/posts", params={"since": millis})
        ).json()
        posts: dict[str, dict[str, Any]] = data.get("posts") or {}
        return [post for post in posts.values() if not post.get("delete_at")]

    async def upload_file(
        self,
        channel_id: str,
        filename: str,
        content: AsyncIterable[bytes],
        *,
        content_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """Upload a file to a channel, to attach to a post there; returns its FileInfo.

        ``content`` is streamed into a multipart body as it arrives, never held
        whole. channel_id comes first, so that Mattermost can stream the file too.
        """
        boundary = secrets.token_hex(16)
        response = await self._call(
            "POST",
            "/files",
            content=_multipart(boundary, channel_id, filename, content_type, content),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout=UPLOAD_TIMEOUT,
        )
        infos = response.json().get("file_infos") or []
        if not infos:
            raise MattermostError(response.status_code, "", "the upload returned no file")
        result: dict[str, Any] = infos[0]
        return result

    async def direct_channel(self, user_id: str, other_user_id: str) -> str:
        data = (await self._call("POST", "/channels/direct", json=[user_id, other_user_id])).json()
        return str(data["id"])

    async def open_dialog(self, trigger_id: str, url: str, dialog: dict[str, Any]) -> None:
        await self._call(
            "POST",
            "/actions/dialogs/open",
            json={"trigger_id": trigger_id, "url": url, "dialog": dialog},
        )


def _user(data: dict[str, Any]) -> MattermostUser:
    return MattermostUser(
        id=data["id"],
        username=data.get("username", ""),
        email=data.get("email", ""),
        roles=frozenset(str(data.get("roles", "")).split()),
    )


async def _multipart(
    boundary: str,
    channel_id: str,
    filename: str,
    content_type: str,
    content: AsyncIterable[bytes],
) -> AsyncIterator[bytes]:
    quoted = filename.replace("\\", "_").replace('"', "%22").replace("\r", "").replace("\n", "")
    yield (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="channel_id"\r\n\r\n'
        f"{channel_id}\r\n"
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="files"; filename="{quoted}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    async for chunk in content:
        if chunk:
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def _error(response: httpx.Response) -> MattermostError:
    error_id, message = "", ""
    try:
        body = response.json()
        error_id = str(body.get("id", ""))
        message = str(body.get("message", ""))
    except ValueError:
        pass
    retry_after = response.headers.get("Retry-After")
    return MattermostError(
        response.status_code,
        error_id,
        message,
        float(retry_after) if retry_after and retry_after.isdigit() else None,
    )
