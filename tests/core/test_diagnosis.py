"""`check`'s verdicts, from facts: every problem an admin can meet gives a FAIL line
that names it and says how to fix it; what is merely not yet seen is a warning."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mattermost_zoom.core.diagnosis import (
    Answer,
    BotFacts,
    CheckResult,
    CommandFacts,
    DatabaseFacts,
    Facts,
    Status,
    TeamFacts,
    WebhookFacts,
    ZoomCredentialFacts,
    diagnose,
    failed,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
PUBLIC = "https://chat.example.com/plugins/zoom"


def good_command(**changes: Any) -> CommandFacts:
    values: dict[str, Any] = {
        "trigger": "zoom",
        "url": f"{PUBLIC}/command",
        "method": "P",
        "token_accepted": True,
    }
    return CommandFacts(**(values | changes))


def good(**changes: Any) -> Facts:
    facts = Facts(
        now=NOW,
        mattermost_url="https://chat.example.com",
        public_url=PUBLIC,
        zoom_url="https://zoom.us",
        ping=Answer(200),
        bot=BotFacts(
            Answer(200), "zoom", is_bot=True, roles=frozenset({"system_user", "system_admin"})
        ),
        teams=(TeamFacts("acme", (good_command(),)), TeamFacts("globex", (good_command(),))),
        health=Answer(200),
        zoom=ZoomCredentialFacts(Answer(400), "invalid_grant", "Invalid Token!"),
        database=DatabaseFacts(reachable=True, current=("0003",), heads=("0003",)),
        webhooks=WebhookFacts(last_received=NOW - timedelta(minutes=3), last_rejected=None),
    )
    return replace(facts, **changes)


def by_subject(results: list[CheckResult], subject: str) -> CheckResult:
    (found,) = [r for r in results if r.subject == subject]
    return found


def only_failure(facts: Facts) -> CheckResult:
    (failure,) = [r for r in diagnose(facts) if r.status is Status.FAIL]
    return failure


def test_a_healthy_deployment_has_no_failure_and_says_what_it_saw() -> None:
    results = diagnose(good())

    assert not failed(results)
    assert all(r.status is Status.OK for r in results)
    assert by_subject(results, "webhooks").detail == "last verified Zoom event 3 minutes ago"
    assert by_subject(results, "team acme").line() == (
        "ok    team acme: /zoom is registered and its token accepted"
    )


def test_unreachable_mattermost_fails_and_skips_what_depends_on_it() -> None:
    results = diagnose(good(ping=Answer(None, "connection refused"), bot=None, teams=None))

    mattermost = by_subject(results, "Mattermost")
    assert mattermost.status is Status.FAIL
    assert "cannot reach https://chat.example.com (connection refused)" in mattermost.detail
    assert "MMZOOM_MATTERMOST_URL" in mattermost.fix
    assert by_subject(results, "bot account").status is Status.SKIP
    assert by_subject(results, "/zoom commands").status is Status.SKIP
    assert failed(results)


def test_mattermost_answering_an_error_page_fails() -> None:
    failure = only_failure(good(ping=Answer(502)))
    assert failure.subject == "Mattermost"
    assert "HTTP 502" in failure.detail


def test_revoked_bot_token() -> None:
    results = diagnose(good(bot=BotFacts(Answer(401, "api.context.session_expired.app_error"))))

    token = by_subject(results, "bot token")
    assert token.status is Status.FAIL
    assert "Mattermost does not accept MMZOOM_BOT_TOKEN" in token.detail
    assert "mattermost-zoom setup" in token.fix
    assert by_subject(results, "bot role").status is Status.SKIP
    assert by_subject(results, "/zoom commands").status is Status.SKIP


def test_a_persons_token_instead_of_the_bots() -> None:
    bot = BotFacts(Answer(200), "alice", is_bot=False, roles=frozenset({"system_admin"}))
    failure = only_failure(good(bot=bot))
    assert failure.subject == "bot token"
    assert "@alice, a person's account, not a bot account" in failure.detail


def test_bot_without_the_system_admin_role() -> None:
    bot = BotFacts(Answer(200), "zoom", is_bot=True, roles=frozenset({"system_user"}))
    failure = only_failure(good(bot=bot))
    assert failure.subject == "bot role"
    assert "ephemeral messages" in failure.detail
    assert "System Admin role" in failure.fix


@pytest.mark.parametrize(
    ("team", "problem", "fix"),
    [
        (
            TeamFacts("acme", ()),
            "no /zoom command",
            "mattermost-zoom setup --team acme",
        ),
        (
            TeamFacts("acme", (good_command(url="https://old.example.com/plugins/zoom/command"),)),
            "sends its requests to https://old.example.com/plugins/zoom/command, not to "
            f"{PUBLIC}/command",
            f"set its request URL to {PUBLIC}/command",
        ),
        (
            TeamFacts("acme", (good_command(method="G"),)),
            "uses the GET method",
            "request method to POST",
        ),
        (
            TeamFacts("acme", (good_command(token_accepted=False),)),
            "token is not in MMZOOM_SLASH_COMMAND_TOKEN",
            "mattermost-zoom setup --team acme",
        ),
        (
            TeamFacts("acme", listing=Answer(403, "api.context.permissions.app_error")),
            "could not list its slash commands (HTTP 403",
            "System Admin role",
        ),
    ],
    ids=["missing", "elsewhere", "get-method", "token-not-accepted", "cannot-list"],
)
def test_team_command_problems(team: TeamFacts, problem: str, fix: str) -> None:
    failure = only_failure(good(teams=(team, TeamFacts("globex", (good_command(),)))))
    assert failure.subject == "team acme"
    assert problem in failure.detail
    assert fix in failure.fix


def test_other_teams_commands_do_not_hide_ours() -> None:
    other = good_command(trigger="jira", url="https://jira.example.com", token_accepted=False)
    results = diagnose(good(teams=(TeamFacts("acme", (other, good_command())),)))
    assert by_subject(results, "team acme").status is Status.OK


def test_unknown_team_and_no_team_at_all() -> None:
    failure = only_failure(good(unknown_teams=("initech",)))
    assert failure.subject == "team initech"
    assert failure.detail == "no such team."

    results = diagnose(good(teams=()))
    assert by_subject(results, "/zoom commands").status is Status.WARN


def test_teams_that_cannot_be_listed() -> None:
    failure = only_failure(good(teams=None, teams_listing=Answer(403)))
    assert "could not list the teams" in failure.detail


@pytest.mark.parametrize(
    ("health", "problem", "fix"),
    [
        (Answer(None, "connection refused"), "cannot reach", "start `mattermost-zoom serve`"),
        (Answer(503), "cannot reach its database", "MMZOOM_DATABASE_URL"),
        (Answer(404), "does not reach the service", "route its path"),
        (Answer(502), "answered HTTP 502", "check that serve runs"),
    ],
    ids=["down", "no-database", "not-routed", "bad-gateway"],
)
def test_public_url_problems(health: Answer, problem: str, fix: str) -> None:
    failure = only_failure(good(health=health))
    assert failure.subject == "public URL"
    assert problem in failure.detail
    assert fix in failure.fix


def test_zoom_credentials() -> None:
    refused = ZoomCredentialFacts(
        Answer(401), "invalid_client", "Invalid client_id or client_secret"
    )
    failure = only_failure(good(zoom=refused))
    assert failure.subject == "Zoom app credentials"
    assert "Zoom refuses MMZOOM_OAUTH_CLIENT_ID or MMZOOM_OAUTH_CLIENT_SECRET" in failure.detail
    assert "App Credentials page" in failure.fix

    # Zoom has also been seen answering invalid_client with 400: the field decides.
    assert only_failure(good(zoom=replace(refused, answer=Answer(400)))).subject == failure.subject

    unreachable = only_failure(good(zoom=ZoomCredentialFacts(Answer(None, "connection timed out"))))
    assert "cannot reach Zoom at https://zoom.us/oauth/token" in unreachable.detail

    unsure = diagnose(good(zoom=ZoomCredentialFacts(Answer(500), "server_error")))
    assert by_subject(unsure, "Zoom app credentials").status is Status.WARN
    assert not failed(unsure)


@pytest.mark.parametrize(
    ("database", "problem", "fix"),
    [
        (
            DatabaseFacts(reachable=False, problem="OperationalError"),
            "cannot use it: OperationalError",
            "MMZOOM_DATABASE_URL",
        ),
        (
            DatabaseFacts(
                reachable=False, problem="no database file at /srv/x.db", missing_file=True
            ),
            "no database file at /srv/x.db",
            "serve creates a SQLite file",
        ),
        (DatabaseFacts(reachable=True, heads=("0003",)), "has no schema yet", "migrate"),
        (
            DatabaseFacts(reachable=True, current=("0002",), heads=("0003",)),
            "at 0002, the newest is 0003",
            "mattermost-zoom migrate",
        ),
        (
            DatabaseFacts(reachable=True, current=("0009",), heads=("0003",), known=False),
            "a newer version of mattermost-zoom migrated it",
            "same version",
        ),
    ],
    ids=["unreachable", "no-file", "empty", "behind", "ahead"],
)
def test_database_problems(database: DatabaseFacts, problem: str, fix: str) -> None:
    failure = only_failure(good(database=database, webhooks=None))
    assert failure.subject == "database"
    assert problem in failure.detail
    assert fix in failure.fix


def test_no_webhook_yet_is_a_warning_not_a_failure() -> None:
    results = diagnose(good(webhooks=WebhookFacts(last_received=None, last_rejected=None)))
    webhooks = by_subject(results, "webhooks")
    assert webhooks.status is Status.WARN
    assert "no verified Zoom event received yet" in webhooks.detail
    assert not failed(results)


def test_missing_zoom_secret_token_fails_even_without_the_database() -> None:
    results = diagnose(good(zoom_webhook_secret_set=False, webhooks=None))
    secret = [r for r in results if r.status is Status.FAIL]
    assert [r.subject for r in secret] == ["Zoom Secret Token"]
    assert "MMZOOM_ZOOM_WEBHOOK_SECRET is not set" in secret[0].detail
    assert "Feature page" in secret[0].fix


@pytest.mark.parametrize(
    ("reason", "fix"),
    [
        ("401: the ?secret= query parameter is wrong or missing", "must end with ?secret="),
        ("401: x-zm-signature does not match the body", "Secret Token shown on this Zoom app"),
        ("401: x-zm-request-timestamp is more than 5 minutes off", "clock"),
        (
            "401: MMZOOM_ZOOM_WEBHOOK_SECRET is not set, so no delivery can be verified",
            "copy the Secret Token",
        ),
        (
            "deauthorization 400: payload.client_id is not this app's client ID",
            "MMZOOM_OAUTH_CLIENT_ID",
        ),
        ("401: missing x-zm-signature or x-zm-request-timestamp header", "x-zm-* headers"),
        ("413: the body is larger than 1048576 bytes", "service's log"),
    ],
    ids=["secret", "signature", "clock", "no-secret-token", "client-id", "unsigned", "other"],
)
def test_last_delivery_refused_names_reason_and_fix(reason: str, fix: str) -> None:
    hooks = WebhookFacts(last_received=None, last_rejected=(NOW - timedelta(hours=2), reason))
    failure = only_failure(good(webhooks=hooks))
    assert failure.subject == "refused webhook"
    assert failure.detail == f"the last refused delivery, 2 hours ago: {reason}."
    assert fix in failure.fix


def test_a_refusal_followed_by_verified_events_is_only_a_warning() -> None:
    hooks = WebhookFacts(
        last_received=NOW - timedelta(minutes=1),
        last_rejected=(NOW - timedelta(days=1), "401: x-zm-signature does not match the body"),
    )
    results = diagnose(good(webhooks=hooks))
    assert not failed(results)
    refused = by_subject(results, "refused webhook")
    assert refused.status is Status.WARN
    assert "1 day ago" in refused.detail


def test_failed_events_are_a_warning() -> None:
    hooks = WebhookFacts(last_received=NOW, last_rejected=None, failed_events=2)
    results = diagnose(good(webhooks=hooks))
    assert by_subject(results, "webhook queue").status is Status.WARN
    assert by_subject(results, "webhooks").detail == "last verified Zoom event just now"


def test_line_carries_the_fix() -> None:
    result = CheckResult(Status.FAIL, "database", "has no schema yet.", "run migrate.")
    assert result.line() == "FAIL  database: has no schema yet. Fix: run migrate."
