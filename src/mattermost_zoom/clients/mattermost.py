"""Mattermost REST API v4, as the bot account. A thin adapter: no decisions here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


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
        self, method: str, path: str, *, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        response = await self._http.request(
            method, self._base + path, json=json, headers=self._headers, **kwargs
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
        try:
            await self._call("GET", f"/channels/{channel_id}/members/{user_id}")
        except MattermostError as exc:
            if exc.status == 404:
                return False
            raise
        return True

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
