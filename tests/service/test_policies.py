"""Admin policy: restricting meetings in public channels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import World, build_world


@pytest.fixture
def restricted(database_url: str) -> Iterator[World]:
    with build_world(database_url, MMZOOM_RESTRICT_MEETING_CREATION="true") as w:
        yield w


def test_public_channel_refused_private_channel_allowed(restricted: World) -> None:
    w = restricted
    w.connect(w.bob, w.bob_zoom)
    w.run(w.bob, w.town_square, "/zoom start")
    w.wait_for_ephemeral(w.bob, w.town_square, "public channels is turned off")
    assert w.cards(w.town_square) == []

    dm = w.mm.direct_channel(w.alice, w.bob)
    w.mm.add_member(dm, w.bob)
    w.run(w.bob, dm, "/zoom start")
    w.wait_for_card(dm)
