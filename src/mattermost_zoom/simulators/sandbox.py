"""A whole deployment on loopback: Mattermost and Zoom simulators, and the real
service talking to them over HTTP. The demo and the tests act through it as
users do: type commands, click buttons, follow links in a browser; then look at
what the channel shows."""

from __future__ import annotations

import copy
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa

from mattermost_zoom.config import Settings, load_settings
from mattermost_zoom.simulators.mattermost import MattermostSimulator
from mattermost_zoom.simulators.mattermost_model import (
    ActionResult,
    Channel,
    CommandResult,
    FileInfo,
    Team,
    User,
)
from mattermost_zoom.simulators.server import ServerThread
from mattermost_zoom.simulators.zoom import ZoomSimulator, ZoomUser
from mattermost_zoom.store.migrate import migrate
from mattermost_zoom.store.urls import sync_url
from mattermost_zoom.web.app import create_app

T = TypeVar("T")

# Fixed values for a throw-away deployment; never use them for a real one.
ENCRYPTION_KEY = "sandbox-encryption-key-0123456789-abcdef"
WEBHOOK_SECRET = "sandbox-webhook-secret-0123"
ZOOM_WEBHOOK_SECRET = "sandbox-zoom-secret-token"
ZOOM_ACCOUNT = "sandboxAccount01"  # the organisation's Zoom account


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll for an effect of work the service does after answering."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Sandbox:
    mm: MattermostSimulator
    zoom: ZoomSimulator
    settings: Settings
    env: dict[str, str]
    team: Team
    bot: User
    alice: User
    bob: User
    alice_zoom: ZoomUser
    bob_zoom: ZoomUser
    town_square: Channel
    private: Channel
    other_team_channel: Channel  # in a second team, whose /zoom has its own token
    servers: list[ServerThread] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.settings.public_url

    @property
    def webhook_url(self) -> str:
        """The event notification endpoint, as entered in the Zoom app."""
        return f"{self.url}/webhook?secret={self.settings.webhook_secret.get_secret_value()}"

    # --- acting as users ---------------------------------------------------

    def run(self, user: User, channel: Channel, text: str, **kwargs: Any) -> CommandResult:
        result = self.mm.run_command_sync(user.id, channel.id, text, **kwargs)
        assert result.error is None, result.error
        return result

    def click(self, user: User, post: dict[str, Any], button: str) -> ActionResult:
        return self.mm.click_sync(user.id, post["id"], button)

    def browser(self, zoom_user: ZoomUser | None) -> httpx.Client:
        """A browser logged in to Zoom as ``zoom_user`` (None: not logged in)."""
        cookies = self.zoom.login_cookie(zoom_user.id) if zoom_user else {}
        return httpx.Client(cookies=cookies, follow_redirects=True, timeout=10)

    def open_link(self, link: str, zoom_user: ZoomUser | None) -> httpx.Response:
        with self.browser(zoom_user) as browser:
            return browser.get(link)

    def connect(self, user: User, zoom_user: ZoomUser, channel: Channel | None = None) -> None:
        """The whole /zoom connect story, ending connected."""
        channel = channel or self.town_square
        result = self.run(user, channel, "/zoom connect")
        page = self.open_link(link_in(result.ephemeral_posts[-1]), zoom_user)
        assert page.status_code == 200, page.text
        wait_until(
            lambda: any(
                "connected to Zoom" in p["message"] for p in self.ephemerals(user, channel)
            ),
            what="the connected message",
        )

    def let_tokens_expire(self, user: User, zoom_user: ZoomUser) -> None:
        """An hour passes: Zoom stops accepting the access token, and the service's
        record of it says it has expired."""
        self.zoom.expire_access_tokens(zoom_user.id)
        engine = sa.create_engine(sync_url(self.settings.database_url))
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE zoom_connections SET access_expires_at = :past WHERE mm_user_id = :user"
                ),
                {"past": datetime.now(UTC) - timedelta(minutes=5), "user": user.id},
            )
        engine.dispose()

    # --- looking at the result ---------------------------------------------

    def posts(self, channel: Channel) -> list[dict[str, Any]]:
        return [p for p in self.mm.posts.values() if p["channel_id"] == channel.id]

    def cards(self, channel: Channel) -> list[dict[str, Any]]:
        return [p for p in self.posts(channel) if p.get("type") == "custom_zoom"]

    def ephemerals(self, user: User, channel: Channel) -> list[dict[str, Any]]:
        return list(self.mm.ephemeral.get((user.id, channel.id), []))

    def wait_for_card(self, channel: Channel, count: int = 1) -> dict[str, Any]:
        wait_until(lambda: len(self.cards(channel)) >= count, what=f"{count} meeting card(s)")
        return sorted(self.cards(channel), key=lambda p: p["create_at"])[count - 1]

    def replies(self, post: dict[str, Any]) -> list[dict[str, Any]]:
        """The replies in a post's thread, oldest first."""
        with self.mm.lock:
            found = [
                copy.deepcopy(p)
                for p in self.mm.posts.values()
                if p["root_id"] == post["id"] and not p["delete_at"]
            ]
        return sorted(found, key=lambda p: p["create_at"])

    def wait_for_reply(self, post: dict[str, Any], contains: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            matches = [p for p in self.replies(post) if contains in p["message"]]
            return matches[0] if matches else None

        reply = wait_until(found, what=f"a reply in the thread containing {contains!r}")
        assert reply is not None
        return reply

    def attachments(self, post: dict[str, Any]) -> list[FileInfo]:
        """The files attached to a post (their contents: ``mm.file_contents``)."""
        with self.mm.lock:
            return [self.mm.files[f] for f in post.get("file_ids") or [] if f in self.mm.files]

    def wait_for_ephemeral(self, user: User, channel: Channel, contains: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            matches = [p for p in self.ephemerals(user, channel) if contains in p["message"]]
            return matches[0] if matches else None

        post = wait_until(found, what=f"an ephemeral message containing {contains!r}")
        assert post is not None
        return post


def link_in(post: dict[str, Any]) -> str:
    """The first markdown link target in a post's message."""
    message = str(post["message"])
    start = message.index("](") + 2
    return message[start : message.index(")", start)]


def base_env(mm: MattermostSimulator, zoom: ZoomSimulator, database_url: str) -> dict[str, str]:
    return {
        "MMZOOM_MATTERMOST_URL": mm.url,
        "MMZOOM_ZOOM_URL": zoom.url,
        "MMZOOM_ZOOM_API_URL": zoom.api_url,
        "MMZOOM_ENCRYPTION_KEY": ENCRYPTION_KEY,
        "MMZOOM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "MMZOOM_ZOOM_WEBHOOK_SECRET": ZOOM_WEBHOOK_SECRET,
        "MMZOOM_DATABASE_URL": database_url,
    }


@contextmanager
def start_sandbox(
    database_url: str, *, service: bool = True, **overrides: str
) -> Iterator[Sandbox]:
    """The simulators, seeded, and the service at ``MMZOOM_PUBLIC_URL``.

    ``service=False`` leaves the database untouched and nothing listening at the
    public URL: the caller runs the service there itself (e.g. several real
    processes behind a proxy on that port)."""
    mm, zoom = MattermostSimulator(), ZoomSimulator()
    servers = [mm.serve(), zoom.serve()]
    try:
        bot, bot_token = mm.add_bot("zoom", system_admin=True)
        team = mm.add_team("acme")
        alice = mm.add_user("alice")
        bob = mm.add_user("bob")
        town_square = mm.add_channel(team, "O", "town-square", [alice, bob])
        private = mm.add_channel(team, "P", "design", [alice])
        port = free_port()
        public_url = f"http://127.0.0.1:{port}/plugins/zoom"
        account_level = overrides.get("MMZOOM_ACCOUNT_LEVEL_APP", "").lower() == "true"
        app = zoom.add_app(
            redirect_uris=[f"{public_url}/oauth2/complete"], account_level=account_level
        )
        command = mm.register_command(team.id, url=f"{public_url}/command")
        other_team = mm.add_team("globex")
        other_team_channel = mm.add_channel(other_team, "O", "general", [alice])
        other_command = mm.register_command(other_team.id, url=f"{public_url}/command")
        env = base_env(mm, zoom, database_url) | {
            "MMZOOM_BOT_TOKEN": bot_token,
            "MMZOOM_PUBLIC_URL": public_url,
            "MMZOOM_SLASH_COMMAND_TOKEN": f"{command.token},{other_command.token}",
            "MMZOOM_OAUTH_CLIENT_ID": app.client_id,
            "MMZOOM_OAUTH_CLIENT_SECRET": app.client_secret,
        }
        env.update(overrides)
        settings = load_settings(environ=env)
        if service:
            migrate(settings.database_url)
            servers.append(ServerThread(create_app(settings), port=port).start())
        yield Sandbox(
            mm=mm,
            zoom=zoom,
            settings=settings,
            env=env,
            team=team,
            bot=bot,
            alice=alice,
            bob=bob,
            alice_zoom=zoom.add_user(
                "alice@example.com", "Alice", "Liddell", pmi=5551234567, account_id=ZOOM_ACCOUNT
            ),
            bob_zoom=zoom.add_user(
                "bob@example.com", "Bob", "Builder", pmi=0, account_id=ZOOM_ACCOUNT
            ),
            town_square=town_square,
            private=private,
            other_team_channel=other_team_channel,
            servers=servers,
        )
    finally:
        for server in reversed(servers):
            server.stop()
