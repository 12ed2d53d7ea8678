"""The meeting card: props the plugin's web app reads, and a plugin-less rendering."""

from mattermost_zoom.core import cards


def card(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "channel_id": "c1",
        "meeting_id": "81234567890",
        "meeting_uuid": "4444AAAiAAAAAiAiAiiAii==",
        "join_url": "https://zoom.example/j/81234567890?pwd=abc",
        "topic": "Design review",
        "personal": False,
        "creator_username": "alice",
    }
    values.update(overrides)
    return cards.meeting_post(**values)  # type: ignore[arg-type]


def test_card_has_the_plugin_props() -> None:
    post = card()
    assert post["type"] == "custom_zoom"
    props = post["props"]
    assert isinstance(props, dict)
    assert props["meeting_id"] == 81234567890
    assert props["meeting_uuid"] == "4444AAAiAAAAAiAiAiiAii=="
    assert props["meeting_link"] == "https://zoom.example/j/81234567890?pwd=abc"
    assert props["meeting_status"] == "STARTED"
    assert props["meeting_personal"] is False
    assert props["meeting_topic"] == "Design review"
    assert props["meeting_creator_username"] == "alice"
    assert props["meeting_provider"] == "Zoom"


def test_card_reads_well_without_the_plugin() -> None:
    post = card(personal=True)
    attachment = post["props"]["attachments"][0]  # type: ignore[index]
    assert attachment["title"] == "Design review"
    assert attachment["title_link"] == "https://zoom.example/j/81234567890?pwd=abc"
    assert "[Join Meeting](https://zoom.example/j/81234567890?pwd=abc)" in attachment["text"]
    assert "@alice" in attachment["text"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Meeting ID"] == "812 3456 7890"
    assert fields["Meeting ID type"] == "Personal"
    assert "alice" in str(post["message"])
