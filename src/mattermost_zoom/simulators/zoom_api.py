"""The Zoom simulator's routes: OAuth on the web host, the REST API under /v2.

Error bodies follow what Zoom answers: the OAuth host uses
``{"reason": ..., "error": ...}`` and the API ``{"code": ..., "message": ...}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from mattermost_zoom.simulators.recording import guarded

if TYPE_CHECKING:
    from mattermost_zoom.simulators.zoom import CloudFile, OAuthApp, ZoomSimulator, ZoomUser

RATE_LIMIT_MESSAGE = (
    "You have reached the maximum per-second rate limit for this API. Try again later."
)
VALID_MEETING_TYPES = (1, 2, 3, 8)


def api_error_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {"code": 429, "message": RATE_LIMIT_MESSAGE}
    if status == 401:
        return {"code": 124, "message": "Invalid access token."}
    return {"code": status, "message": "Simulated failure."}


def oauth_error(status: int, error: str, reason: str) -> JSONResponse:
    return JSONResponse({"reason": reason, "error": error}, status_code=status)


def api_error(status: int, code: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, **extra}, status_code=status)


def error_page(status: int, title: str) -> HTMLResponse:
    body = f"<h1>{html.escape(title)}</h1>"
    page = f"<html><head><title>Error - Zoom</title></head><body>{body}</body></html>"
    return HTMLResponse(page, status_code=status)


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=") == challenge
    return verifier == challenge  # "plain", Zoom's default when no method is given


class _Routes:
    def __init__(self, sim: ZoomSimulator) -> None:
        self.sim = sim

    # -------------------------------------------------------------- OAuth web host

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        app = self.sim.apps.get(q.get("client_id", ""))
        if app is None:
            return error_page(400, "Invalid client_id: " + q.get("client_id", "") + " (4700)")
        redirect_uri = q.get("redirect_uri", "")
        if redirect_uri not in app.redirect_uris:
            return error_page(400, "Invalid redirect: " + redirect_uri + " (4709)")
        if q.get("response_type") != "code":
            return error_page(400, "Unsupported response type (4700)")
        challenge = q.get("code_challenge")
        method = q.get("code_challenge_method") or "plain"
        if challenge is not None and method not in ("S256", "plain"):
            return error_page(400, "Unsupported code challenge method (4700)")
        user = self.sim.users.get(request.cookies.get("zoomsim_user", ""))
        if user is None:
            return HTMLResponse("<html><body><h1>Sign In - Zoom</h1></body></html>")
        state = q.get("state")
        if self.sim.deny_authorization:
            params = {"error": "access_denied", "error_description": "The user denied the request."}
        else:
            params = {
                "code": self.sim.issue_code(app.client_id, user.id, redirect_uri, challenge, method)
            }
        if state is not None:
            params["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)

    def client(self, request: Request, params: dict[str, str]) -> OAuthApp | None:
        header = request.headers.get("authorization", "")
        client_id = client_secret = ""
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, client_secret = decoded.partition(":")
        else:
            client_id = params.get("client_id", "")
            client_secret = params.get("client_secret", "")
        app = self.sim.apps.get(client_id)
        if app is None or app.client_secret != client_secret:
            return None
        return app

    @staticmethod
    async def params(request: Request) -> dict[str, str]:
        # Zoom reads the grant from the query string or the form body.
        params = dict(request.query_params)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        return params

    async def token(self, request: Request) -> Response:
        with self.sim.lock:
            self.sim.token_requests += 1
        params = await self.params(request)
        app = self.client(request, params)
        if app is None:
            return oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
        grant = params.get("grant_type")
        if not grant:
            return oauth_error(400, "invalid_request", "Missing grant type")
        if grant == "authorization_code":
            return self.exchange_code(app, params)
        if grant == "refresh_token":
            grant_record = self.sim.consume_refresh_token(
                params.get("refresh_token", ""), app.client_id
            )
            if grant_record is None:
                return oauth_error(400, "invalid_grant", "Invalid Token!")
            if self.sim.refresh_delay > 0:
                # The old token is already burnt: a concurrent refresh now fails.
                await asyncio.sleep(self.sim.refresh_delay)
            return JSONResponse(self.sim.issue_tokens(grant_record.user_id, app.client_id))
        return oauth_error(400, "unsupported_grant_type", "Unsupported grant type")

    def exchange_code(self, app: OAuthApp, params: dict[str, str]) -> Response:
        code = params.get("code", "")
        issued = self.sim.consume_code(code, app.client_id)
        if issued is None:
            return oauth_error(400, "invalid_grant", f"Invalid authorization code {code}")
        if params.get("redirect_uri", "") != issued.redirect_uri:
            return oauth_error(400, "invalid_request", "Redirect URI mismatch.")
        if issued.challenge is not None:
            verifier = params.get("code_verifier", "")
            if not verifier or not pkce_matches(verifier, issued.challenge, issued.method):
                return oauth_error(400, "invalid_grant", "Invalid code_verifier")
        return JSONResponse(self.sim.issue_tokens(issued.user_id, app.client_id))

    async def revoke(self, request: Request) -> Response:
        params = await self.params(request)
        app = self.client(request, params)
        if app is None:
            return oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
        if not self.sim.revoke_token(params.get("token", ""), app.client_id):
            return oauth_error(400, "invalid_request", "Invalid Token!")
        return JSONResponse({"status": "success"})

    async def compliance(self, request: Request) -> Response:
        app = self.client(request, {})
        if app is None:
            return oauth_error(401, "invalid_client", "Invalid client_id or client_secret")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return oauth_error(400, "invalid_request", "Invalid request body")
        with self.sim.lock:
            self.sim.compliance_requests.append(body)
        return JSONResponse({})

    # -------------------------------------------------------------- REST API

    def caller(self, request: Request) -> ZoomUser | JSONResponse:
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            return api_error(401, 124, "Invalid access token.")
        user, message = self.sim.check_access_token(header[7:].strip())
        if user is None:
            return api_error(401, 124, message)
        return user

    def resolve_user(self, caller: ZoomUser, ref: str, request: Request) -> ZoomUser | JSONResponse:
        if ref == "me":
            return caller
        user = self.sim.find_user(ref)
        if user is None:
            return api_error(404, 1001, f"User does not exist: {ref}.")
        app = self.sim.token_app(request.headers.get("authorization", "")[7:].strip())
        same_account = (
            app is not None and app.account_level and user.account_id == caller.account_id
        )
        if user.id != caller.id and not same_account:
            return api_error(400, 200, "No permission.")  # a user-level app sees only its user
        return user

    async def get_user(self, request: Request) -> Response:
        caller = self.caller(request)
        if isinstance(caller, JSONResponse):
            return caller
        user = self.resolve_user(caller, request.path_params["user_id"], request)
        if isinstance(user, JSONResponse):
            return user
        return JSONResponse(user.to_json())

    async def create_meeting(self, request: Request) -> Response:
        caller = self.caller(request)
        if isinstance(caller, JSONResponse):
            return caller
        host = self.resolve_user(caller, request.path_params["user_id"], request)
        if isinstance(host, JSONResponse):
            return host
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return api_error(400, 300, "Request Body should be a valid JSON object.")
        problems = []
        if body.get("type") is not None and body.get("type") not in VALID_MEETING_TYPES:
            problems.append({"field": "type", "message": "Invalid field."})
        if len(str(body.get("topic") or "")) > 200:
            problems.append({"field": "topic", "message": "Invalid field."})
        if len(str(body.get("password") or "")) > 10:
            problems.append({"field": "password", "message": "Invalid field."})
        if problems:
            return api_error(400, 300, "Validation Failed.", errors=problems)
        meeting = self.sim.store_meeting(self.sim.new_meeting(host, body))
        return JSONResponse(meeting, status_code=201)

    def meeting_id(self, request: Request) -> int | None:
        try:
            return int(request.path_params["meeting_id"])
        except ValueError:
            return None

    async def get_meeting(self, request: Request) -> Response:
        caller = self.caller(request)
        if isinstance(caller, JSONResponse):
            return caller
        meeting_id = self.meeting_id(request)
        meeting = self.sim.get_meeting(meeting_id, caller) if meeting_id is not None else None
        if meeting is None:
            return api_error(
                404, 3001, f"Meeting does not exist: {request.path_params['meeting_id']}."
            )
        return JSONResponse(meeting)

    async def change_meeting(self, request: Request) -> Response:
        """PATCH (update), DELETE, and PUT .../status {"action": "end"}."""
        caller = self.caller(request)
        if isinstance(caller, JSONResponse):
            return caller
        meeting_id = self.meeting_id(request)
        meeting = self.sim.get_meeting(meeting_id, caller) if meeting_id is not None else None
        if meeting_id is None or meeting is None:
            return api_error(
                404, 3001, f"Meeting does not exist: {request.path_params['meeting_id']}."
            )
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return api_error(400, 300, "Request Body should be a valid JSON object.")
        with self.sim.lock:
            stored = self.sim.meetings[meeting_id]
            if request.method == "DELETE":
                del self.sim.meetings[meeting_id]
            elif request.url.path.endswith("/status"):
                if body.get("action") == "end":
                    stored["status"] = "finished"
            else:
                for key in ("topic", "agenda", "start_time", "duration", "timezone", "password"):
                    if key in body:
                        stored[key] = body[key]
                stored["settings"].update(body.get("settings") or {})
        return Response(status_code=204)

    # -------------------------------------------------------------- cloud recording files

    @staticmethod
    def download_token(request: Request) -> str:
        # A webhook's download_token goes in the Authorization header as a bearer
        # token; Zoom also takes it as ?access_token=.
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        return request.query_params.get("access_token", "")

    async def download(self, request: Request) -> Response:
        key = request.path_params["key"]
        if key not in self.sim.cloud_files:
            return api_error(404, 3301, "This recording does not exist.")
        cloud = self.sim.may_download(key, self.download_token(request))
        if cloud is None:
            return api_error(401, 124, "Invalid access token.")
        if self.sim.redirect_downloads_to:
            expires = int(time.time()) + 300
            query = urlencode(
                {"expires": expires, "signature": self.sim.storage_signature(key, expires)}
            )
            location = f"{self.sim.redirect_downloads_to}/rec/storage/{key}?{query}"
            return RedirectResponse(location, status_code=302)
        return self.serve_file(cloud)

    async def storage(self, request: Request) -> Response:
        """Where a download is redirected to: the signed URL is the credential."""
        key = request.path_params["key"]
        cloud = self.sim.cloud_files.get(key)
        expires = request.query_params.get("expires", "")
        signature = request.query_params.get("signature", "")
        if (
            cloud is None
            or not expires.isdigit()
            or int(expires) < time.time()
            or not hmac.compare_digest(signature, self.sim.storage_signature(key, int(expires)))
        ):
            return Response(status_code=403)
        return self.serve_file(cloud)

    def serve_file(self, cloud: CloudFile) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for chunk in cloud.chunks():
                yield chunk
            with self.sim.lock:
                cloud.downloads += 1

        headers = {"Content-Disposition": f'attachment; filename="{cloud.filename}"'}
        if self.sim.send_content_length:
            headers["Content-Length"] = str(cloud.size)
        return StreamingResponse(body(), media_type=cloud.content_type, headers=headers)

    async def play(self, request: Request) -> Response:
        cloud = self.sim.cloud_files.get(request.path_params["key"])
        if cloud is None:
            return error_page(404, "This recording does not exist.")
        topic = html.escape(str(self.sim.meetings.get(cloud.meeting_id, {}).get("topic", "")))
        return HTMLResponse(
            f"<html><head><title>{topic} - Zoom</title></head>"
            f"<body><h1>{topic}</h1><p>Passcode required</p></body></html>"
        )

    async def api_not_found(self, request: Request) -> Response:
        return api_error(404, 404, "Not found.")


def build_app(sim: ZoomSimulator) -> Starlette:
    r = _Routes(sim)

    def route(
        path: str, handler: Callable[[Request], Awaitable[Response]], methods: list[str]
    ) -> Route:
        return Route(
            path, guarded(handler, sim.requests, sim.faults, api_error_body), methods=methods
        )

    def recording_route(
        path: str, handler: Callable[[Request], Awaitable[Response]], methods: list[str]
    ) -> Route:
        return Route(
            path,
            guarded(handler, sim.download_requests, sim.faults, api_error_body),
            methods=methods,
        )

    return Starlette(
        routes=[
            recording_route("/rec/webhook_download/{key}", r.download, ["GET"]),
            recording_route("/rec/storage/{key}", r.storage, ["GET"]),
            recording_route("/rec/play/{key}", r.play, ["GET"]),
            route("/oauth/authorize", r.authorize, ["GET"]),
            route("/oauth/token", r.token, ["POST"]),
            route("/oauth/revoke", r.revoke, ["POST"]),
            route("/oauth/data/compliance", r.compliance, ["POST"]),
            route("/v2/users/{user_id}/meetings", r.create_meeting, ["POST"]),
            route("/v2/users/{user_id}", r.get_user, ["GET"]),
            route("/v2/meetings/{meeting_id}/status", r.change_meeting, ["PUT"]),
            route("/v2/meetings/{meeting_id}", r.get_meeting, ["GET"]),
            route("/v2/meetings/{meeting_id}", r.change_meeting, ["PATCH", "DELETE"]),
            route("/v2/{rest:path}", r.api_not_found, ["GET", "POST", "PUT", "PATCH", "DELETE"]),
        ]
    )
