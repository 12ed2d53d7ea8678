"""The service's collaborators, built once from the settings and passed explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from mattermost_zoom.clients.mattermost import MattermostClient
from mattermost_zoom.clients.zoom import ZoomAPI, ZoomOAuth
from mattermost_zoom.config import Settings
from mattermost_zoom.crypto import Keyring
from mattermost_zoom.observability import Metrics
from mattermost_zoom.store.repository import Store
from mattermost_zoom.workflows.tokens import TokenManager

# Slash commands must answer well within Mattermost's timeout; outgoing calls
# get a tight budget so a hung peer cannot pile up requests.
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Services:
    settings: Settings
    store: Store
    keys: Keyring
    http: httpx.AsyncClient
    mattermost: MattermostClient
    zoom_oauth: ZoomOAuth
    zoom_api: ZoomAPI
    tokens: TokenManager
    metrics: Metrics

    @classmethod
    def build(cls, settings: Settings, metrics: Metrics | None = None) -> Services:
        store = Store.open(settings.database_url)
        keys = Keyring(settings.encryption_keys)
        metrics = metrics or Metrics()
        peers = {urlsplit(settings.mattermost_url).netloc: "mattermost"}
        peers.update(dict.fromkeys(settings.zoom_hosts, "zoom"))
        http = httpx.AsyncClient(
            timeout=HTTP_TIMEOUT,
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
            transport=metrics.transport(peers),
        )
        oauth = ZoomOAuth(
            zoom_url=settings.zoom_url,
            client_id=settings.oauth_client_id,
            client_secret=settings.oauth_client_secret.get_secret_value(),
            redirect_url=settings.oauth_redirect_url,
            http=http,
        )
        return cls(
            settings=settings,
            store=store,
            keys=keys,
            http=http,
            mattermost=MattermostClient(
                settings.mattermost_url, settings.bot_token.get_secret_value(), http
            ),
            zoom_oauth=oauth,
            zoom_api=ZoomAPI(settings.zoom_api_url, http),
            tokens=TokenManager(store, keys.tokens, oauth),
            metrics=metrics,
        )

    async def close(self) -> None:
        await self.http.aclose()
        await self.store.close()
