"""Mattermost REST API v4 calls of ``setup`` and ``check``: the system, teams, bot
accounts, roles, access tokens and slash commands. A thin adapter, like
``clients.mattermost``: no decisions here, and no token in any error or ``repr``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from mattermost_zoom.clients.mattermost import MattermostError

PER_PAGE = 200  # the most Mattermost returns in one page


@dataclass(frozen=True)
class Account:
    """A user as ``/users/me`` or ``/users/{id}`` shows it."""

    id: str
    username: str
    roles: frozenset[str]
    is_bot: bool


@dataclass(frozen=True)
class Bot:
    user_id: str
    username: str
    display_name: str
    owner_id: str
    disabled: bool


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    display_name: str


@dataclass(frozen=True)
class SlashCommand:
    id: str
    team_id: str
    trigger: str
    url: str
    method: str
    token: str = field(repr=False)


class MattermostAdmin:
    """Calls made with one token: the admin's during setup, the bot's during check."""

    def __init__(self, base_url: str, token: str, http: httpx.AsyncClient) -> None:
        self._base = f"{base_url}/api/v4"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._http = http

    def __repr__(self) -> str:
        return f"MattermostAdmin({self._base!r})"

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(
            method, self._base + path, headers=self._headers, **kwargs
        )
        if response.is_error:
            raise _error(response)
        return response.json() if response.content else None

    async def _pages(self, fetch: Callable[[int], Awaitable[Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        page = 0
        while True:
            batch = await fetch(page)
            if not isinstance(batch, list):
                raise MattermostError(200, "", "expected a list")
            items += [b for b in batch if isinstance(b, dict)]
            if len(batch) < PER_PAGE:
                return items
            page += 1

    async def ping(self) -> int:
        """The HTTP status of ``GET /system/ping``, sent without a token."""
        response = await self._http.get(self._base + "/system/ping")
        return response.status_code

    async def me(self) -> Account:
        return _account(await self._call("GET", "/users/me"))

    async def user(self, user_id: str) -> Account:
        return _account(await self._call("GET", f"/users/{user_id}"))

    async def bots(self, *, include_deleted: bool) -> list[Bot]:
        def fetch(page: int) -> Awaitable[Any]:
            params = {"page": page, "per_page": PER_PAGE, "include_deleted": include_deleted}
            return self._call("GET", "/bots", params=params)

        return [_bot(b) for b in await self._pages(fetch)]

    async def create_bot(self, username: str, display_name: str, description: str) -> Bot:
        body = {"username": username, "display_name": display_name, "description": description}
        return _bot(await self._call("POST", "/bots", json=body))

    async def enable_bot(self, user_id: str) -> Bot:
        return _bot(await self._call("POST", f"/bots/{user_id}/enable"))

    async def set_roles(self, user_id: str, roles: str) -> None:
        await self._call("PUT", f"/users/{user_id}/roles", json={"roles": roles})

    async def create_token(self, user_id: str, description: str) -> str:
        """A new access token for the user; Mattermost never shows it again."""
        data = await self._call(
            "POST", f"/users/{user_id}/tokens", json={"description": description}
        )
        return str(data["token"])

    async def teams(self) -> list[Team]:
        def fetch(page: int) -> Awaitable[Any]:
            return self._call("GET", "/teams", params={"page": page, "per_page": PER_PAGE})

        return [
            Team(
                id=str(t["id"]),
                name=str(t.get("name", "")),
                display_name=str(t.get("display_name", "")),
            )
            for t in await self._pages(fetch)
        ]

    async def commands(self, team_id: str) -> list[SlashCommand]:
        """The team's custom slash commands, with their tokens."""
        data = await self._call(
            "GET", "/commands", params={"team_id": team_id, "custom_only": "true"}
        )
        return [_command(c) for c in data or [] if isinstance(c, dict)]

    async def create_command(self, command: dict[str, Any]) -> SlashCommand:
        return _command(await self._call("POST", "/commands", json=command))


def _account(data: dict[str, Any]) -> Account:
    return Account(
        id=str(data["id"]),
        username=str(data.get("username", "")),
        roles=frozenset(str(data.get("roles", "")).split()),
        is_bot=bool(data.get("is_bot")),
    )


def _bot(data: dict[str, Any]) -> Bot:
    return Bot(
        user_id=str(data["user_id"]),
        username=str(data.get("username", "")),
        display_name=str(data.get("display_name", "")),
        owner_id=str(data.get("owner_id", "")),
        disabled=bool(data.get("delete_at")),
    )


def _error(response: httpx.Response) -> MattermostError:
    error_id, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error_id, message = str(body.get("id", "")), str(body.get("message", ""))
    return MattermostError(response.status_code, error_id, message)


def _command(data: dict[str, Any]) -> SlashCommand:
    return SlashCommand(
        id=str(data.get("id", "")),
        team_id=str(data.get("team_id", "")),
        trigger=str(data.get("trigger", "")),
        url=str(data.get("url", "")),
        method=str(data.get("method", "")),
        token=str(data.get("token", "")),
    )
