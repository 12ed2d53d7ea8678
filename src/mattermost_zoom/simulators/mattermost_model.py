"""Data shapes of the Mattermost simulator: ids, entities, errors, driver results."""

from __future__ import annotations

import copy
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

# Mattermost's NewId(): 16 random bytes in base32 with this alphabet -> 26 chars.
_ID_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"

# The server routes clicks with /actions/{action_id:[A-Za-z0-9]+}: any other id
# is rejected by the router before the integration is called.
ACTION_ID_RE = re.compile(r"^[A-Za-z0-9]+$")

# Props that Mattermost keeps from the original post when an action response
# replaces the props (model.PostActionRetainPropKeys).
RETAIN_PROP_KEYS = ("from_webhook", "override_username", "override_icon_url")

# Identity props an edit through the REST API cannot remove.
IDENTITY_PROP_KEYS = ("from_bot", "from_webhook", "from_plugin")


def new_id() -> str:
    value = int.from_bytes(secrets.token_bytes(16), "big")
    chars = []
    for _ in range(26):
        chars.append(_ID_ALPHABET[value & 31])
        value >>= 5
    return "".join(chars)


# Error ids and messages as the Mattermost server's English translations have them.
ERR_SESSION = (
    "api.context.session_expired.app_error",
    "Invalid or expired session, please login again.",
)
ERR_PERMISSION = (
    "api.context.permissions.app_error",
    "You do not have the appropriate permissions.",
)
ERR_USER_MISSING = ("app.user.missing_account.const", "Unable to find the user.")
ERR_CHANNEL_MISSING = ("app.channel.get.existing.app_error", "Unable to find the existing channel.")
ERR_MEMBER_MISSING = (
    "app.channel.get_member.missing.app_error",
    "No channel member found for that user ID and channel ID.",
)
ERR_POST_MISSING = ("app.post.get.app_error", "Unable to get the post.")
ERR_NOT_FOUND = ("api.context.404.app_error", "Sorry, we could not find the page.")
ERR_EMAIL_HIDDEN = (
    "api.user.get_user_by_email.permissions.app_error",
    "Unable to get user by email.",
)
ERR_TRIGGER_EXPIRED = (
    "interactive_message.decode_trigger_id.expired",
    "Trigger ID for interactive dialog is expired. "
    "Trigger IDs live for a maximum of {seconds} seconds.",
)
ERR_TRIGGER_INVALID = (
    "interactive_message.decode_trigger_id.verify_signature_failed",
    "Signature verification failed for trigger ID for interactive dialog.",
)
ERR_ACTION_INTEGRATION = (
    "api.post.do_action.action_integration.app_error",
    "Action integration error.",
)
ERR_ACTION_ID = ("api.post.do_action.action_id.app_error", "Invalid action id.")
ERR_UPDATE_MISSING = (
    "api.post.update_post.find.app_error",
    "Unable to find the existing post or comment to update.",
)
ERR_HOOK_MISSING = ("web.command_webhook.invalid.app_error", "Invalid webhook.")


def invalid_param(name: str) -> tuple[str, str]:
    return ("api.context.invalid_param.app_error", f"Invalid {name} parameter.")


def invalid_body_param(name: str) -> tuple[str, str]:
    return (
        "api.context.invalid_body_param.app_error",
        f"Invalid or missing {name} in request body.",
    )


def app_error(err: tuple[str, str], status: int, detailed: str = "") -> dict[str, Any]:
    """Mattermost's AppError JSON."""
    return {
        "id": err[0],
        "message": err[1],
        "detailed_error": detailed,
        "request_id": new_id(),
        "status_code": status,
    }


def generic_error(status: int) -> dict[str, Any]:
    reasons = {
        400: ("api.context.invalid_param.app_error", "Invalid parameter."),
        401: ERR_SESSION,
        403: ERR_PERMISSION,
        404: ERR_NOT_FOUND,
        429: ("api.context.rate_limit.app_error", "Too many requests."),
    }
    err = reasons.get(status, ("api.context.internal_error", "An internal error occurred."))
    return app_error(err, status)


@dataclass
class User:
    id: str
    username: str
    email: str
    first_name: str = ""
    last_name: str = ""
    nickname: str = ""
    roles: str = "system_user"
    is_bot: bool = False
    locale: str = "en"
    create_at: int = 0

    def has_role(self, role: str) -> bool:
        return role in self.roles.split()

    def to_json(self, *, show_email: bool = True, show_full_name: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "username": self.username,
            "auth_service": "",
            "email": self.email if show_email else "",
            "nickname": self.nickname,
            "first_name": self.first_name if show_full_name else "",
            "last_name": self.last_name if show_full_name else "",
            "position": "",
            "roles": self.roles,
            "locale": self.locale,
            "timezone": {
                "automaticTimezone": "",
                "manualTimezone": "",
                "useAutomaticTimezone": "true",
            },
            "disable_welcome_email": False,
        }
        if self.is_bot:
            data["is_bot"] = True
            data["bot_description"] = ""
        return data


