"""What `setup` decides and prints, without Mattermost or Zoom."""

from __future__ import annotations

from dataclasses import dataclass

from mattermost_zoom.core import setup_guide as guide

PUBLIC = "https://chat.example.com/plugins/zoom"


@dataclass(frozen=True)
class Cmd:
    trigger: str
    url: str
    method: str = "P"


def test_a_zoom_command_at_our_url_is_kept() -> None:
    existing = [Cmd("jira", "https://jira.example.com"), Cmd("zoom", f"{PUBLIC}/command/")]
    assert guide.decide_command(existing, PUBLIC) == guide.Keep(1)


def test_no_zoom_command_means_create_one() -> None:
    assert guide.decide_command([Cmd("jira", f"{PUBLIC}/command")], PUBLIC) == guide.Create()


def test_another_zoom_command_is_a_conflict_not_overwritten() -> None:
    elsewhere = guide.decide_command([Cmd("Zoom", "https://meet.example.com/slash")], PUBLIC)
    assert elsewhere == guide.Conflict("https://meet.example.com/slash", "P")
    get_method = guide.decide_command([Cmd("zoom", f"{PUBLIC}/command", "G")], PUBLIC)
    assert get_method == guide.Conflict(f"{PUBLIC}/command", "G")


def test_command_request_is_what_the_readme_describes() -> None:
    body = guide.command_request("team-id", PUBLIC)
    assert body["team_id"] == "team-id"
    assert body["trigger"] == "zoom"
    assert body["method"] == "P"
    assert body["url"] == f"{PUBLIC}/command"
    assert body["auto_complete"] is True
    assert body["auto_complete_hint"] == "[command]"
    assert 0 < len(body["description"]) <= 128  # Mattermost's limit
    assert len(body["display_name"]) <= 64


def test_bot_roles() -> None:
    assert guide.roles_with_admin(["system_user", "system_admin"]) is None
    assert guide.roles_with_admin(["system_user"]) == "system_user system_admin"
    assert (
        guide.roles_with_admin(["system_user", "system_post_all"])
        == "system_user system_post_all system_admin"
    )
    assert guide.roles_with_admin([]) == "system_user system_admin"


def test_slash_tokens_over_every_team_drop_stale_ones() -> None:
    assert guide.slash_tokens(["old", "a"], ["a", "b"], every_team=True) == "a,b"


def test_slash_tokens_for_some_teams_keep_the_others() -> None:
    assert guide.slash_tokens(["a", "c"], ["b", "a"], every_team=False) == "a,c,b"
    assert guide.split_tokens(" a, ,b ,") == ["a", "b"]


def test_zoom_app_guide_has_every_url_scope_and_event() -> None:
    text = "\n".join(guide.zoom_app_guide(PUBLIC, "s3cret-for-the-url"))
    assert f"OAuth redirect URL:            {PUBLIC}/oauth2/complete" in text
    assert f"OAuth allow list:              {PUBLIC}/oauth2/complete" in text
    assert f"{PUBLIC}/webhook?secret=s3cret-for-the-url" in text
    assert f"{PUBLIC}/deauthorization?secret=s3cret-for-the-url" in text
    for scope in ("meeting:write:meeting", "meeting:read:meeting", "user:read:user"):
        assert scope in text
    for event in (
        "meeting.started",
        "meeting.ended",
        "recording.completed",
        "recording.transcript_completed",
    ):
        assert event in text
    assert "--zoom-client-id" in text and "--zoom-webhook-secret" in text


def test_zoom_app_guide_asks_only_for_what_is_missing() -> None:
    text = "\n".join(
        guide.zoom_app_guide(PUBLIC, "x", need_credentials=False, need_webhook_secret=False)
    )
    assert "bring back" not in text
    only_secret = "\n".join(guide.zoom_app_guide(PUBLIC, "x", need_credentials=False))
    assert "--zoom-webhook-secret" in only_secret and "--zoom-client-id" not in only_secret
