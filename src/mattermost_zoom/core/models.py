"""Domain values shared by the core, the store and the adapters. Plain data only."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class MeetingIdChoice(enum.StrEnum):
    """The user's meeting ID preference, as offered by ``/zoom settings``."""

    PERSONAL = "pmi"
    UNIQUE = "unique"
    ASK = "ask"


class ChannelType(enum.StrEnum):
    OPEN = "O"
    PRIVATE = "P"
    DIRECT = "D"
    GROUP = "G"


class MeetingStatus(enum.StrEnum):
    STARTED = "STARTED"
    ENDED = "ENDED"


@dataclass(frozen=True)
class NewConnection:
    """A Mattermost user's link to a Zoom account, as just made (OAuth completed, or
    imported from the plugin). Tokens are encrypted before they get here."""

    mm_user_id: str  # the key it is stored under
    zoom_user_id: str
    zoom_email: str
    pmi: str | None
    access_token_enc: str
    refresh_token_enc: str
    access_expires_at: datetime
    connected_at: datetime


@dataclass(frozen=True)
class Connection(NewConnection):
    """A stored connection: which generation its tokens are, and who is refreshing."""

    token_version: int
    refresh_lease_until: datetime | None = None


@dataclass(frozen=True)
class Meeting:
    """A meeting card the service posted, and the Zoom meeting behind it."""

    meeting_id: str
    post_id: str | None
    channel_id: str
    creator_mm_user_id: str
    topic: str
    personal: bool
    join_url: str
    status: MeetingStatus
    created_at: datetime
    meeting_uuid: str | None = None
    ended_at: datetime | None = None
    instance_uuid: str | None = None  # the Zoom session this card belongs to, once known
    row_id: int | None = None


@dataclass(frozen=True)
class StartRequest:
    """What a user asked for when starting a meeting; survives an OAuth round trip
    or a button click, so it holds only plain values."""

    channel_id: str
    topic: str = ""
    root_id: str = ""  # the thread the command was typed in, when Mattermost says
    choice: MeetingIdChoice | None = None  # chosen by button for this meeting only
    force_new: bool = False  # the user chose "create new" over a recent meeting

    def to_dict(self) -> dict[str, object]:
        return {
            "channel_id": self.channel_id,
            "topic": self.topic,
            "root_id": self.root_id,
            "choice": self.choice.value if self.choice else None,
            "force_new": self.force_new,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> StartRequest:
        choice = data.get("choice")
        return cls(
            channel_id=str(data["channel_id"]),
            topic=str(data.get("topic") or ""),
            root_id=str(data.get("root_id") or ""),
            choice=MeetingIdChoice(str(choice)) if choice else None,
            force_new=bool(data.get("force_new", False)),
        )


@dataclass(frozen=True)
class Actor:
    """The Mattermost user behind a command or a click."""

    user_id: str
    username: str
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_system_admin(self) -> bool:
        return "system_admin" in self.roles
