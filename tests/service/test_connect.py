"""Connecting and disconnecting a Zoom account (OAuth 2 with PKCE)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.harness import World, link_in, wait_until


def connect_link(world: World) -> str:
    result = world.run(world.alice, world.town_square, "/zoom connect")
    return link_in(result.ephemeral_posts[-1])


def authorize_redirect(world: World, link: str) -> str:
    """Follow the connect link to Zoom's authorize page, without going further."""
    response = httpx.get(link, follow_redirects=False)
    assert response.status_code == 302
    return response.headers["location"]


def test_connect_uses_pkce_and_tells_the_user_in_the_channel(world: World) -> None:
    authorize = authorize_redirect(world, connect_link(world))
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(world.zoom.url + "/oauth/authorize")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert query["redirect_uri"] == [world.settings.oauth_redirect_url]

    page = world.open_link(authorize, world.alice_zoom)
    assert page.status_code == 200
    assert "Zoom account connected" in page.text
    world.wait_for_ephemeral(world.alice, world.town_square, "connected to Zoom as alice@")
    token_request = next(r for r in world.zoom.requests if r.path == "/oauth/token")
    assert token_request.form()["code_verifier"]

    again = world.run(world.alice, world.town_square, "/zoom connect")
    assert "already connected" in again.ephemeral_posts[-1]["message"]


def test_oauth_state_works_once(world: World) -> None:
    authorize = authorize_redirect(world, connect_link(world))
    with world.browser(world.alice_zoom) as browser:
        to_zoom = browser.get(authorize, follow_redirects=False)
        complete_url = to_zoom.headers["location"]
        assert browser.get(complete_url).status_code == 200
        replay = browser.get(complete_url)
    assert replay.status_code == 400
    assert "expired" in replay.text


def test_state_from_another_flow_or_made_up_is_refused(world: World) -> None:
    forged = f"{world.url}/oauth2/complete?state=made-up&code=whatever"
    response = httpx.get(forged)
    assert response.status_code == 400
    assert not any(r.path == "/oauth/token" for r in world.zoom.requests)


def test_tampered_connect_link_is_refused_and_connects_nobody(world: World) -> None:
    link = connect_link(world)
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    response = httpx.get(tampered, follow_redirects=False)
    assert response.status_code == 400
    assert "expired" in response.text
    assert not any(r.path.startswith("/oauth") for r in world.zoom.requests)


def test_declining_in_zoom_connects_nothing(world: World) -> None:
    world.zoom.deny_authorization = True
    page = world.open_link(connect_link(world), world.alice_zoom)
    assert page.status_code == 400
    assert "not granted" in page.text
    world.zoom.deny_authorization = False
    again = world.run(world.alice, world.town_square, "/zoom connect")
    assert "Connect your Zoom account" in again.ephemeral_posts[-1]["message"]


def test_disconnect_forgets_the_account(world: World) -> None:
    world.connect(world.alice, world.alice_zoom)
    result = world.run(world.alice, world.town_square, "/zoom disconnect")
    assert "disconnected" in result.ephemeral_posts[-1]["message"]
    again = world.run(world.alice, world.town_square, "/zoom disconnect")
    assert "not connected" in again.ephemeral_posts[-1]["message"]

    world.run(world.alice, world.town_square, "/zoom start")
    world.wait_for_ephemeral(world.alice, world.town_square, "first [connect your Zoom account]")
    assert world.cards(world.town_square) == []


def test_the_connect_link_connects_the_user_who_asked_for_it(world: World) -> None:
    """The link names the Mattermost user; no browser input can change who."""
    link = connect_link(world)
    world.open_link(link, world.bob_zoom)  # bob's Zoom login in alice's flow
    wait_until(
        lambda: any(
            "connected to Zoom as bob@" in p["message"]
            for p in world.ephemerals(world.alice, world.town_square)
        ),
        what="alice told which Zoom account she is connected to",
    )
    assert world.ephemerals(world.bob, world.town_square) == []
