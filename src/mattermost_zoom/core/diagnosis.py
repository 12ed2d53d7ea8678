"""``mattermost-zoom check``, decided without I/O: the facts gathered about a
deployment become one line per check, each failure with how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from mattermost_zoom.core.setup_guide import ADMIN_ROLE, TRIGGER, command_url


class Status(Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    status: Status
    subject: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status.value:<5} {self.subject}: {self.detail}"
        return text + (f" Fix: {self.fix}" if self.fix else "")


@dataclass(frozen=True)
class Answer:
    """How an HTTP endpoint answered: a status, or None and why there was none."""

    status: int | None
    error: str = ""  # the connection problem, or Mattermost's error id

    @property
    def text(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        return f"HTTP {self.status}" + (f" ({self.error})" if self.error else "")


@dataclass(frozen=True)
class BotFacts:
    """What ``GET /users/me`` said with MMZOOM_BOT_TOKEN."""

    answer: Answer
    username: str = ""
    is_bot: bool = False
    roles: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CommandFacts:
    trigger: str
    url: str
    method: str
    token_accepted: bool  # its token is one of MMZOOM_SLASH_COMMAND_TOKEN's


@dataclass(frozen=True)
class TeamFacts:
    name: str
    commands: tuple[CommandFacts, ...] = ()
    listing: Answer | None = None  # set when the commands could not be listed


@dataclass(frozen=True)
class ZoomCredentialFacts:
    """What Zoom's token endpoint answered to a refresh with a made-up refresh token:
    ``invalid_grant`` means it accepted the client credentials, ``invalid_client``
    that it did not."""

    answer: Answer
    error: str = ""  # the OAuth "error" field
    reason: str = ""


@dataclass(frozen=True)
class DatabaseFacts:
    reachable: bool
    problem: str = ""
    missing_file: bool = False  # a SQLite file that does not exist (yet)
    current: tuple[str, ...] = ()  # revisions the database is at
    heads: tuple[str, ...] = ()  # newest revisions this version knows
    known: bool = True  # every current revision is one this version knows


@dataclass(frozen=True)
class WebhookFacts:
    last_received: datetime | None
    last_rejected: tuple[datetime, str] | None  # when, and why
    failed_events: int = 0


@dataclass(frozen=True)
class Facts:
    now: datetime
    mattermost_url: str
    public_url: str
    zoom_url: str
    ping: Answer
    bot: BotFacts | None = None  # None: not asked (Mattermost unreachable)
    teams: tuple[TeamFacts, ...] | None = None  # None: not listed
    teams_listing: Answer | None = None  # set when the teams could not be listed
    unknown_teams: tuple[str, ...] = ()  # named with --team, not found
    health: Answer = field(default_factory=lambda: Answer(None))
    zoom: ZoomCredentialFacts = field(default_factory=lambda: ZoomCredentialFacts(Answer(None)))
    database: DatabaseFacts = field(default_factory=lambda: DatabaseFacts(reachable=False))
    webhooks: WebhookFacts | None = None  # None: the database could not be read
    zoom_webhook_secret_set: bool = True


SETUP = "run `mattermost-zoom setup`"


def diagnose(facts: Facts) -> list[CheckResult]:
    return [
        *_mattermost(facts),
        *_commands(facts),
        _public_url(facts),
        _zoom(facts),
        _database(facts),
        *_webhooks(facts),
    ]


def failed(results: Sequence[CheckResult]) -> bool:
    return any(r.status is Status.FAIL for r in results)


# --- Mattermost and the bot ---------------------------------------------------


def _mattermost(facts: Facts) -> list[CheckResult]:
    url = facts.mattermost_url
    ping = facts.ping
    if ping.status == 200:
        results = [CheckResult(Status.OK, "Mattermost", f"answers at {url}")]
    elif ping.status is None:
        return [
            CheckResult(
                Status.FAIL,
                "Mattermost",
                f"cannot reach {url} ({ping.text}).",
                "check MMZOOM_MATTERMOST_URL and that this machine can reach Mattermost.",
            ),
            CheckResult(Status.SKIP, "bot account", "not checked: Mattermost is unreachable."),
        ]
    else:
        results = [
            CheckResult(
                Status.FAIL,
                "Mattermost",
                f"{url}/api/v4/system/ping answered {ping.text}.",
                "MMZOOM_MATTERMOST_URL must be Mattermost's site URL; "
                "check the server and the proxy in front of it.",
            )
        ]
    return results + _bot(facts.bot)


def _bot(bot: BotFacts | None) -> list[CheckResult]:
    if bot is None:
        return [CheckResult(Status.SKIP, "bot account", "not checked.")]
    if bot.answer.status == 401:
        return [
            CheckResult(
                Status.FAIL,
                "bot token",
                "Mattermost does not accept MMZOOM_BOT_TOKEN (revoked, or from another server).",
                f"{SETUP} (it creates a new token for the bot), or create one in "
                "System Console > Integrations > Bot Accounts and put it in MMZOOM_BOT_TOKEN.",
            ),
            CheckResult(Status.SKIP, "bot role", "not checked: the bot token does not work."),
        ]
    if bot.answer.status != 200:
        return [
            CheckResult(
                Status.FAIL,
                "bot token",
                f"GET /api/v4/users/me with MMZOOM_BOT_TOKEN answered {bot.answer.text}.",
                "check that Mattermost is healthy, then run check again.",
            ),
            CheckResult(Status.SKIP, "bot role", "not checked."),
        ]
    results = []
    if bot.is_bot:
        results.append(CheckResult(Status.OK, "bot token", f"works, for the bot @{bot.username}"))
    else:
        results.append(
            CheckResult(
                Status.FAIL,
                "bot token",
                f"MMZOOM_BOT_TOKEN belongs to @{bot.username}, a person's account, "
                "not a bot account.",
                f"{SETUP} to create the bot @zoom and a token for it.",
            )
        )
    if ADMIN_ROLE in bot.roles:
        results.append(CheckResult(Status.OK, "bot role", f"@{bot.username} is a System Admin"))
    else:
        results.append(
            CheckResult(
                Status.FAIL,
                "bot role",
                f"@{bot.username} lacks the System Admin role, so it cannot answer users "
                "with ephemeral messages nor read private channels and direct messages.",
                f"{SETUP}, or in System Console > Integrations > Bot Accounts, edit "
                f"@{bot.username} and choose the System Admin role.",
            )
        )
    return results


# --- slash commands -------------------------------------------------------------


def _commands(facts: Facts) -> list[CheckResult]:
    if facts.bot is None or facts.bot.answer.status != 200:
        return [CheckResult(Status.SKIP, f"/{TRIGGER} commands", "not checked.")]
    if facts.teams is None:
        listing = facts.teams_listing.text if facts.teams_listing else "no answer"
        return [
            CheckResult(
                Status.FAIL,
                f"/{TRIGGER} commands",
                f"could not list the teams with the bot's token ({listing}).",
                "give the bot the System Admin role, then run check again.",
            )
        ]
    results = [
        CheckResult(
            Status.FAIL,
            f"team {name}",
            "no such team.",
            "check the name given with --team (the team's URL name).",
        )
        for name in facts.unknown_teams
    ]
    if not facts.teams and not facts.unknown_teams:
        results.append(
            CheckResult(
                Status.WARN,
                f"/{TRIGGER} commands",
                "Mattermost has no team yet.",
                f"create a team, then {SETUP}.",
            )
        )
    wanted = command_url(facts.public_url)
    results += [_team(team, wanted) for team in facts.teams]
    return results


def _team(team: TeamFacts, wanted: str) -> CheckResult:
    subject = f"team {team.name}"
    setup_team = f"`mattermost-zoom setup --team {team.name}`"
    if team.listing is not None:
        return CheckResult(
            Status.FAIL,
            subject,
            f"could not list its slash commands ({team.listing.text}).",
            "give the bot the System Admin role, then run check again.",
        )
    zooms = [c for c in team.commands if c.trigger.lower() == TRIGGER]
    if not zooms:
        return CheckResult(
            Status.FAIL,
            subject,
            f"no /{TRIGGER} command, so /{TRIGGER} does nothing in this team.",
            f"run {setup_team}.",
        )
    ours = [c for c in zooms if c.url.rstrip("/") == wanted.rstrip("/")]
    if not ours:
        return CheckResult(
            Status.FAIL,
            subject,
            f"/{TRIGGER} sends its requests to {zooms[0].url}, not to {wanted}.",
            f"in Integrations > Slash Commands of this team, set its request URL to {wanted} "
            f"(or delete it and run {setup_team}).",
        )
    command = ours[0]
    if command.method != "P":
        return CheckResult(
            Status.FAIL,
            subject,
            f"/{TRIGGER} uses the GET method; the service takes POST.",
            "in Integrations > Slash Commands of this team, set its request method to POST.",
        )
    if not command.token_accepted:
        return CheckResult(
            Status.FAIL,
            subject,
            f"/{TRIGGER}'s token is not in MMZOOM_SLASH_COMMAND_TOKEN, "
            "so the service refuses the command.",
            f"run {setup_team} (it adds the token to the configuration file), or copy the "
            "token from Integrations > Slash Commands into MMZOOM_SLASH_COMMAND_TOKEN; "
            "then restart serve.",
        )
    return CheckResult(Status.OK, subject, f"/{TRIGGER} is registered and its token accepted")


# --- the service's public URL -----------------------------------------------------


def _public_url(facts: Facts) -> CheckResult:
    url = f"{facts.public_url}/healthz"
    health = facts.health
    route = "route its path to `mattermost-zoom serve` in the proxy (README, step 2)"
    if health.status == 200:
        return CheckResult(Status.OK, "public URL", f"{url} answers")
    if health.status is None:
        return CheckResult(
            Status.FAIL,
            "public URL",
            f"cannot reach {url} from here ({health.text}).",
            f"start `mattermost-zoom serve`, check MMZOOM_PUBLIC_URL, and {route}.",
        )
    if health.status == 503:
        return CheckResult(
            Status.FAIL,
            "public URL",
            f"{url} answered 503: the service runs but cannot reach its database.",
            "check MMZOOM_DATABASE_URL where serve runs, and the database server.",
        )
    if health.status == 404:
        return CheckResult(
            Status.FAIL,
            "public URL",
            f"{url} answered 404: the request does not reach the service.",
            f"{route}; MMZOOM_PUBLIC_URL's path must be the path the proxy forwards.",
        )
    return CheckResult(
        Status.FAIL,
        "public URL",
        f"{url} answered {health.text}.",
        f"check that serve runs where the proxy forwards to, and {route}.",
    )


# --- Zoom -------------------------------------------------------------------------------


def _zoom(facts: Facts) -> CheckResult:
    return check_zoom_credentials(facts.zoom, facts.zoom_url)


def check_zoom_credentials(zoom: ZoomCredentialFacts, zoom_url: str) -> CheckResult:
    subject = "Zoom app credentials"
    if zoom.error in ("invalid_grant", "invalid_token") or "invalid token" in zoom.reason.lower():
        return CheckResult(Status.OK, subject, "Zoom accepts the client ID and secret")
    if zoom.error == "invalid_client":
        return CheckResult(
            Status.FAIL,
            subject,
            "Zoom refuses MMZOOM_OAUTH_CLIENT_ID or MMZOOM_OAUTH_CLIENT_SECRET "
            f"({zoom.reason or zoom.error}), so nobody can connect Zoom.",
            "copy both again from the App Credentials page of the Zoom app "
            "(regenerating the secret there changes it), then restart serve.",
        )
    if zoom.answer.status is None:
        return CheckResult(
            Status.FAIL,
            subject,
            f"cannot reach Zoom at {zoom_url}/oauth/token ({zoom.answer.text}).",
            "this machine must reach Zoom over HTTPS; check MMZOOM_ZOOM_URL and any proxy.",
        )
    return CheckResult(
        Status.WARN,
        subject,
        f"Zoom answered {zoom.answer.text}"
        + (f", {zoom.error}" if zoom.error else "")
        + ": cannot tell whether it accepts the client ID and secret.",
        "run check again later.",
    )


# --- database and webhooks -------------------------------------------------------------


def _database(facts: Facts) -> CheckResult:
    db = facts.database
    migrate = "run `mattermost-zoom migrate` (serve also does it when it starts)."
    if db.missing_file:
        return CheckResult(
            Status.FAIL,
            "database",
            f"{db.problem}.",
            "point MMZOOM_DATABASE_URL at the database serve uses (serve creates a SQLite "
            "file when it first starts; a relative path is relative to where it runs).",
        )
    if not db.reachable:
        return CheckResult(
            Status.FAIL,
            "database",
            f"cannot use it: {db.problem}.",
            "check MMZOOM_DATABASE_URL and that the database server is up.",
        )
    if not db.current:
        return CheckResult(Status.FAIL, "database", "has no schema yet.", migrate)
    if not db.known:
        return CheckResult(
            Status.FAIL,
            "database",
            f"its schema is at {', '.join(db.current)}, which this version does not know: "
            "a newer version of mattermost-zoom migrated it.",
            "run the same version of mattermost-zoom everywhere.",
        )
    if set(db.current) != set(db.heads):
        return CheckResult(
            Status.FAIL,
            "database",
            f"its schema is at {', '.join(db.current)}, the newest is {', '.join(db.heads)}.",
            migrate,
        )
    return CheckResult(Status.OK, "database", f"reachable, schema up to date ({db.current[0]})")


def _webhooks(facts: Facts) -> list[CheckResult]:
    results = []
    if not facts.zoom_webhook_secret_set:
        results.append(
            CheckResult(
                Status.FAIL,
                "Zoom Secret Token",
                "MMZOOM_ZOOM_WEBHOOK_SECRET is not set, so every Zoom event is refused "
                "and meeting cards never say the meeting ended.",
                "copy the Secret Token from the Zoom app's Feature page into "
                "MMZOOM_ZOOM_WEBHOOK_SECRET, then restart serve.",
            )
        )
    hooks = facts.webhooks
    if hooks is None:
        results.append(
            CheckResult(Status.SKIP, "webhooks", "not checked: the database cannot be read.")
        )
        return results
    if hooks.last_received is None:
        results.append(
            CheckResult(
                Status.WARN,
                "webhooks",
                "no verified Zoom event received yet.",
                "start and end a meeting to try; if nothing arrives, compare the Zoom app's "
                f"event subscription with what {SETUP.removeprefix('run ')} prints.",
            )
        )
    else:
        ago = _ago(facts.now - hooks.last_received)
        results.append(CheckResult(Status.OK, "webhooks", f"last verified Zoom event {ago}"))
    if hooks.last_rejected is not None:
        at, reason = hooks.last_rejected
        since = hooks.last_received is not None and hooks.last_received > at
        detail = f"the last refused delivery, {_ago(facts.now - at)}: {reason}."
        if since:
            results.append(
                CheckResult(Status.WARN, "refused webhook", detail + " Events verified since.")
            )
        else:
            results.append(
                CheckResult(Status.FAIL, "refused webhook", detail, _rejection_fix(reason))
            )
    if hooks.failed_events:
        results.append(
            CheckResult(
                Status.WARN,
                "webhook queue",
                f"{hooks.failed_events} Zoom event(s) could not be carried out.",
                "look for 'failed' in the service's log.",
            )
        )
    return results


def _rejection_fix(reason: str) -> str:
    """How to stop Zoom's deliveries being refused, from the recorded reason."""
    text = reason.lower()
    if "?secret=" in text:
        return (
            "the endpoint URLs in the Zoom app must end with ?secret= and MMZOOM_WEBHOOK_SECRET; "
            f"{SETUP} to print them."
        )
    if "zoom_webhook_secret is not set" in text:
        return (
            "copy the Secret Token from the Zoom app's Feature page into "
            "MMZOOM_ZOOM_WEBHOOK_SECRET."
        )
    if "x-zm-signature does not match" in text:
        return (
            "MMZOOM_ZOOM_WEBHOOK_SECRET must be the Secret Token shown on this Zoom app's "
            "Feature page (it changes when regenerated); restart serve after changing it."
        )
    if "5 minutes off" in text or "unix time" in text:
        return (
            "set this server's clock right (NTP): Zoom's signatures are only valid for 5 minutes."
        )
    if "client_id" in text:
        return "MMZOOM_OAUTH_CLIENT_ID must be the Client ID of the Zoom app that sends the events."
    if "missing x-zm-signature" in text:
        return (
            "something other than Zoom posts to the endpoint, or a proxy drops Zoom's "
            "x-zm-* headers; check the proxy."
        )
    return "see the service's log ('zoom webhook rejected') for the request."


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now" if seconds < 5 else f"{seconds} seconds ago"
