"""Check the requests the service sent to the simulators against the published
API descriptions in ../shared/specs (see its README.md).

Both ``validate_*`` functions take the simulators' ``.requests`` and return a list
of human-readable violations (empty: all good). Each spec is loaded once.

Mattermost and Zoom requests are validated with openapi-core: the path and method
must exist, and the path/query parameters, security and request body must match.
Requests to endpoints the specs do not cover get explicit checks written from
Zoom's and Mattermost's documentation (see ``_ZOOM_EXPLICIT`` and friends).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.exceptions import OpenAPIError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from mattermost_zoom.simulators.recording import RecordedRequest

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "specs"
MATTERMOST_HOST = "http://your-mattermost-url.com"  # the spec's first server
ZOOM_HOST = "https://api.zoom.us"  # the spec's server is https://api.zoom.us/v2

# ---------------------------------------------------------------- spec loading


def _load_yaml(name: str) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with (SPEC_DIR / name).open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    assert isinstance(data, dict)
    return data


def _mattermost_errata(spec: dict[str, Any]) -> None:
    """Fix places where the published description disagrees with the server.

    - PUT /posts/{post_id} and PUT /posts/{post_id}/patch document ``props`` as a
      string; the server decodes it into model.Post.Props / PostPatch.Props, a
      JSON object (a string is rejected with 400).
    - POST /actions/dialogs/open is registered with APIHandler (no session
      needed: the trigger id authorizes), so a token is optional there.
    - GET /system/ping, also registered with APIHandler, needs no token.
    """
    paths = spec["paths"]
    for path in ("/api/v4/posts/{post_id}", "/api/v4/posts/{post_id}/patch"):
        schema = paths[path]["put"]["requestBody"]["content"]["application/json"]["schema"]
        schema["properties"]["props"] = {"type": "object"}
    paths["/api/v4/actions/dialogs/open"]["post"]["security"] = [{}, {"bearerAuth": []}]
    # GET /system/ping is registered with APIHandler too: it needs no session.
    paths["/api/v4/system/ping"]["get"]["security"] = [{}, {"bearerAuth": []}]


@cache
def _mattermost_api() -> OpenAPI:
    spec = _load_yaml("mattermost-api-v4.yaml")
    _mattermost_errata(spec)
    # The joined document repeats some operationIds, which only the strict spec
    # check minds; request validation does not use them.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@cache
def _zoom_api() -> OpenAPI:
    return OpenAPI.from_dict(
        _load_yaml("zoom-meetings-api.yaml"), config=Config(spec_validator_cls=None)
    )


# ---------------------------------------------------------------- openapi-core glue


@dataclass
class _SpecRequest:
    """A RecordedRequest in the shape openapi-core's Request protocol expects."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters


def _adapt(req: RecordedRequest, host: str) -> _SpecRequest:
    query = ImmutableMultiDict(parse_qsl(req.query, keep_blank_values=True))
    return _SpecRequest(
        host_url=host,
        path=req.path,
        method=req.method.lower(),
        body=req.body or None,
        content_type=req.content_type.lower(),
        parameters=RequestParameters(
            query=query, header=Headers(dict(req.headers)), cookie=ImmutableMultiDict()
        ),
    )


def _describe(exc: BaseException) -> str:
    """The most useful text of an openapi-core error, including schema errors."""
    parts = [str(exc)]
    cause = exc.__cause__
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            details = []
            for err in schema_errors:
                where = "/".join(str(p) for p in err.absolute_path) or "(root)"
                details.append(f"{where}: {err.message}")
            parts = [type(exc).__name__, *details]
            break
        parts.append(str(cause))
        cause = cause.__cause__
    return "; ".join(p for p in parts if p)


def _label(req: RecordedRequest) -> str:
    return f"{req.method} {req.path}" + (f"?{req.query}" if req.query else "")


