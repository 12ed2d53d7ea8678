"""Fresh Zoom access tokens, refreshing each user's token exactly once.

Zoom refresh tokens are single-use and rotate: if two requests refreshed the same
token, the loser would get ``invalid_grant`` and the user would be disconnected
for nothing. So within a process, callers queue on a per-user lock; across
processes, one of them takes a lease in the database (a conditional UPDATE) and
the others wait for the token version to move on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar
from weakref import WeakValueDictionary

from mattermost_zoom.clients.zoom import OAuthGrantError, ZoomOAuth, ZoomUnauthorized
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core.models import Connection
from mattermost_zoom.crypto import TokenCipher
from mattermost_zoom.store.repository import Store

log = logging.getLogger(__name__)

T = TypeVar("T")

# Refresh a little before Zoom's expiry so a token never dies mid-request.
EXPIRY_MARGIN = timedelta(seconds=60)
LEASE = timedelta(seconds=30)
POLL_SECONDS = 0.05


class NotConnected(Exception):
    """The user has no Zoom connection."""


class ReconnectNeeded(Exception):
    """Zoom refused the refresh token: the connection was removed, the user must reconnect."""


@dataclass(frozen=True)
class AccessToken:
    value: str
    version: int

    def __repr__(self) -> str:
        return f"AccessToken(version={self.version})"


class TokenManager:
    def __init__(self, store: Store, cipher: TokenCipher, oauth: ZoomOAuth) -> None:
        self._store = store
        self._cipher = cipher
        self._oauth = oauth
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    async def access_token(
        self,
        mm_user_id: str,
        *,
        stale_version: int | None = None,
        loaded: Connection | None = None,
    ) -> AccessToken:
        """A usable access token. ``stale_version``: Zoom rejected that version's
        token, so refresh even if it looks unexpired. ``loaded``: the connection
        as the caller just read it, to save reading it again."""
        conn = loaded if loaded is not None else await self._load(mm_user_id)
        if self._usable(conn, stale_version):
            return self._token(conn)
        lock = self._locks.get(mm_user_id)
        if lock is None:
            lock = self._locks[mm_user_id] = asyncio.Lock()
        async with lock:
            return await self._refresh_once(mm_user_id, stale_version)

    async def call(
        self,
        mm_user_id: str,
        operation: Callable[[str], Awaitable[T]],
        *,
        loaded: Connection | None = None,
    ) -> T:
        """Run a Zoom API call with the user's token; if Zoom rejects the token,
        refresh once and try again."""
        token = await self.access_token(mm_user_id, loaded=loaded)
        try:
            return await operation(token.value)
        except ZoomUnauthorized:
            token = await self.access_token(mm_user_id, stale_version=token.version)
            return await operation(token.value)

    async def _refresh_once(self, mm_user_id: str, stale_version: int | None) -> AccessToken:
        deadline = utcnow() + LEASE * 2
        while True:
            conn = await self._load(mm_user_id)
            if self._usable(conn, stale_version):
                return self._token(conn)  # someone else refreshed while we waited
            now = utcnow()
            if await self._store.take_refresh_lease(
                mm_user_id, version=conn.token_version, now=now, until=now + LEASE
            ):
                return await self._refresh(conn)
            if utcnow() > deadline:
                raise TimeoutError("another process is still refreshing this user's token")
            await asyncio.sleep(POLL_SECONDS)

    async def _refresh(self, conn: Connection) -> AccessToken:
        try:
            # Inside the try: an undecryptable token must not keep the lease held.
            refresh_token = self._cipher.decrypt(conn.refresh_token_enc)
            tokens = await self._oauth.refresh(refresh_token, utcnow())
        except OAuthGrantError as exc:
            if exc.grant_is_dead:
                log.warning(
                    "zoom refused the refresh token; removing the connection",
                    extra={"mm_user_id": conn.mm_user_id, "zoom_error": exc.error},
                )
                await self._store.delete_connection(conn.mm_user_id)
                raise ReconnectNeeded() from None
            await self._store.release_refresh_lease(conn.mm_user_id, version=conn.token_version)
            raise
        except BaseException:
            await self._store.release_refresh_lease(conn.mm_user_id, version=conn.token_version)
            raise
        stored = await self._store.store_refreshed_tokens(
            conn.mm_user_id,
            version=conn.token_version,
            access_token_enc=self._cipher.encrypt(tokens.access_token),
            refresh_token_enc=self._cipher.encrypt(tokens.refresh_token),
            access_expires_at=tokens.expires_at,
        )
        if not stored:
            # The user reconnected or disconnected meanwhile; use whatever is there now.
            return self._token(await self._load(conn.mm_user_id))
        return AccessToken(tokens.access_token, conn.token_version + 1)

    async def _load(self, mm_user_id: str) -> Connection:
        conn = await self._store.get_connection(mm_user_id)
        if conn is None:
            raise NotConnected()
        return conn

    def _usable(self, conn: Connection, stale_version: int | None) -> bool:
        if stale_version is not None and conn.token_version <= stale_version:
            return False
        return conn.access_expires_at - EXPIRY_MARGIN > utcnow()

    def _token(self, conn: Connection) -> AccessToken:
        return AccessToken(self._cipher.decrypt(conn.access_token_enc), conn.token_version)
