"""What ``mattermost-zoom setup`` creates and prints, decided without I/O: the bot
account, the ``/zoom`` command of each team, the slash command tokens to accept,
and the settings to enter in the Zoom app."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

BOT_USERNAME = "zoom"
BOT_DISPLAY_NAME = "Zoom"
BOT_DESCRIPTION = "Starts Zoom meetings from Mattermost (mattermost-zoom)."
BOT_TOKEN_DESCRIPTION = "mattermost-zoom service"  # noqa: S105 - a label, not a token
# create_post_ephemeral, and reading channels and members the bot is not in,
# come only with this role (README, "The bot account").
ADMIN_ROLE = "system_admin"

TRIGGER = "zoom"
COMMAND_HINT = "[command]"
COMMAND_DESCRIPTION = "Start a Zoom meeting, connect your Zoom account"
COMMAND_DISPLAY_NAME = "Zoom"
COMMAND_AUTOCOMPLETE = "Available commands: start, connect, disconnect, settings, help"

SCOPES = ("meeting:write:meeting", "meeting:read:meeting", "user:read:user")
CLASSIC_SCOPES = ("meeting:write", "meeting:read", "user:read")
# (what the Zoom app's event list calls it, the event's name)
EVENTS = (
    ("Meeting", "Start Meeting", "meeting.started"),
    ("Meeting", "End Meeting", "meeting.ended"),
    ("Recording", "All Recordings have completed", "recording.completed"),
    ("Recording", "Recording transcript files have completed", "recording.transcript_completed"),
)


def command_url(public_url: str) -> str:
    return f"{public_url}/command"


def command_request(team_id: str, public_url: str) -> dict[str, Any]:
    """The body of ``POST /api/v4/commands`` for one team's ``/zoom``."""
    return {
        "team_id": team_id,
        "trigger": TRIGGER,
        "method": "P",
        "url": command_url(public_url),
        "display_name": COMMAND_DISPLAY_NAME,
        "description": COMMAND_DESCRIPTION,
        "auto_complete": True,
        "auto_complete_hint": COMMAND_HINT,
        "auto_complete_desc": COMMAND_AUTOCOMPLETE,
    }


def roles_with_admin(roles: Iterable[str]) -> str | None:
    """The roles to give the bot, or None when it already has what it needs."""
    current = list(dict.fromkeys(roles))
    if ADMIN_ROLE in current:
        return None
    if "system_user" not in current:
        current.insert(0, "system_user")
    return " ".join([*current, ADMIN_ROLE])


class ExistingCommand(Protocol):
    @property
    def trigger(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def method(self) -> str: ...


@dataclass(frozen=True)
class Keep:
    """``/zoom`` already points at the service: use it as it is."""

    index: int


@dataclass(frozen=True)
class Create:
    pass


@dataclass(frozen=True)
class Conflict:
    """Another integration owns ``/zoom`` in this team; setup leaves it alone."""

    url: str
    method: str


def decide_command(
    existing: Sequence[ExistingCommand], public_url: str
) -> Keep | Create | Conflict:
    wanted = command_url(public_url)
    ours = [
        i
        for i, c in enumerate(existing)
        if c.trigger.lower() == TRIGGER and _same_url(c.url, wanted) and c.method == "P"
    ]
    if ours:
        return Keep(ours[0])
    others = [c for c in existing if c.trigger.lower() == TRIGGER]
    if others:
        return Conflict(others[0].url, others[0].method)
    return Create()


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def split_tokens(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def slash_tokens(previous: Sequence[str], found: Sequence[str], *, every_team: bool) -> str:
    """MMZOOM_SLASH_COMMAND_TOKEN after setup.

    Run over every team, the tokens are exactly those of the commands found or
    created (a deleted command's token stops working). Run for some teams
    (``--team``), the tokens of the other teams are kept.
    """
    tokens = list(found) if every_team else [*previous, *found]
    return ",".join(dict.fromkeys(tokens))


def zoom_app_guide(
    public_url: str,
    webhook_secret: str,
    *,
    need_credentials: bool = True,
    need_webhook_secret: bool = True,
) -> list[str]:
    """What to enter in the Zoom App Marketplace, line by line, and what to bring
    back from it that the configuration still lacks."""
    redirect = f"{public_url}/oauth2/complete"
    events = "; ".join(f"{group} -> {label} ({name})" for group, label, name in EVENTS)
    lines = [
        "In the Zoom App Marketplace, Develop -> Build App -> General App (user-managed):",
        f"  OAuth redirect URL:            {redirect}",
        f"  OAuth allow list:              {redirect}",
        f"  Scopes:                        {', '.join(SCOPES)}",
        f"                                 (older apps: {', '.join(CLASSIC_SCOPES)})",
        f"  Event subscription endpoint:   {public_url}/webhook?secret={webhook_secret}",
        f"  Events:                        {events}",
        "  Deauthorization notification endpoint: "
        f"{public_url}/deauthorization?secret={webhook_secret}",
    ]
    missing = []
    if need_credentials:
        missing.append(
            "  the app's Client ID and Client Secret: run setup again with --zoom-client-id "
            "and --zoom-client-secret (or set oauth_client_id and oauth_client_secret)"
        )
    if need_webhook_secret:
        missing.append(
            "  the Secret Token of the app's Feature page: run setup again with "
            "--zoom-webhook-secret (or set zoom_webhook_secret)"
        )
    if missing:
        lines += ["Then bring back from the Zoom app:", *missing]
    return lines