def _openapi_violations(api: OpenAPI, req: RecordedRequest, host: str) -> list[str]:
    with warnings.catch_warnings():
        # openapi-core cannot check oauth2 schemes and warns; Zoom's bearer token
        # is checked explicitly instead.
        warnings.simplefilter("ignore", UserWarning)
        try:
            api.validate_request(_adapt(req, host))
        except OpenAPIError as exc:
            return [f"{_label(req)}: {_describe(exc)}"]
    return []


# ---------------------------------------------------------------- helpers for explicit checks


def _basic_client(req: RecordedRequest) -> str | None:
    """Problem with HTTP Basic client authentication, or None."""
    header = req.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return "needs HTTP Basic client authentication (Authorization: Basic ...)"
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "Authorization: Basic value is not base64 of client_id:client_secret"
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id or not secret:
        return "Authorization: Basic value is not base64 of client_id:client_secret"
    return None


def _bearer(req: RecordedRequest) -> str | None:
    header = req.headers.get("authorization", "")
    if not header.lower().startswith("bearer ") or not header[7:].strip():
        return "needs an access token (Authorization: Bearer ...)"
    return None


def _json_object(req: RecordedRequest) -> tuple[dict[str, Any] | None, str | None]:
    if not req.content_type.lower().startswith("application/json"):
        return None, f"content type must be application/json, not {req.content_type!r}"
    try:
        body = json.loads(req.body)
    except ValueError:
        return None, "body is not valid JSON"
    if not isinstance(body, dict):
        return None, "body must be a JSON object"
    return body, None


# RFC 7636: 43 to 128 characters from the unreserved set.
_VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def _check_oauth_token(req: RecordedRequest) -> list[str]:
    """POST /oauth/token: form-encoded, Basic client auth, a valid grant."""
    problems = []
    if req.method != "POST":
        return [f"must be POST, not {req.method}"]
    if not req.content_type.lower().startswith("application/x-www-form-urlencoded"):
        problems.append("body must be application/x-www-form-urlencoded")
    if problem := _basic_client(req):
        problems.append(problem)
    params = {**req.query_params(), **req.form()}
    grant = params.get("grant_type")
    if grant == "authorization_code":
        problems += [f"missing {p}" for p in ("code", "redirect_uri") if not params.get(p)]
        verifier = params.get("code_verifier")
        if verifier is not None and not _VERIFIER_RE.match(verifier):
            problems.append("code_verifier must be 43-128 unreserved characters (RFC 7636)")
    elif grant == "refresh_token":
        if not params.get("refresh_token"):
            problems.append("missing refresh_token")
    else:
        problems.append(f"grant_type must be authorization_code or refresh_token, not {grant!r}")
    return problems


def _check_oauth_authorize(req: RecordedRequest) -> list[str]:
    """GET /oauth/authorize (built by the service, followed by the browser)."""
    if req.method != "GET":
        return [f"must be GET, not {req.method}"]
    params = req.query_params()
    problems = [f"missing {p}" for p in ("client_id", "redirect_uri") if not params.get(p)]
    if params.get("response_type") != "code":
        problems.append("response_type must be code")
    method = params.get("code_challenge_method")
    if method is not None and method not in ("S256", "plain"):
        problems.append("code_challenge_method must be S256 or plain")
    if method is not None and not params.get("code_challenge"):
        problems.append("code_challenge_method given without code_challenge")
    return problems


def _check_oauth_revoke(req: RecordedRequest) -> list[str]:
    """POST /oauth/revoke: Basic client auth and the token to revoke."""
    if req.method != "POST":
        return [f"must be POST, not {req.method}"]
    problems = []
    if problem := _basic_client(req):
        problems.append(problem)
    params = {**req.query_params(), **req.form()}
    if not params.get("token"):
        problems.append("missing token")
    return problems