@dataclass
class Team:
    id: str
    name: str
    display_name: str


@dataclass
class Channel:
    id: str
    team_id: str
    type: str  # "O" open, "P" private, "D" direct, "G" group
    name: str
    display_name: str
    create_at: int = 0
    creator_id: str = ""

    @property
    def is_open(self) -> bool:
        return self.type == "O"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "team_id": self.team_id,
            "type": self.type,
            "display_name": self.display_name,
            "name": self.name,
            "header": "",
            "purpose": "",
            "last_post_at": 0,
            "total_msg_count": 0,
            "extra_update_at": 0,
            "creator_id": self.creator_id,
            "scheme_id": None,
            "props": None,
            "group_constrained": None,
            "shared": None,
            "total_msg_count_root": 0,
            "policy_id": None,
            "last_root_post_at": 0,
        }


@dataclass
class Command:
    team_id: str
    trigger: str
    url: str
    token: str
    method: str = "P"  # "P" POST form body, "G" GET query string


@dataclass
class FileInfo:
    id: str
    user_id: str
    channel_id: str
    name: str
    size: int
    sha256: str
    mime_type: str
    create_at: int
    post_id: str = ""

    def to_json(self) -> dict[str, Any]:
        extension = self.name.rsplit(".", 1)[1].lower() if "." in self.name else ""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "post_id": self.post_id,
            "channel_id": self.channel_id,
            "create_at": self.create_at,
            "update_at": self.create_at,
            "delete_at": 0,
            "name": self.name,
            "extension": extension,
            "size": self.size,
            "mime_type": self.mime_type,
            "width": 0,
            "height": 0,
            "has_preview_image": False,
            "mini_preview": None,
        }


@dataclass
class OpenedDialog:
    """An interactive dialog shown to a user, waiting to be submitted."""

    id: str
    user_id: str
    channel_id: str
    team_id: str
    url: str
    dialog: dict[str, Any]
    opened_at: int
    closed: bool = False


@dataclass
class IssuedTrigger:
    user_id: str
    channel_id: str
    team_id: str
    issued_at: int


@dataclass
class CommandWebhook:
    """The response_url Mattermost hands to a slash command (30 min, 5 uses)."""

    id: str
    user_id: str
    channel_id: str
    team_id: str
    root_id: str
    create_at: int
    uses: int = 0


@dataclass
class CommandResult:
    """What happened when a user ran a slash command."""

    status_code: int | None
    response: dict[str, Any] | None
    posts: list[dict[str, Any]] = field(default_factory=list)
    ephemeral_posts: list[dict[str, Any]] = field(default_factory=list)
    goto_location: str | None = None
    trigger_id: str = ""
    error: str | None = None
    request: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionResult:
    """What happened when a user clicked a message button."""

    api_status: int  # what the Mattermost API answered the clicking client
    status_code: int | None  # what the integration answered (None: not called)
    body: Any
    error: dict[str, Any] | None = None
    updated_post: dict[str, Any] | None = None
    ephemeral_posts: list[dict[str, Any]] = field(default_factory=list)
    request: dict[str, Any] = field(default_factory=dict)


@dataclass
class DialogResult:
    """What happened when a user submitted (or cancelled) a dialog."""

    status_code: int | None
    body: Any
    errors: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    closed: bool = False
    client_errors: dict[str, str] = field(default_factory=dict)
    request: dict[str, Any] = field(default_factory=dict)


def iter_actions(post: dict[str, Any]) -> list[dict[str, Any]]:
    props = post.get("props") or {}
    result: list[dict[str, Any]] = []
    for attachment in props.get("attachments") or []:
        if isinstance(attachment, dict):
            result.extend(a for a in attachment.get("actions") or [] if isinstance(a, dict))
    return result


def generate_action_ids(props: dict[str, Any] | None) -> None:
    """Give ids to actions that lack one, as the server does when saving a post."""
    for attachment in (props or {}).get("attachments") or []:
        if isinstance(attachment, dict):
            for action in attachment.get("actions") or []:
                if isinstance(action, dict) and not action.get("id"):
                    action["id"] = new_id()


def strip_integrations(post: dict[str, Any]) -> dict[str, Any]:
    """Posts leave the server without action integrations (Post.ToJSON strips them)."""
    clean = copy.deepcopy(post)
    for action in iter_actions(clean):
        action.pop("integration", None)
    return clean
