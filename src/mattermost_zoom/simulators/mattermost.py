"""An in-memory Mattermost: REST API v4 subset (``.app``) plus a driver that plays
the server's outgoing side (slash commands, button clicks, dialogs) and the users.

Facts this follows are taken from the Mattermost server source (app/command.go,
app/integration_action.go, api4/action.go, api4/post.go, model/integration_action.go).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import re
import ssl
import threading
import time
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette

from mattermost_zoom.simulators import mattermost_api
from mattermost_zoom.simulators.mattermost_model import (
    ACTION_ID_RE,
    ERR_ACTION_ID,
    ERR_ACTION_INTEGRATION,
    ERR_NOT_FOUND,
    ERR_PERMISSION,
    ERR_UPDATE_MISSING,
    RETAIN_PROP_KEYS,
    ActionResult,
    Channel,
    Command,
    CommandResult,
    CommandWebhook,
    DialogResult,
    FileInfo,
    IssuedTrigger,
    OpenedDialog,
    Team,
    User,
    app_error,
    generate_action_ids,
    iter_actions,
    new_id,
)
from mattermost_zoom.simulators.recording import Faults, FaultSwitches, RecordedRequest
from mattermost_zoom.simulators.server import ServerThread

T = TypeVar("T")

_MENTION_RE = re.compile(r"\B@([A-Za-z0-9][A-Za-z0-9.\-_:]*)")
_CHANNEL_MENTION_RE = re.compile(r"\B~([a-z0-9.\-_]+)")

COMMAND_HOOK_LIFETIME_MS = 30 * 60 * 1000  # model.CommandWebhookLifetime
COMMAND_HOOK_MAX_USES = 5  # model.MaxCommandWebhookUses


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the calling thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class MattermostSimulator(FaultSwitches):
    """State of one Mattermost server and the means to act as its users."""

    def __init__(self, *, url: str = "http://mattermost.invalid") -> None:
        self.url = url  # the SiteURL; set by serve() to the real address
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.members: dict[str, dict[str, str]] = {}  # channel id -> user id -> roles
        self.posts: dict[str, dict[str, Any]] = {}
        self.ephemeral: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.files: dict[str, FileInfo] = {}
        # Contents of uploaded files up to mattermost_api.KEEP_CONTENT_BYTES; every
        # file's size and SHA-256 are in ``files``.
        self.file_contents: dict[str, bytes] = {}
        self.max_file_size = 100 * 1024 * 1024  # FileSettings.MaxFileSize (default 100 MiB)
        self.dialogs: list[OpenedDialog] = []
        self.tokens: dict[str, str] = {}  # access token -> user id
        self.commands: list[Command] = []
        self.triggers: dict[str, IssuedTrigger] = {}
        self.command_hooks: dict[str, CommandWebhook] = {}
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        # PrivacySettings.ShowEmailAddress / ShowFullName (both default true).
        self.show_email_address = True
        self.show_full_name = True
        # Dialog trigger ids are checked against OutgoingIntegrationRequestsTimeout
        # (default 30 s); servers before that used a fixed 3 s.
        self.trigger_ttl = 30.0
        self.integration_timeout = 30.0  # OutgoingIntegrationRequestsTimeout
        self.lock = threading.RLock()
        self._last_ms = 0
        self._signing_key = new_id().encode()
        self._ssl: ssl.SSLContext | None = None
        self.app: Starlette = mattermost_api.build_app(self)

    # ------------------------------------------------------------------ basics

    def now(self) -> int:
        """Milliseconds, strictly increasing so that posts keep their order."""
        with self.lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
            return self._last_ms

    def http_client(self) -> httpx.AsyncClient:
        """A client for calls to the integration (the SSL context is built once:
        creating one per client costs tens of milliseconds)."""
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return httpx.AsyncClient(timeout=self.integration_timeout, verify=self._ssl)

    def serve(self) -> ServerThread:
        """Start serving ``.app`` on a free port and use that address as SiteURL."""
        server = ServerThread(self.app).start()
        self.url = server.url
        return server

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int,
        headers: dict[str, str] | None = None,
        times: int = 1,
        *,
        after: bool = False,
    ) -> None:
        """Fail matching requests. ``after=True``: the request takes effect first
        and only its answer is lost (e.g. a proxy timing out with 504)."""
        self.faults.fail_next(method, path_prefix, status, headers, times=times, after=after)

    # ------------------------------------------------------------------ seeding

    def add_user(
        self,
        username: str,
        *,
        email: str | None = None,
        first_name: str = "",
        last_name: str = "",
        roles: str = "system_user",
        user_id: str | None = None,
    ) -> User:
        user = User(
            id=user_id or new_id(),
            username=username,
            email=email if email is not None else f"{username}@example.com",
            first_name=first_name,
            last_name=last_name,
            roles=roles,
            create_at=self.now(),
        )
        with self.lock:
            self.users[user.id] = user
        return user

    def add_bot(
        self, username: str, *, system_admin: bool = False, post_all: bool = False
    ) -> tuple[User, str]:
        """A bot account and an access token for it.

        A bot has the role ``system_user`` unless told otherwise. Note that
        ``POST /posts/ephemeral`` needs ``create_post_ephemeral``, which only the
        ``system_admin`` role grants; ``post_all`` adds ``system_post_all``.
        """
        roles = "system_user"
        if post_all:
            roles += " system_post_all"
        if system_admin:
            roles += " system_admin"
        bot = self.add_user(username, email="", roles=roles)
        bot.is_bot = True
        return bot, self.add_token(bot.id)

    def add_token(self, user_id: str) -> str:
        token = new_id()
        with self.lock:
            self.tokens[token] = user_id
        return token

    def add_team(self, name: str, display_name: str | None = None) -> Team:
        team = Team(id=new_id(), name=name, display_name=display_name or name.title())
        with self.lock:
            self.teams[team.id] = team
        return team

    def add_channel(
        self,
        team: Team | str,
        type: str,
        name: str,
        members: Iterable[User | str] = (),
        *,
        display_name: str | None = None,
        admins: Iterable[User | str] = (),
    ) -> Channel:
        team_id = team.id if isinstance(team, Team) else team
        channel = Channel(
            id=new_id(),
            team_id=team_id if type in ("O", "P") else "",
            type=type,
            name=name,
            display_name=display_name
            if display_name is not None
            else name.replace("-", " ").title(),
            create_at=self.now(),
        )
        with self.lock:
            self.channels[channel.id] = channel
            self.members[channel.id] = {}
        for member in members:
            self.add_member(channel, member)
        for admin in admins:
            self.add_member(channel, admin, admin=True)
        return channel

    def add_member(self, channel: Channel | str, user: User | str, *, admin: bool = False) -> None:
        channel_id = channel.id if isinstance(channel, Channel) else channel
        user_id = user.id if isinstance(user, User) else user
        roles = "channel_user channel_admin" if admin else "channel_user"
        with self.lock:
            self.members.setdefault(channel_id, {})[user_id] = roles

    def direct_channel(self, user1: User | str, user2: User | str) -> Channel:
        id1 = user1.id if isinstance(user1, User) else user1
        id2 = user2.id if isinstance(user2, User) else user2
        name = "__".join(sorted((id1, id2)))  # model.GetDMNameFromIds
        with self.lock:
            for channel in self.channels.values():
                if channel.type == "D" and channel.name == name:
                    return channel
            channel = self.add_channel("", "D", name, [id1, id2], display_name="")
        return channel

    # ------------------------------------------------------------------ state helpers

    def user_for_token(self, token: str) -> User | None:
        with self.lock:
            user_id = self.tokens.get(token)
            return self.users.get(user_id) if user_id else None

    def is_member(self, channel_id: str, user_id: str) -> bool:
        with self.lock:
            return user_id in self.members.get(channel_id, {})

    def can_read_channel(self, user: User, channel: Channel) -> bool:
        # Team membership is not modelled: everyone is on every team, so open
        # channels are readable; others need membership (or system_admin).
        return (
            channel.is_open or user.has_role("system_admin") or self.is_member(channel.id, user.id)
        )

    def can_post(self, user: User, channel: Channel) -> bool:
        if user.has_role("system_admin") or user.has_role("system_post_all"):
            return True
        if channel.is_open and user.has_role("system_post_all_public"):
            return True
        # create_post comes from channel membership; create_post_public from the
        # team role, for open channels the user has not joined.
        return self.is_member(channel.id, user.id) or channel.is_open

    def create_post(
        self,
        user_id: str,
        channel_id: str,
        message: str,
        *,
        root_id: str = "",
        props: dict[str, Any] | None = None,
        type: str = "",
        file_ids: Iterable[str] = (),
    ) -> dict[str, Any]:
        now = self.now()
        props = copy.deepcopy(props) if props else {}
        generate_action_ids(props)
        with self.lock:
            user = self.users.get(user_id)
            if user is not None and user.is_bot:
                props["from_bot"] = "true"
            attached = []
            for file_id in file_ids:
                info = self.files.get(file_id)
                # Files that are unknown, in another channel or already used are dropped.
                if info and info.channel_id == channel_id and not info.post_id:
                    attached.append(file_id)
            post: dict[str, Any] = {
                "id": new_id(),
                "create_at": now,
                "update_at": now,
                "edit_at": 0,
                "delete_at": 0,
                "is_pinned": False,
                "user_id": user_id,
                "channel_id": channel_id,
                "root_id": root_id,
                "original_id": "",
                "message": message,
                "type": type,
                "props": props,
                "hashtags": "",
                "pending_post_id": "",
                "reply_count": 0,
                "last_reply_at": 0,
                "participants": None,
                "metadata": {},
            }
            if attached:
                post["file_ids"] = attached
                for file_id in attached:
                    self.files[file_id].post_id = post["id"]
            self.posts[post["id"]] = post
        return copy.deepcopy(post)

    def send_ephemeral(
        self,
        target_user_id: str,
        channel_id: str,
        message: str,
        *,
        author_id: str,
        props: dict[str, Any] | None = None,
        root_id: str = "",
        post_id: str = "",
    ) -> dict[str, Any]:
        """Show an ephemeral post to one user; an existing id replaces that post."""
        props = copy.deepcopy(props) if props else {}
        generate_action_ids(props)
        now = self.now()
        post: dict[str, Any] = {
            "id": post_id or new_id(),
            "create_at": now,
            "update_at": now,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": author_id,
            "channel_id": channel_id,
            "root_id": root_id,
            "original_id": "",
            "message": message,
            "type": "system_ephemeral",
            "props": props,
            "hashtags": "",
            "pending_post_id": "",
            "reply_count": 0,
            "last_reply_at": 0,
            "participants": None,
            "metadata": {},
        }
        with self.lock:
            shown = self.ephemeral.setdefault((target_user_id, channel_id), [])
            for index, existing in enumerate(shown):
                # The web app keeps posts by id: the same id replaces the shown post.
                if existing["id"] == post["id"]:
                    post["create_at"] = existing["create_at"]
                    shown[index] = post
                    break
            else:
                shown.append(post)
        return copy.deepcopy(post)

    def find_ephemeral(self, user_id: str, post_id: str) -> dict[str, Any] | None:
        with self.lock:
            for (owner, _), shown in self.ephemeral.items():
                if owner != user_id:
                    continue
                for post in shown:
                    if post["id"] == post_id:
                        return post
        return None

    def issue_trigger(self, user_id: str, channel_id: str, team_id: str) -> str:
        """A trigger id shaped like the server's: base64("client:user:millis:signature")."""
        issued = self.now()
        data = f"{new_id()}:{user_id}:{issued}:"
        signature = base64.b64encode(
            hmac.new(self._signing_key, data.encode(), hashlib.sha256).digest()
        ).decode()
        trigger_id = base64.b64encode((data + signature).encode()).decode()
        with self.lock:
            self.triggers[trigger_id] = IssuedTrigger(user_id, channel_id, team_id, issued)
        return trigger_id

    def check_trigger(self, trigger_id: str) -> tuple[IssuedTrigger | None, str]:
        """Return the trigger, or None with the reason ("invalid" / "expired")."""
        try:
            decoded = base64.b64decode(trigger_id, validate=True).decode()
            client_id, user_id, stamp, signature = decoded.split(":", 3)
        except ValueError:
            return None, "invalid"
        data = f"{client_id}:{user_id}:{stamp}:"
        expected = base64.b64encode(
            hmac.new(self._signing_key, data.encode(), hashlib.sha256).digest()
        ).decode()
        with self.lock:
            trigger = self.triggers.get(trigger_id)
        if trigger is None or not hmac.compare_digest(expected, signature):
            return None, "invalid"
        if self.now() - int(stamp) > self.trigger_ttl * 1000:
            return None, "expired"
        return trigger, ""

    def open_dialog(self, trigger: IssuedTrigger, url: str, dialog: dict[str, Any]) -> OpenedDialog:
        opened = OpenedDialog(
            id=new_id(),
            user_id=trigger.user_id,
            channel_id=trigger.channel_id,
            team_id=trigger.team_id,
            url=url,
            dialog=copy.deepcopy(dialog),
            opened_at=self.now(),
        )
        with self.lock:
            self.dialogs.append(opened)
        return opened

    # ------------------------------------------------------------------ reading

    def visible_posts(self, channel_id: str, user_id: str) -> list[dict[str, Any]]:
        """What the user's client shows in the channel: posts plus their ephemerals."""
        with self.lock:
            shown = [p for p in self.posts.values() if p["channel_id"] == channel_id]
            shown += self.ephemeral.get((user_id, channel_id), [])
            result = sorted(shown, key=lambda p: p["create_at"])
        return copy.deepcopy(result)

    def open_dialogs(self, user_id: str) -> list[OpenedDialog]:
        with self.lock:
            return [d for d in self.dialogs if d.user_id == user_id and not d.closed]

    def render(self, post: dict[str, Any]) -> str:
        """A plain-text rendering of a post, as a person would read it."""
        with self.lock:
            author = self.users.get(post.get("user_id", ""))
        props = post.get("props") or {}
        name = props.get("override_username") or (author.username if author else "?")
        lines = [f"{name}: {post.get('message', '')}".rstrip()]
        if post.get("type") == "system_ephemeral":
            lines[0] += "  (only visible to you)"
        for attachment in props.get("attachments") or []:
            if not isinstance(attachment, dict):
                continue
            for key in ("pretext", "title", "text"):
                if attachment.get(key):
                    lines += [f"  | {line}" for line in str(attachment[key]).splitlines() if line]
            for item in attachment.get("fields") or []:
                lines.append(f"  | {item.get('title', '')}: {item.get('value', '')}")
            buttons = [f"[{a.get('name', '')}]" for a in attachment.get("actions") or []]
            if buttons:
                lines.append("  " + " ".join(buttons))
        for file_id in post.get("file_ids") or []:
            info = self.files.get(file_id)
            lines.append(f"  (file) {info.name if info else file_id}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ driver: commands

    def register_command(
        self,
        team_id: str,
        trigger: str = "zoom",
        *,
        url: str,
        token: str | None = None,
        method: str = "P",
    ) -> Command:
        command = Command(team_id, trigger.lower(), url, token or new_id(), method)
        with self.lock:
            self.commands = [
                c for c in self.commands if (c.team_id, c.trigger) != (team_id, command.trigger)
            ]
            self.commands.append(command)
        return command

    def _find_command(self, channel: Channel, trigger: str | None, team_id: str | None) -> Command:
        with self.lock:
            candidates = [c for c in self.commands if trigger is None or c.trigger == trigger]
        if team_id is None:
            team_id = channel.team_id or None
        if team_id is not None:
            candidates = [c for c in candidates if c.team_id == team_id]
        if not candidates:
            raise LookupError(f"no slash command /{trigger or '?'} registered for team {team_id}")
        return candidates[0]

    def _mention_fields(self, message: str, channel: Channel) -> dict[str, str]:
        fields: dict[str, str] = {}
        with self.lock:
            by_name = {u.username: u.id for u in self.users.values()}
            chan_by_name = {
                c.name: c.id
                for c in self.channels.values()
                if c.is_open and c.team_id == channel.team_id
            }
        users = {m: by_name[m] for m in dict.fromkeys(_MENTION_RE.findall(message)) if m in by_name}
        chans = {
            m: chan_by_name[m]
            for m in dict.fromkeys(_CHANNEL_MENTION_RE.findall(message))
            if m in chan_by_name
        }
        # model.mentionsToURLValues: names and ids as parallel comma lists.
        if users:
            fields["user_mentions"] = ",".join(users)
            fields["user_mentions_ids"] = ",".join(users.values())
        if chans:
            fields["channel_mentions"] = ",".join(chans)
            fields["channel_mentions_ids"] = ",".join(chans.values())
        return fields

    async def run_command(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        *,
        team_id: str | None = None,
        trigger: str | None = None,
        root_id: str = "",
    ) -> CommandResult:
        """A user types a slash command. ``text`` is either the arguments
        ("start") or the whole line ("/zoom start")."""
        if text.startswith("/"):
            head, _, text = text[1:].partition(" ")
            trigger = head.lower()
        channel = self.channels[channel_id]
        user = self.users[user_id]
        command = self._find_command(channel, trigger, team_id)
        team = self.teams[command.team_id]
        trigger_id = self.issue_trigger(user_id, channel_id, team.id)
        hook = CommandWebhook(new_id(), user_id, channel_id, team.id, root_id, self.now())
        with self.lock:
            self.command_hooks[hook.id] = hook
        # Field order as app.tryExecuteCustomCommand sets them.
        fields = {
            "token": command.token,
            "team_id": command.team_id,
            "team_domain": team.name,
            "channel_id": channel_id,
            "channel_name": channel.name,
            "user_id": user_id,
            "user_name": user.username,
            "command": "/" + command.trigger,
            "text": text,
            "trigger_id": trigger_id,
            "root_id": root_id,
        }
        fields.update(self._mention_fields(text, channel))
        fields["response_url"] = f"{self.url}/hooks/commands/{hook.id}"
        headers = {"Accept": "application/json", "Authorization": "Token " + command.token}
        result = CommandResult(
            status_code=None, response=None, trigger_id=trigger_id, request=fields
        )
        label = "/" + command.trigger
        try:
            async with self.http_client() as client:
                if command.method == "G":
                    sep = "&" if "?" in command.url else "?"
                    resp = await client.get(command.url + sep + urlencode(fields), headers=headers)
                else:
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                    resp = await client.post(
                        command.url, content=urlencode(fields), headers=headers
                    )
        except httpx.HTTPError as exc:
            result.error = f"Command with a trigger of '{label}' failed. ({exc!r})"
            return result
        result.status_code = resp.status_code
        if resp.status_code != 200:
            result.error = (
                f"Command with a trigger of '{label}' returned response {resp.status_code}."
            )
            return result
        response = self._parse_command_response(resp)
        if response is None:
            result.error = f"Command with a trigger of '{label}' failed to parse its response."
            return result
        result.response = response
        self._apply_command_response(result, response, user_id, channel_id, root_id)
        for extra in response.get("extra_responses") or []:
            if isinstance(extra, dict):
                self._apply_command_response(result, extra, user_id, channel_id, root_id)
        goto = response.get("goto_location")
        result.goto_location = goto if isinstance(goto, str) and goto else None
        return result

    def run_command_sync(
        self, user_id: str, channel_id: str, text: str, **kwargs: Any
    ) -> CommandResult:
        return _run_sync(self.run_command(user_id, channel_id, text, **kwargs))

    @staticmethod
    def _parse_command_response(resp: httpx.Response) -> dict[str, Any] | None:
        # model.CommandResponseFromHTTPBody: JSON only for a JSON content type,
        # any other body becomes the text of an ephemeral response.
        if resp.headers.get("content-type", "").lower().startswith("application/json"):
            try:
                parsed = resp.json()
            except ValueError:
                return None
            return parsed if isinstance(parsed, dict) else None
        return {"text": resp.text}

    def _apply_command_response(
        self,
        result: CommandResult,
        response: dict[str, Any],
        user_id: str,
        channel_id: str,
        root_id: str,
    ) -> None:
        """app.HandleCommandResponsePost + CreateCommandPost for a custom command."""
        props = dict(response.get("props") or {})
        props["from_webhook"] = "true"  # custom command responses are bot-style posts
        post_type = str(response.get("type") or "")
        attachments = response.get("attachments")
        if attachments:
            props["attachments"] = copy.deepcopy(attachments)
            post_type = post_type or "slack_attachment"
        target = str(response.get("channel_id") or channel_id)
        if target != channel_id and not self.is_member(target, user_id):
            result.error = "You do not have the appropriate permissions."
            return
        text = str(response.get("text") or "")
        kind = response.get("response_type") or "ephemeral"
        if kind == "in_channel":
            result.posts.append(
                self.create_post(
                    user_id, target, text, root_id=root_id, props=props, type=post_type
                )
            )
        elif text or attachments:
            result.ephemeral_posts.append(
                self.send_ephemeral(
                    user_id, target, text, author_id=user_id, props=props, root_id=root_id
                )
            )

    def handle_command_hook(
        self, hook_id: str, response: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | None]:
        """A POST to a response_url: same handling as the command's own response."""
        with self.lock:
            hook = self.command_hooks.get(hook_id)
            valid = (
                hook is not None
                and self.now() - hook.create_at <= COMMAND_HOOK_LIFETIME_MS
                and hook.uses < COMMAND_HOOK_MAX_USES
            )
            if hook is not None and valid:
                hook.uses += 1
        if hook is None or not valid:
            return 400, None
        result = CommandResult(status_code=200, response=response)
        self._apply_command_response(result, response, hook.user_id, hook.channel_id, hook.root_id)
        return 200, None

    # ------------------------------------------------------------------ driver: buttons

    def _locate_action(
        self, user_id: str, post_id: str, action_ref: str
    ) -> tuple[dict[str, Any] | None, bool, dict[str, Any] | None]:
        """Return (post, is_ephemeral, action)."""
        with self.lock:
            post = self.posts.get(post_id)
            ephemeral = False
            if post is None:
                post = self.find_ephemeral(user_id, post_id)
                ephemeral = post is not None
            if post is None:
                return None, False, None
            for action in iter_actions(post):
                if action.get("id") == action_ref:
                    return post, ephemeral, copy.deepcopy(action)
            for action in iter_actions(post):
                if action.get("name") == action_ref:
                    return post, ephemeral, copy.deepcopy(action)
        return post, ephemeral, None

    async def click(self, user_id: str, post_id: str, action_id_or_name: str) -> ActionResult:
        """A user clicks a message button (app.DoPostActionWithCookie)."""
        post, ephemeral, action = self._locate_action(user_id, post_id, action_id_or_name)
        if post is None:
            return ActionResult(404, None, None, app_error(ERR_NOT_FOUND, 404))
        if action is None or not isinstance(action.get("integration"), dict):
            return ActionResult(404, None, None, app_error(ERR_ACTION_ID, 404))
        if not ACTION_ID_RE.match(str(action.get("id", ""))):
            # The route is /actions/{action_id:[A-Za-z0-9]+}: the router answers 404.
            return ActionResult(404, None, None, app_error(ERR_NOT_FOUND, 404))
        channel = self.channels[post["channel_id"]]
        user = self.users[user_id]
        if not ephemeral and not self.can_read_channel(user, channel):
            return ActionResult(403, None, None, app_error(ERR_PERMISSION, 403))
        team = self.teams.get(channel.team_id)
        integration = action["integration"]
        # Field order of model.PostActionIntegrationRequest; context is omitempty.
        body: dict[str, Any] = {
            "user_id": user_id,
            "user_name": user.username,
            "channel_id": channel.id,
            "channel_name": channel.name,
            "team_id": channel.team_id,
            "team_domain": team.name if team else "",
            "post_id": post_id,
            "trigger_id": self.issue_trigger(user_id, channel.id, channel.team_id),
            "type": str(action.get("type", "")),
            "data_source": "",
        }
        if integration.get("context"):
            body["context"] = integration["context"]
        root_post_id = post.get("root_id") or post_id
        result = ActionResult(200, None, None, request=body)
        try:
            async with self.http_client() as client:
                resp = await client.post(
                    str(integration.get("url", "")),
                    json=body,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            result.api_status = 400
            result.error = app_error(ERR_ACTION_INTEGRATION, 400, f"err={exc!r}")
            return result
        result.status_code = resp.status_code
        if resp.status_code != 200:
            result.api_status = 400
            result.error = app_error(ERR_ACTION_INTEGRATION, 400, f"status={resp.status_code}")
            return result
        response: dict[str, Any] = {}
        if resp.content:
            try:
                parsed = resp.json()
            except ValueError:
                result.api_status = 400
                result.error = app_error(ERR_ACTION_INTEGRATION, 400, "invalid JSON")
                return result
            response = parsed if isinstance(parsed, dict) else {}
            result.body = parsed
        update = response.get("update")
        if isinstance(update, dict):
            if ephemeral:
                # Ephemeral posts are not in the database, so UpdatePost fails and
                # the click errors out; ephemeral_text is not shown either.
                result.api_status = 404
                result.error = app_error(ERR_UPDATE_MISSING, 404)
                return result
            result.updated_post = self._apply_action_update(post_id, update)
        ephemeral_text = response.get("ephemeral_text")
        if isinstance(ephemeral_text, str) and ephemeral_text:
            retained = {
                k: post["props"][k] for k in RETAIN_PROP_KEYS if k in (post.get("props") or {})
            }
            result.ephemeral_posts.append(
                self.send_ephemeral(
                    user_id,
                    channel.id,
                    ephemeral_text,
                    author_id=user_id,
                    props=retained,
                    root_id=root_post_id,
                )
            )
        return result

    def click_sync(self, user_id: str, post_id: str, action_id_or_name: str) -> ActionResult:
        return _run_sync(self.click(user_id, post_id, action_id_or_name))

    def _apply_action_update(self, post_id: str, update: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            post = self.posts[post_id]
            original = post.get("props") or {}
            new_props = update.get("props")
            if new_props is None:
                props = copy.deepcopy(original)
            else:
                props = copy.deepcopy(new_props)
                for key in RETAIN_PROP_KEYS:
                    if key in original:
                        props[key] = original[key]
                    else:
                        props.pop(key, None)
            for key in ("from_bot", "from_plugin"):
                if key in original:
                    props[key] = original[key]
            generate_action_ids(props)
            # The update is a whole Post: a missing message means an empty one.
            message = str(update.get("message") or "")
            now = self.now()
            if message != post["message"]:
                post["edit_at"] = now
            post["message"] = message
            post["props"] = props
            post["update_at"] = now
            return copy.deepcopy(post)

    # ------------------------------------------------------------------ driver: dialogs

    def last_dialog(self, user_id: str) -> OpenedDialog:
        dialogs = self.open_dialogs(user_id)
        if not dialogs:
            raise LookupError(f"no open dialog for user {user_id}")
        return dialogs[-1]

    async def submit_dialog(
        self,
        user_id: str,
        dialog_handle: OpenedDialog | str,
        submission: dict[str, Any],
        cancelled: bool = False,
        *,
        validate: bool = True,
    ) -> DialogResult:
        """A user submits (or cancels) an open dialog (app.SubmitInteractiveDialog).

        Like the web app, defaults fill in missing values and required elements
        are checked before anything is sent (``validate=False`` skips that)."""
        dialog_id = dialog_handle.id if isinstance(dialog_handle, OpenedDialog) else dialog_handle
        with self.lock:
            opened = next((d for d in self.dialogs if d.id == dialog_id), None)
        if opened is None or opened.user_id != user_id or opened.closed:
            raise LookupError(f"dialog {dialog_id} is not open for user {user_id}")
        spec = opened.dialog
        if cancelled:
            opened.closed = True
            if not spec.get("notify_on_cancel"):
                return DialogResult(None, None, closed=True)
            values: dict[str, Any] | None = None
        else:
            values, client_errors = self._prepare_submission(spec, submission, validate)
            if client_errors:
                return DialogResult(None, None, client_errors=client_errors)
        # Field order of model.SubmitDialogRequest (url is removed before sending).
        body = {
            "type": "dialog_submission",
            "callback_id": spec.get("callback_id", ""),
            "state": spec.get("state", ""),
            "user_id": user_id,
            "channel_id": opened.channel_id,
            "team_id": opened.team_id,
            "submission": values,
            "cancelled": cancelled,
        }
        result = DialogResult(None, None, request=body)
        try:
            async with self.http_client() as client:
                resp = await client.post(
                    opened.url,
                    json=body,
                    headers={"Content-Type": "application/json", "Accept": "application/json"},
                )
        except httpx.HTTPError as exc:
            result.error = f"Action integration error: {exc!r}"
            return result
        result.status_code = resp.status_code
        if resp.status_code != 200:
            result.error = f"Action integration error: status={resp.status_code}"
            return result
        try:
            result.body = resp.json() if resp.content else None
        except ValueError:
            result.body = None  # an unreadable body counts as an empty answer
        if isinstance(result.body, dict):
            errors = result.body.get("errors")
            result.errors = (
                {str(k): str(v) for k, v in errors.items()} if isinstance(errors, dict) else {}
            )
            error = result.body.get("error")
            result.error = str(error) if error else None
        if cancelled or (not result.errors and not result.error):
            opened.closed = True
        result.closed = opened.closed
        return result

    def submit_dialog_sync(
        self,
        user_id: str,
        dialog_handle: OpenedDialog | str,
        submission: dict[str, Any],
        **kwargs: Any,
    ) -> DialogResult:
        return _run_sync(self.submit_dialog(user_id, dialog_handle, submission, **kwargs))

    @staticmethod
    def _prepare_submission(
        spec: dict[str, Any], submission: dict[str, Any], validate: bool
    ) -> tuple[dict[str, Any], dict[str, str]]:
        values = dict(submission)
        errors: dict[str, str] = {}
        for element in spec.get("elements") or []:
            name = str(element.get("name", ""))
            if name not in values and element.get("default") not in (None, ""):
                default = element["default"]
                values[name] = (
                    (str(default).lower() == "true") if element.get("type") == "bool" else default
                )
            if validate and not element.get("optional") and values.get(name) in (None, ""):
                errors[name] = "This field is required."
        return values, errors