def _check_compliance(req: RecordedRequest) -> list[str]:
    """POST /oauth/data/compliance: Basic auth, JSON body with the deauthorization
    event echoed back (fields from Zoom's Data Compliance API description)."""
    if req.method != "POST":
        return [f"must be POST, not {req.method}"]
    problems = []
    if problem := _basic_client(req):
        problems.append(problem)
    body, problem = _json_object(req)
    if body is None:
        return [*problems, problem or "bad body"]
    for name in ("client_id", "user_id", "account_id"):
        if not isinstance(body.get(name), str) or not body.get(name):
            problems.append(f"{name} must be a non-empty string")
    if not isinstance(body.get("deauthorization_event_received"), dict):
        problems.append("deauthorization_event_received must be an object")
    if not isinstance(body.get("compliance_completed"), bool):
        problems.append("compliance_completed must be a boolean")
    return problems


def _check_get_user(req: RecordedRequest) -> list[str]:
    """GET /v2/users/me and /v2/users/{userId}: bearer token, no body."""
    if req.method != "GET":
        return [f"{req.method} is not an operation of this path (only GET)"]
    problems = []
    if problem := _bearer(req):
        problems.append(problem)
    if req.body:
        problems.append("a GET must not have a body")
    return problems


_ZOOM_EXPLICIT: list[tuple[re.Pattern[str], Callable[[RecordedRequest], list[str]]]] = [
    (re.compile(r"^/oauth/token$"), _check_oauth_token),
    (re.compile(r"^/oauth/authorize$"), _check_oauth_authorize),
    (re.compile(r"^/oauth/revoke$"), _check_oauth_revoke),
    (re.compile(r"^/oauth/data/compliance$"), _check_compliance),
    (re.compile(r"^/v2/users/[^/]+$"), _check_get_user),
]

# Slash command response_url: the body is a command response (JSON object).
_COMMAND_RESPONSE_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "response_type": str,
    "text": str,
    "username": str,
    "channel_id": str,
    "icon_url": str,
    "type": str,
    "props": dict,
    "goto_location": str,
    "skip_slack_parsing": bool,
    "attachments": list,
    "extra_responses": list,
}


def _check_command_hook(req: RecordedRequest) -> list[str]:
    if req.method != "POST":
        return [f"must be POST, not {req.method}"]
    body, problem = _json_object(req)
    if body is None:
        return [problem or "bad body"]
    problems = []
    for name, kind in _COMMAND_RESPONSE_FIELDS.items():
        if name in body and not isinstance(body[name], kind):
            problems.append(f"{name} has the wrong type")
    if body.get("response_type") not in (None, "", "in_channel", "ephemeral"):
        problems.append("response_type must be in_channel or ephemeral")
    return problems


# ---------------------------------------------------------------- entry points


def validate_mattermost_requests(requests: Iterable[RecordedRequest]) -> list[str]:
    """Violations of the Mattermost API v4 description by the given requests."""
    violations: list[str] = []
    for req in requests:
        if req.path.startswith("/hooks/commands/"):
            violations += [f"{_label(req)}: {p}" for p in _check_command_hook(req)]
        elif req.path.startswith("/api/v4/"):
            violations += _openapi_violations(_mattermost_api(), req, MATTERMOST_HOST)
        else:
            violations.append(f"{_label(req)}: not a Mattermost API v4 endpoint")
    return violations


def validate_zoom_requests(requests: Iterable[RecordedRequest]) -> list[str]:
    """Violations of Zoom's API description (and of its OAuth documentation)."""
    violations: list[str] = []
    for req in requests:
        explicit = next(
            (check for pattern, check in _ZOOM_EXPLICIT if pattern.match(req.path)), None
        )
        if explicit is not None:
            violations += [f"{_label(req)}: {p}" for p in explicit(req)]
        elif req.path.startswith("/v2/"):
            problems = _openapi_violations(_zoom_api(), req, ZOOM_HOST)
            if problem := _bearer(req):
                problems.append(f"{_label(req)}: {problem}")
            violations += problems
        else:
            violations.append(f"{_label(req)}: not a documented Zoom endpoint")
    return violations
