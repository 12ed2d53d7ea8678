"""`mattermost-zoom setup`: prepare Mattermost for the service and write its
configuration file, with an admin's token used once (never stored, never printed).

It makes sure the bot account ``@zoom`` exists with the System Admin role and a
working access token, that each team has a ``/zoom`` command pointing at the
service, and writes the settings (merged into an existing file, whose values it
keeps) readable by its owner only. Then it prints what to enter in the Zoom app.
Running it again changes nothing that is already right.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from mattermost_zoom.admin import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AdminCommand, config_file
from mattermost_zoom.admin.check import describe, zoom_credentials
from mattermost_zoom.clients.mattermost import MattermostError
from mattermost_zoom.clients.mattermost_admin import Bot, MattermostAdmin, Team
from mattermost_zoom.config import ConfigError, load_settings
from mattermost_zoom.core import setup_guide as guide
from mattermost_zoom.core.diagnosis import Status, check_zoom_credentials

ADMIN_TOKEN_ENV = "MMZOOM_SETUP_ADMIN_TOKEN"  # noqa: S105 - a variable name
DEFAULT_CONFIG = Path("mattermost-zoom.toml")
DEFAULT_ZOOM_URL = "https://zoom.us"
HTTP_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

_HINTS = {
    "api.command.disabled.app_error": (
        "in System Console > Integrations > Integration Management, "
        "set Enable Custom Slash Commands to true, then run setup again."
    ),
}


class UsageError(Exception):
    """The command line is incomplete or wrong."""


class Stop(Exception):
    """A step failed and later steps depend on it; already reported."""


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mattermost-url",
        help="Mattermost's site URL (default: mattermost_url of the configuration file)",
    )
    parser.add_argument(
        "--public-url",
        help="where browsers, Mattermost and Zoom reach the service "
        "(default: public_url of the file, else {mattermost-url}/plugins/zoom)",
    )
    parser.add_argument(
        "--admin-token",
        help=f"a system admin's access token; other users can see command lines, so "
        f"prefer ${ADMIN_TOKEN_ENV} or the prompt. Used once, never stored",
    )
    parser.add_argument(
        "--team",
        action="append",
        default=[],
        metavar="NAME",
        help="register /zoom in this team only (repeatable; default: every team)",
    )
    parser.add_argument("--zoom-client-id", help="the Zoom app's Client ID")
    parser.add_argument(
        "--zoom-client-secret",
        help="the Zoom app's Client Secret (write --zoom-client-secret=VALUE "
        "when it starts with -)",
    )
    parser.add_argument(
        "--zoom-webhook-secret", help="the Secret Token of the Zoom app's Feature page"
    )
    parser.add_argument(
        "--write-config",
        "--config",
        dest="config_path",
        type=Path,
        default=DEFAULT_CONFIG,
        metavar="PATH",
        help=f"the configuration file to merge into and write (default ./{DEFAULT_CONFIG})",
    )


@dataclass(frozen=True)
class Inputs:
    config_path: Path
    existing: dict[str, Any] = field(repr=False)
    mattermost_url: str
    public_url: str
    admin_token: str = field(repr=False)
    teams: tuple[str, ...]
    zoom_client_id: str | None
    zoom_client_secret: str | None = field(repr=False)
    zoom_webhook_secret: str | None = field(repr=False)

    @property
    def zoom_url(self) -> str:
        return str(self.existing.get("zoom_url") or DEFAULT_ZOOM_URL).rstrip("/")


def _run(args: argparse.Namespace) -> int:
    try:
        inputs = _inputs(args)
    except (UsageError, config_file.ConfigFileError) as exc:
        print(f"mattermost-zoom setup: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(Setup(inputs).run())


COMMAND = AdminCommand(
    "setup",
    "create the bot account and the /zoom commands, write the configuration file, "
    "and print the Zoom app's settings (safe to run again)",
    _arguments,
    _run,
)


def _url(value: str, what: str) -> str:
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"{what} must be an http:// or https:// URL without a query: {value!r}")
    return url


def _inputs(args: argparse.Namespace) -> Inputs:
    path: Path = args.config_path
    existing = config_file.read(path)
    raw_mm = args.mattermost_url or existing.get("mattermost_url")
    if not raw_mm:
        raise UsageError(
            f"give Mattermost's site URL with --mattermost-url (no mattermost_url in {path})"
        )
    mattermost_url = _url(str(raw_mm), "--mattermost-url")
    raw_public = args.public_url or existing.get("public_url")
    public_url = (
        _url(str(raw_public), "--public-url") if raw_public else f"{mattermost_url}/plugins/zoom"
    )
    return Inputs(
        config_path=path,
        existing=existing,
        mattermost_url=mattermost_url,
        public_url=public_url,
        admin_token=_admin_token(args),
        teams=tuple(dict.fromkeys(args.team)),
        zoom_client_id=(args.zoom_client_id or "").strip() or None,
        zoom_client_secret=(args.zoom_client_secret or "").strip() or None,
        zoom_webhook_secret=(args.zoom_webhook_secret or "").strip() or None,
    )


def _admin_token(args: argparse.Namespace) -> str:
    token = (args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or "").strip()
    if token:
        return token
    if sys.stdin.isatty():
        token = getpass.getpass("Access token of a Mattermost system admin (not shown): ").strip()
        if token:
            return token
    raise UsageError(
        f"give a Mattermost system admin's access token in ${ADMIN_TOKEN_ENV}, with "
        "--admin-token, or at the prompt (Profile > Security > Personal Access Tokens)"
    )


class Setup:
    def __init__(self, inputs: Inputs) -> None:
        self.inputs = inputs
        self.problems = 0
        self.step = "Mattermost"  # what the calls under way are for

    # --- output ----------------------------------------------------------------

    def done(self, subject: str, text: str) -> None:
        print(f"  {subject}: {text}", flush=True)

    def problem(self, subject: str, text: str, fix: str) -> None:
        self.problems += 1
        print(f"  {subject}: {text} Fix: {fix}", flush=True)

    def stop(self, subject: str, text: str, fix: str) -> Stop:
        self.problem(subject, text, fix)
        return Stop()

    def failed_call(self, subject: str, what: str, exc: MattermostError) -> None:
        fix = _HINTS.get(exc.error_id, "see Mattermost's log, then run setup again.")
        answer = f"{exc.status} {exc.error_id}".strip()
        self.problem(subject, f"{what} failed: Mattermost answered {answer}.", fix)

    # --- the steps -------------------------------------------------------------

    async def run(self) -> int:
        inp = self.inputs
        print(f"mattermost-zoom setup: Mattermost {inp.mattermost_url}, service {inp.public_url}")
        values: dict[str, Any] = {}
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
            try:
                values.update(await self._mattermost(http))
            except Stop:
                print("setup stopped: the configuration file was not written.", file=sys.stderr)
                return EXIT_FAILED
            values.update(await self._zoom(http))
        values["encryption_key"] = inp.existing.get("encryption_key") or secrets.token_urlsafe(48)
        values["webhook_secret"] = inp.existing.get("webhook_secret") or secrets.token_hex(24)
        try:
            self._write(values)
        except config_file.ConfigFileError as exc:
            self.problem("config", str(exc), "choose another path with --write-config.")
            return EXIT_FAILED
        self._still_missing()
        print()
        merged = {**inp.existing, **values}
        for line in guide.zoom_app_guide(
            inp.public_url,
            str(values["webhook_secret"]),
            need_credentials=not (
                merged.get("oauth_client_id") and merged.get("oauth_client_secret")
            ),
            need_webhook_secret=not merged.get("zoom_webhook_secret"),
        ):
            print(line)
        print()
        if self.problems:
            print(f"setup: {self.problems} problem(s) above need attention.", file=sys.stderr)
            return EXIT_FAILED
        print(f"setup: done. Start the service: mattermost-zoom serve --config {inp.config_path}")
        print(f"Then diagnose it any time: mattermost-zoom check --config {inp.config_path}")
        return EXIT_OK

    async def _mattermost(self, http: httpx.AsyncClient) -> dict[str, Any]:
        inp = self.inputs
        admin = MattermostAdmin(inp.mattermost_url, inp.admin_token, http)
        try:
            await self._admin(admin)
            bot = await self._bot(admin)
            await self._roles(admin, bot)
            token = await self._token(admin, bot, http)
            tokens = await self._commands(admin)
        except httpx.HTTPError as exc:
            raise self.stop(
                "Mattermost",
                f"cannot reach {inp.mattermost_url} ({describe(exc)}).",
                "check --mattermost-url and that this machine can reach Mattermost.",
            ) from None
        except MattermostError as exc:
            self.failed_call(self.step, "a Mattermost call", exc)
            raise Stop() from None
        values: dict[str, Any] = {
            "mattermost_url": inp.mattermost_url,
            "public_url": inp.public_url,
            "bot_token": token,
        }
        if tokens:
            values["slash_command_token"] = tokens
        return values

    async def _admin(self, admin: MattermostAdmin) -> None:
        try:
            me = await admin.me()
        except MattermostError as exc:
            if exc.status == 401:
                raise self.stop(
                    "admin token",
                    "Mattermost does not accept it.",
                    "use a current access token of a system admin.",
                ) from None
            raise
        if guide.ADMIN_ROLE not in me.roles:
            raise self.stop(
                "admin token",
                f"@{me.username} is not a system admin.",
                "use the access token of a system admin.",
            )
        self.done("Mattermost", f"signed in as @{me.username} (system admin)")

    async def _bot(self, admin: MattermostAdmin) -> Bot:
        subject = self.step = f"bot @{guide.BOT_USERNAME}"
        bots = await admin.bots(include_deleted=True)
        bot = next((b for b in bots if b.username == guide.BOT_USERNAME), None)
        if bot is None:
            try:
                bot = await admin.create_bot(
                    guide.BOT_USERNAME, guide.BOT_DISPLAY_NAME, guide.BOT_DESCRIPTION
                )
            except MattermostError as exc:
                if exc.error_id == "api.bot.create_disabled":
                    raise self.stop(
                        subject,
                        "Mattermost does not allow creating bot accounts.",
                        "in System Console > Integrations > Bot Accounts, set Enable Bot "
                        "Account Creation to true, then run setup again.",
                    ) from None
                if exc.error_id == "app.user.save.username_exists.app_error":
                    raise self.stop(
                        subject,
                        f"a user account named @{guide.BOT_USERNAME} exists and is not a bot.",
                        "rename that account, then run setup again.",
                    ) from None
                raise
            self.done(subject, "created")
        elif bot.disabled:
            bot = await admin.enable_bot(bot.user_id)
            self.done(subject, "existed but was disabled; enabled again")
        else:
            self.done(subject, "exists")
        return bot

    async def _roles(self, admin: MattermostAdmin, bot: Bot) -> None:
        subject = f"bot @{bot.username}"
        account = await admin.user(bot.user_id)
        roles = guide.roles_with_admin(sorted(account.roles))
        if roles is None:
            self.done(subject, "has the System Admin role")
            return
        await admin.set_roles(bot.user_id, roles)
        self.done(
            subject,
            "given the System Admin role (to answer users with ephemeral messages and to "
            "see private channels and direct messages)",
        )

    async def _token(self, admin: MattermostAdmin, bot: Bot, http: httpx.AsyncClient) -> str:
        """Keep the file's bot token while it still signs in as the bot; Mattermost
        never shows a token again, so a lost one is replaced by a new one."""
        subject = f"bot @{bot.username}"
        old = self.inputs.existing.get("bot_token")
        if isinstance(old, str) and old.strip():
            try:
                who = await MattermostAdmin(self.inputs.mattermost_url, old.strip(), http).me()
            except MattermostError:
                who = None
            if who is not None and who.id == bot.user_id:
                self.done(subject, f"the access token in {self.inputs.config_path} works; kept")
                return old.strip()
        token = await admin.create_token(bot.user_id, guide.BOT_TOKEN_DESCRIPTION)
        replaced = " (the one in the file no longer worked)" if old else ""
        self.done(subject, f"access token created{replaced}")
        return token

    async def _commands(self, admin: MattermostAdmin) -> str:
        """Register /zoom where it is missing; returns MMZOOM_SLASH_COMMAND_TOKEN."""
        inp = self.inputs
        self.step = "teams"
        teams = await admin.teams()
        if inp.teams:
            by_name = {t.name: t for t in teams}
            for name in inp.teams:
                if name not in by_name:
                    self.problem(
                        f"team {name}",
                        "no such team.",
                        "give the team's name as in its URL (https://chat.example.com/NAME).",
                    )
            chosen = [by_name[n] for n in inp.teams if n in by_name]
        else:
            chosen = teams
            if not teams:
                self.problem(
                    "teams",
                    "Mattermost has no team yet, and /zoom is registered per team.",
                    "create a team, then run setup again.",
                )
        found = [token for team in chosen if (token := await self._command(admin, team))]
        previous = guide.split_tokens(str(inp.existing.get("slash_command_token") or ""))
        return guide.slash_tokens(previous, found, every_team=not inp.teams)

    async def _command(self, admin: MattermostAdmin, team: Team) -> str | None:
        subject = f"team {team.name}"
        url = guide.command_url(self.inputs.public_url)
        try:
            existing = await admin.commands(team.id)
            decision = guide.decide_command(existing, self.inputs.public_url)
            if isinstance(decision, guide.Keep):
                self.done(subject, f"/{guide.TRIGGER} already registered; kept")
                return existing[decision.index].token
            if isinstance(decision, guide.Conflict):
                method = "GET" if decision.method == "G" else "POST"
                self.problem(
                    subject,
                    f"another /{guide.TRIGGER} command ({method} {decision.url}) exists; "
                    "left alone.",
                    f"in Integrations > Slash Commands of this team, point it at {url} "
                    "with method POST, or delete it; then run setup again.",
                )
                return None
            request = guide.command_request(team.id, self.inputs.public_url)
            created = await admin.create_command(request)
        except MattermostError as exc:
            self.failed_call(subject, f"registering /{guide.TRIGGER}", exc)
            return None
        self.done(subject, f"/{guide.TRIGGER} registered")
        return created.token

    async def _zoom(self, http: httpx.AsyncClient) -> dict[str, Any]:
        inp = self.inputs
        values: dict[str, Any] = {}
        if inp.zoom_webhook_secret:
            values["zoom_webhook_secret"] = inp.zoom_webhook_secret
        if not (inp.zoom_client_id or inp.zoom_client_secret):
            return values
        subject = "Zoom app credentials"
        client_id = inp.zoom_client_id or inp.existing.get("oauth_client_id")
        client_secret = inp.zoom_client_secret or inp.existing.get("oauth_client_secret")
        if not client_id or not client_secret:
            self.problem(
                subject,
                "only one of the Client ID and the Client Secret is known.",
                "give both --zoom-client-id and --zoom-client-secret.",
            )
            return values
        facts = await zoom_credentials(
            http,
            zoom_url=inp.zoom_url,
            client_id=str(client_id),
            client_secret=str(client_secret),
            redirect_url=f"{inp.public_url}/oauth2/complete",
        )
        result = check_zoom_credentials(facts, inp.zoom_url)
        if result.status is Status.FAIL and facts.error == "invalid_client":
            self.problem(subject, result.detail + " They were not written.", result.fix)
            return values
        if result.status is Status.OK:
            self.done(subject, "Zoom accepts them")
        else:
            self.done(subject, f"not verified ({result.detail}); written anyway")
        values["oauth_client_id"] = str(client_id)
        values["oauth_client_secret"] = str(client_secret)
        return values

    def _write(self, values: dict[str, Any]) -> None:
        path = self.inputs.config_path
        existing = self.inputs.existing
        merged = {**existing, **values}
        if path.exists() and merged == existing:
            if config_file.is_private(path):
                self.done("config", f"{path} already up to date")
            else:
                path.chmod(config_file.PRIVATE_MODE)
                self.done("config", f"{path} already up to date; made readable by its owner only")
            return
        config_file.write_private(path, config_file.render(merged))
        changed = sorted(k for k in merged if existing.get(k) != merged[k])
        self.done(
            "config",
            f"wrote {path} (readable by its owner only; set: {', '.join(changed)})",
        )

    def _still_missing(self) -> None:
        """What serve would still refuse, from the file alone."""
        try:
            load_settings(self.inputs.config_path, environ={})
        except ConfigError as exc:
            print("  still to do before `serve` starts:")
            for problem in exc.problems:
                print(f"    - {problem}")
