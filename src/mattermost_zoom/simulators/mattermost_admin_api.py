"""The administration part of the Mattermost simulator's REST API: system ping,
teams, bot accounts, user roles, user access tokens and slash commands, as
``mattermost-zoom setup`` and ``check`` use them.

Facts this follows are taken from the Mattermost server source (api4/bot.go,
api4/user.go, api4/command.go, app/bot.go, app/command.go,
app/user_access_token.go, model/command.go):

- ``POST /bots`` needs the ``create_bot`` permission (system admins), is refused
  to bots, and answers 403 ``api.bot.create_disabled`` while
  ``ServiceSettings.EnableBotAccountCreation`` is off, which is its default.
- ``POST /users/{id}/tokens`` answers 501 ``app.user_access_token.disabled`` while
  ``EnableUserAccessTokens`` is off (its default), except for bot accounts, and
  answers 200 with the only copy of the token Mattermost ever shows.
- ``POST /commands`` answers 201; a trigger already used in the team (or by a
  built-in command) is refused with 400 ``api.command.duplicate_trigger.app_error``;
  ``GET /commands?custom_only=true`` lists the team's custom commands with their
  tokens, to those who may manage them.
- ``GET /system/ping`` needs no session.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mattermost_zoom.simulators.mattermost_api import ApiError
from mattermost_zoom.simulators.mattermost_model import (
    ERR_PERMISSION,
    ERR_SESSION,
    ERR_USER_MISSING,
    Command,
    User,
    invalid_body_param,
    invalid_param,
    new_id,
)

if TYPE_CHECKING:
    from mattermost_zoom.simulators.mattermost import MattermostSimulator

Handler = Callable[[Request], Awaitable[Response]]
RouteFactory = Callable[[str, Handler, str], Route]

ERR_BOT_CREATE_DISABLED = ("api.bot.create_disabled", "Bot creation has been disabled.")
ERR_BOT_MISSING = ("store.sql_bot.get.missing.app_error", "Bot does not exist.")
ERR_USERNAME_EXISTS = (
    "app.user.save.username_exists.app_error",
    "An account with that username already exists.",
)
ERR_USERNAME_INVALID = ("model.user.is_valid.username.app_error", "Invalid username.")
ERR_TOKENS_DISABLED = (
    "app.user_access_token.disabled",
    "Personal access tokens are disabled on this server. "
    "Please contact your system administrator for details.",
)
ERR_COMMANDS_DISABLED = (
    "api.command.disabled.app_error",
    "Commands have been disabled by the admin.",
)
ERR_DUPLICATE_TRIGGER = (
    "api.command.duplicate_trigger.app_error",
    "This trigger word is already in use. Please choose another word.",
)
ERR_TEAM_MISSING = ("app.team.get.find.app_error", "Unable to find the existing team.")

# Triggers of the server's built-in commands: a custom command cannot take them.
BUILT_IN_TRIGGERS = frozenset(
    {
        "away", "code", "collapse", "dnd", "echo", "expand", "groupmsg", "header", "help",
        "invite", "invite_people", "join", "kick", "leave", "logout", "me", "msg", "mute",
        "offline", "online", "open", "purpose", "remove", "rename", "search", "settings",
        "shortcuts", "shrug", "status",
    }
)  # fmt: skip
_USERNAME_RE = re.compile(r"^[a-z0-9.\-_]{3,22}$")  # model.IsValidUsername, lower case
MAX_PER_PAGE = 200


@dataclass
class BotRecord:
    """What Mattermost keeps about a bot besides its user: owner, names, state."""

    user_id: str
    owner_id: str
    display_name: str
    description: str
    create_at: int
    update_at: int
    delete_at: int = 0  # set while the bot is disabled


@dataclass
class CommandRecord:
    """What Mattermost keeps about a slash command besides trigger, URL and token."""

    id: str
    creator_id: str
    create_at: int
    display_name: str = ""
    description: str = ""
    auto_complete: bool = False
    auto_complete_desc: str = ""
    auto_complete_hint: str = ""
    username: str = ""
    icon_url: str = ""


@dataclass
class TokenRecord:
    id: str
    user_id: str
    description: str


@dataclass
class AdminState:
    """Server settings and records the administration API needs.

    Defaults are those of a fresh Mattermost server.
    """

    enable_bot_account_creation: bool = False  # ServiceSettings.EnableBotAccountCreation
    enable_user_access_tokens: bool = False  # ServiceSettings.EnableUserAccessTokens
    enable_commands: bool = True  # ServiceSettings.EnableCommands
    bots: dict[str, BotRecord] = field(default_factory=dict)  # by user id
    commands: dict[str, CommandRecord] = field(default_factory=dict)  # by command token
    tokens: dict[str, TokenRecord] = field(default_factory=dict)  # by access token


_STATES: weakref.WeakKeyDictionary[MattermostSimulator, AdminState] = weakref.WeakKeyDictionary()


def admin_state(sim: MattermostSimulator) -> AdminState:
    """The administration state of a simulator (created on first use)."""
    with sim.lock:
        state = _STATES.get(sim)
        if state is None:
            state = _STATES[sim] = AdminState()
        return state


def _bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "t", "true")


def _paging(request: Request) -> tuple[int, int]:
    try:
        page = int(request.query_params.get("page", "0"))
        per_page = int(request.query_params.get("per_page", "60"))
    except ValueError:
        raise ApiError(invalid_param("page"), 400) from None
    if page < 0 or per_page < 0:
        raise ApiError(invalid_param("page"), 400)
    return page, min(per_page, MAX_PER_PAGE)


async def _json_object(request: Request, name: str) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise ApiError(invalid_body_param(name), 400, str(exc)) from exc
    if not isinstance(body, dict):
        raise ApiError(invalid_body_param(name), 400)
    return body


class _AdminApi:
    def __init__(self, sim: MattermostSimulator) -> None:
        self.sim = sim
        self.state = admin_state(sim)

    # -------------------------------------------------------------- helpers

    def caller(self, request: Request) -> User:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() in ("bearer", "token") else ""
        token = token or request.query_params.get("access_token", "")
        if not token:
            raise ApiError(ERR_SESSION, 401, "token not provided")
        user = self.sim.user_for_token(token)
        if user is None:
            raise ApiError(ERR_SESSION, 401, "token not valid")
        return user

    def require_admin(self, user: User, permission: str) -> None:
        if not user.has_role("system_admin"):
            raise ApiError(ERR_PERMISSION, 403, permission)

    def bot_record(self, user: User) -> BotRecord:
        """The bot record of a bot user (made up for bots seeded with add_bot)."""
        with self.sim.lock:
            record = self.state.bots.get(user.id)
            if record is None:
                record = self.state.bots[user.id] = BotRecord(
                    user_id=user.id,
                    owner_id="",
                    display_name=user.first_name,
                    description="",
                    create_at=user.create_at,
                    update_at=user.create_at,
                )
            return record

    def bot_json(self, user: User) -> dict[str, Any]:
        record = self.bot_record(user)
        return {
            "user_id": user.id,
            "username": user.username,
            "display_name": record.display_name,
            "description": record.description,
            "owner_id": record.owner_id,
            "last_icon_update": 0,
            "create_at": record.create_at,
            "update_at": record.update_at,
            "delete_at": record.delete_at,
        }

    def command_record(self, command: Command) -> CommandRecord:
        with self.sim.lock:
            record = self.state.commands.get(command.token)
            if record is None:
                record = self.state.commands[command.token] = CommandRecord(
                    id=new_id(), creator_id="", create_at=self.sim.now()
                )
            return record

    def command_json(self, command: Command, *, sanitize: bool = False) -> dict[str, Any]:
        record = self.command_record(command)
        data: dict[str, Any] = {
            "id": record.id,
            "token": command.token,
            "create_at": record.create_at,
            "update_at": record.create_at,
            "delete_at": 0,
            "creator_id": record.creator_id,
            "team_id": command.team_id,
            "trigger": command.trigger,
            "method": command.method,
            "username": record.username,
            "icon_url": record.icon_url,
            "auto_complete": record.auto_complete,
            "auto_complete_desc": record.auto_complete_desc,
            "auto_complete_hint": record.auto_complete_hint,
            "display_name": record.display_name,
            "description": record.description,
            "url": command.url,
            "plugin_id": "",
        }
        if sanitize:  # model.Command.Sanitize
            for key in ("token", "creator_id", "method", "url", "username", "icon_url"):
                data[key] = ""
        return data

    def team_json(self, team_id: str) -> dict[str, Any]:
        team = self.sim.teams[team_id]
        return {
            "id": team.id,
            "create_at": 0,
            "update_at": 0,
            "delete_at": 0,
            "display_name": team.display_name,
            "name": team.name,
            "description": "",
            "email": "",
            "type": "O",
            "company_name": "",
            "allowed_domains": "",
            "invite_id": "",
            "allow_open_invite": False,
            "scheme_id": None,
            "group_constrained": None,
            "policy_id": None,
            "cloud_limits_archived": False,
        }

    # -------------------------------------------------------------- system

    async def ping(self, request: Request) -> Response:
        # Registered with APIHandler: no session needed, a bad token is ignored.
        return JSONResponse(
            {
                "ActiveSearchBackend": "database",
                "AndroidLatestVersion": "",
                "AndroidMinVersion": "",
                "IosLatestVersion": "",
                "IosMinVersion": "",
                "status": "OK",
            }
        )

    # -------------------------------------------------------------- teams

    async def get_teams(self, request: Request) -> Response:
        self.caller(request)
        page, per_page = _paging(request)
        with self.sim.lock:
            ids = sorted(self.sim.teams, key=lambda i: self.sim.teams[i].name)
        chosen = ids[page * per_page : (page + 1) * per_page]
        return JSONResponse([self.team_json(i) for i in chosen])

    # -------------------------------------------------------------- bots

    async def get_bots(self, request: Request) -> Response:
        viewer = self.caller(request)
        self.require_admin(viewer, "read_bots")
        page, per_page = _paging(request)
        include_deleted = _bool_param(request, "include_deleted")
        with self.sim.lock:
            bots = sorted(
                (u for u in self.sim.users.values() if u.is_bot), key=lambda u: u.create_at
            )
        listed = [
            self.bot_json(b) for b in bots if include_deleted or not self.bot_record(b).delete_at
        ]
        return JSONResponse(listed[page * per_page : (page + 1) * per_page])

    def find_bot(self, request: Request, *, include_deleted: bool) -> User:
        viewer = self.caller(request)
        self.require_admin(viewer, "read_others_bots")
        user = self.sim.users.get(request.path_params["bot_user_id"])
        if user is None or not user.is_bot:
            raise ApiError(ERR_BOT_MISSING, 404)
        if self.bot_record(user).delete_at and not include_deleted:
            raise ApiError(ERR_BOT_MISSING, 404)
        return user

    async def get_bot(self, request: Request) -> Response:
        bot = self.find_bot(request, include_deleted=_bool_param(request, "include_deleted"))
        return JSONResponse(self.bot_json(bot))

    async def create_bot(self, request: Request) -> Response:
        viewer = self.caller(request)
        body = await _json_object(request, "bot")
        self.require_admin(viewer, "create_bot")
        if viewer.is_bot:
            raise ApiError(ERR_PERMISSION, 403, "create_bot")
        if not self.state.enable_bot_account_creation:
            raise ApiError(ERR_BOT_CREATE_DISABLED, 403)
        username = str(body.get("username") or "").lower()
        if not _USERNAME_RE.match(username):
            raise ApiError(ERR_USERNAME_INVALID, 400)
        display_name = str(body.get("display_name") or "")
        with self.sim.lock:
            if any(u.username == username for u in self.sim.users.values()):
                raise ApiError(ERR_USERNAME_EXISTS, 400)
            user = self.sim.add_user(
                username, email=f"{username}@localhost", first_name=display_name
            )
            user.is_bot = True
            now = self.sim.now()
            self.state.bots[user.id] = BotRecord(
                user_id=user.id,
                owner_id=viewer.id,
                display_name=display_name,
                description=str(body.get("description") or ""),
                create_at=now,
                update_at=now,
            )
        return JSONResponse(self.bot_json(user), status_code=201)

    async def enable_bot(self, request: Request) -> Response:
        bot = self.find_bot(request, include_deleted=True)
        with self.sim.lock:
            record = self.bot_record(bot)
            record.delete_at = 0
            record.update_at = self.sim.now()
        return JSONResponse(self.bot_json(bot))

    # -------------------------------------------------------------- users

    async def update_roles(self, request: Request) -> Response:
        viewer = self.caller(request)
        body = await _json_object(request, "roles")
        self.require_admin(viewer, "manage_roles")
        roles = body.get("roles")
        if not isinstance(roles, str) or not roles.split():
            raise ApiError(invalid_param("roles"), 400)
        with self.sim.lock:
            user = self.sim.users.get(request.path_params["user_id"])
            if user is None:
                raise ApiError(ERR_USER_MISSING, 404)
            user.roles = " ".join(roles.split())
        return JSONResponse({"status": "OK"})

    async def create_token(self, request: Request) -> Response:
        viewer = self.caller(request)
        body = await _json_object(request, "user_access_token")
        description = str(body.get("description") or "")
        if not description:
            raise ApiError(invalid_param("description"), 400)
        user_id = request.path_params["user_id"]
        # create_user_access_token; edit_other_users for anyone else.
        allowed = viewer.has_role("system_admin") or (
            viewer.id == user_id and viewer.has_role("system_user_access_token")
        )
        if not allowed:
            raise ApiError(ERR_PERMISSION, 403, "create_user_access_token")
        target = self.sim.users.get(user_id)
        if target is None:
            raise ApiError(ERR_USER_MISSING, 404)
        if not self.state.enable_user_access_tokens and not target.is_bot:
            raise ApiError(ERR_TOKENS_DISABLED, 501)
        token = self.sim.add_token(target.id)
        record = TokenRecord(id=new_id(), user_id=target.id, description=description)
        with self.sim.lock:
            self.state.tokens[token] = record
        # The server writes the token without setting a status: 200, not 201.
        return JSONResponse(
            {
                "id": record.id,
                "token": token,
                "user_id": target.id,
                "description": description,
                "is_active": True,
            }
        )

    # -------------------------------------------------------------- commands

    def team_id(self, value: object) -> str:
        team_id = str(value or "")
        if not team_id:
            raise ApiError(invalid_param("team_id"), 400)
        if team_id not in self.sim.teams:
            raise ApiError(ERR_TEAM_MISSING, 404)
        return team_id

    async def list_commands(self, request: Request) -> Response:
        viewer = self.caller(request)
        team_id = self.team_id(request.query_params.get("team_id"))
        if not self.state.enable_commands:
            raise ApiError(ERR_COMMANDS_DISABLED, 501)
        with self.sim.lock:
            commands = [c for c in self.sim.commands if c.team_id == team_id]
        if _bool_param(request, "custom_only"):
            self.require_admin(viewer, "manage_slash_commands")
            return JSONResponse([self.command_json(c) for c in commands])
        # Without the permission: what autocomplete shows (built-ins not modelled).
        return JSONResponse(
            [
                self.command_json(c, sanitize=True)
                for c in commands
                if self.command_record(c).auto_complete
            ]
        )

    async def create_command(self, request: Request) -> Response:
        viewer = self.caller(request)
        body = await _json_object(request, "command")
        team_id = self.team_id(body.get("team_id"))
        self.require_admin(viewer, "manage_slash_commands")
        if not self.state.enable_commands:
            raise ApiError(ERR_COMMANDS_DISABLED, 501)
        trigger = str(body.get("trigger") or "").lower()
        url = str(body.get("url") or "")
        method = str(body.get("method") or "")
        self._validate_command(body, trigger, url, method)
        with self.sim.lock:
            taken = {c.trigger for c in self.sim.commands if c.team_id == team_id}
            if trigger in taken or trigger in BUILT_IN_TRIGGERS:
                raise ApiError(ERR_DUPLICATE_TRIGGER, 400)
            command = self.sim.register_command(team_id, trigger, url=url, method=method)
            self.state.commands[command.token] = CommandRecord(
                id=new_id(),
                creator_id=viewer.id,
                create_at=self.sim.now(),
                display_name=str(body.get("display_name") or ""),
                description=str(body.get("description") or ""),
                auto_complete=bool(body.get("auto_complete")),
                auto_complete_desc=str(body.get("auto_complete_desc") or ""),
                auto_complete_hint=str(body.get("auto_complete_hint") or ""),
                username=str(body.get("username") or ""),
                icon_url=str(body.get("icon_url") or ""),
            )
        return JSONResponse(self.command_json(command), status_code=201)

    @staticmethod
    def _validate_command(body: dict[str, Any], trigger: str, url: str, method: str) -> None:
        """model.Command.IsValid, in its order."""
        if not 1 <= len(trigger) <= 128 or trigger.startswith("/") or " " in trigger:
            raise ApiError(("model.command.is_valid.trigger.app_error", "Invalid trigger."), 400)
        if not url or len(url) > 1024:
            raise ApiError(("model.command.is_valid.url.app_error", "Invalid URL."), 400)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(
                (
                    "model.command.is_valid.url_http.app_error",
                    "Invalid URL. Must be a valid URL and start with http:// or https://.",
                ),
                400,
            )
        if method not in ("P", "G"):
            raise ApiError(("model.command.is_valid.method.app_error", "Invalid Method."), 400)
        if len(str(body.get("display_name") or "")) > 64:
            raise ApiError(("model.command.is_valid.display_name.app_error", "Invalid title."), 400)
        if len(str(body.get("description") or "")) > 128:
            raise ApiError(
                ("model.command.is_valid.description.app_error", "Invalid description."), 400
            )


def admin_routes(sim: MattermostSimulator, route: RouteFactory) -> list[Route]:
    """The administration routes, made with the API's ``route`` (recording, faults,
    error bodies). They must come before the API's catch-all."""
    api = _AdminApi(sim)
    v4 = "/api/v4"
    return [
        route(f"{v4}/system/ping", api.ping, "GET"),
        route(f"{v4}/teams", api.get_teams, "GET"),
        route(f"{v4}/bots", api.get_bots, "GET"),
        route(f"{v4}/bots", api.create_bot, "POST"),
        route(f"{v4}/bots/{{bot_user_id}}", api.get_bot, "GET"),
        route(f"{v4}/bots/{{bot_user_id}}/enable", api.enable_bot, "POST"),
        route(f"{v4}/users/{{user_id}}/roles", api.update_roles, "PUT"),
        route(f"{v4}/users/{{user_id}}/tokens", api.create_token, "POST"),
        route(f"{v4}/commands", api.list_commands, "GET"),
        route(f"{v4}/commands", api.create_command, "POST"),
    ]
