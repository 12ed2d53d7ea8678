"""Taking over one user's Zoom connection from the Go plugin.

Each imported user's Zoom profile is fetched once (``GET /users/me``), so that the
connection here has its personal meeting ID from the start: without it, ``/zoom
start`` could not honour a saved "personal meeting ID" preference. That needs a
live access token: if the plugin's one has expired (or its expiry is unknown) it is
refreshed first. Zoom refresh tokens rotate, so from then on the plugin's copy is
dead: once the data is imported, the plugin must not be enabled again.

Nothing here replaces a connection made here: a user connected here is left alone.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from mattermost_zoom.clients.zoom import (
    OAuthGrantError,
    ZoomAPI,
    ZoomError,
    ZoomOAuth,
    ZoomUser,
)
from mattermost_zoom.clock import utcnow
from mattermost_zoom.core.models import NewConnection
from mattermost_zoom.core.plugin_records import PluginUser
from mattermost_zoom.crypto import TokenCipher
from mattermost_zoom.store import imports

log = logging.getLogger(__name__)

# As the service does: a token this close to its expiry is refreshed first.
EXPIRY_MARGIN = timedelta(seconds=60)


class UserOutcome(enum.Enum):
    IMPORTED = "imported"
    # Imported, but Zoom did not answer the profile look-up after the token was
    # refreshed (so it had to be kept): no personal meeting ID until they reconnect.
    IMPORTED_WITHOUT_PMI = "imported without personal meeting ID"
    ALREADY_HERE = "already connected here"
    # Zoom refused the refresh token (the user removed the app, or it was revoked).
    REFUSED = "refused by Zoom"
    # Zoom could not be reached or failed; nothing changed, a second run retries.
    ZOOM_UNAVAILABLE = "Zoom unavailable"


@dataclass(frozen=True)
class Importer:
    engine: AsyncEngine
    cipher: TokenCipher
    oauth: ZoomOAuth
    zoom_api: ZoomAPI

    async def import_user(self, user: PluginUser) -> UserOutcome:
        if await imports.is_connected(self.engine, user.mm_user_id):
            return UserOutcome.ALREADY_HERE
        now = utcnow()
        access = user.access_token
        refresh = user.refresh_token
        # An unknown expiry counts as expired.
        expires_at = user.access_expires_at or now
        refreshed = False
        profile: ZoomUser | None = None
        try:
            if expires_at - EXPIRY_MARGIN <= now:
                access, refresh, expires_at = await self._refresh(refresh)
                refreshed = True
            try:
                profile = await self.zoom_api.get_me(access)
            except ZoomError as exc:
                if refreshed or exc.status != 401:
                    raise
                # Revoked early, or the plugin's clock was wrong: refresh once.
                access, refresh, expires_at = await self._refresh(refresh)
                refreshed = True
                profile = await self.zoom_api.get_me(access)
        except OAuthGrantError as exc:
            if exc.grant_is_dead:
                return UserOutcome.REFUSED
            log.warning(
                "zoom refused a token refresh",
                extra={"mm_user_id": user.mm_user_id, "error": str(exc)},
            )
            return UserOutcome.ZOOM_UNAVAILABLE
        except (ZoomError, httpx.HTTPError) as exc:
            log.warning(
                "zoom did not answer",
                extra={"mm_user_id": user.mm_user_id, "error": str(exc) or type(exc).__name__},
            )
            if not refreshed:
                return UserOutcome.ZOOM_UNAVAILABLE
            # The plugin's refresh token is spent: keep the new one, whatever else failed.
        added = await imports.add_connection_if_absent(
            self.engine,
            NewConnection(
                mm_user_id=user.mm_user_id,
                zoom_user_id=profile.id if profile else user.zoom_user_id,
                zoom_email=profile.email if profile else user.zoom_email,
                pmi=profile.pmi if profile else None,
                access_token_enc=self.cipher.encrypt(access),
                refresh_token_enc=self.cipher.encrypt(refresh),
                access_expires_at=expires_at,
                connected_at=utcnow(),
            ),
        )
        if not added:
            return UserOutcome.ALREADY_HERE  # connected here while we were at it
        return UserOutcome.IMPORTED if profile else UserOutcome.IMPORTED_WITHOUT_PMI

    async def _refresh(self, refresh_token: str) -> tuple[str, str, datetime]:
        tokens = await self.oauth.refresh(refresh_token, utcnow())
        return tokens.access_token, tokens.refresh_token, tokens.expires_at
