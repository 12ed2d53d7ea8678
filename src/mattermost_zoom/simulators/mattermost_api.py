"""The REST API v4 subset the Mattermost simulator serves."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mattermost_zoom.simulators.mattermost_model import (
    ERR_CHANNEL_MISSING,
    ERR_EMAIL_HIDDEN,
    ERR_HOOK_MISSING,
    ERR_MEMBER_MISSING,
    ERR_NOT_FOUND,
    ERR_PERMISSION,
    ERR_POST_MISSING,
    ERR_SESSION,
    ERR_TRIGGER_EXPIRED,
    ERR_TRIGGER_INVALID,
    ERR_USER_MISSING,
    IDENTITY_PROP_KEYS,
    Channel,
    FileInfo,
    User,
    app_error,
    generate_action_ids,
    generic_error,
    invalid_body_param,
    invalid_param,
    new_id,
    strip_integrations,
)
from mattermost_zoom.simulators.recording import Summarize, guarded

if TYPE_CHECKING:
    from mattermost_zoom.simulators.mattermost import MattermostSimulator


class ApiError(Exception):
    def __init__(self, err: tuple[str, str], status: int, detailed: str = "") -> None:
        super().__init__(err[1])
        self.err = err
        self.status = status
        self.detailed = detailed


def _error_response(exc: ApiError) -> JSONResponse:
    body = app_error(exc.err, exc.status, exc.detailed)
    return JSONResponse(body, status_code=exc.status, headers={"X-Request-Id": body["request_id"]})


def _int_param(request: Request, name: str) -> int:
    """A whole-number query parameter (0 when absent); 400, as Mattermost answers,
    when it is not one."""
    raw = request.query_params.get(name, "")
    if not raw:
        return 0
    try:
        return int(raw)
    except ValueError:
        raise ApiError(invalid_param(name), 400) from None


def _token(request: Request) -> str:
    # The server takes "Bearer" or "Token" in the header, or ?access_token=.
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return request.query_params.get("access_token", "")


async def _json_body(request: Request, name: str) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise ApiError(invalid_body_param(name), 400, str(exc)) from exc


# Uploads up to this size are kept whole (``file_contents``); bigger ones only by
# size and digest, so that a benchmark's large file does not fill the memory.
KEEP_CONTENT_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class _Digest:
    size: int
    sha256: str
    content: bytes | None


async def _digest(upload: UploadFile) -> _Digest:
    await upload.seek(0)
    sha, size, kept = hashlib.sha256(), 0, bytearray()
    while chunk := await upload.read(_READ_CHUNK):
        sha.update(chunk)
        size += len(chunk)
        if size <= KEEP_CONTENT_BYTES:
            kept += chunk
    await upload.seek(0)
    return _Digest(size, sha.hexdigest(), bytes(kept) if size <= KEEP_CONTENT_BYTES else None)


async def summarize_upload(request: Request) -> bytes:
    """What the request log keeps of a file upload: the multipart body with each
    file's content replaced by its size and SHA-256 (the spec checks still see every
    part). The parts are parsed as they stream in; files are spooled to disk."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await request.body()
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    try:
        form = await request.form(max_part_size=1024 * 1024)
    except Exception:  # a malformed or cut-off body: the handler answers 400
        request.state.upload_unreadable = True
        return b""
    digests: dict[int, _Digest] = {}
    parts = []
    for name, item in form.multi_items():
        if isinstance(item, UploadFile):
            digest = await _digest(item)
            digests[id(item)] = digest
            header = (
                f'Content-Disposition: form-data; name="{name}"; '
                f'filename="{item.filename or ""}"\r\n'
                f"Content-Type: {item.content_type or 'application/octet-stream'}"
            )
            text = f"<{digest.size} bytes, sha256 {digest.sha256}>"
        else:
            header = f'Content-Disposition: form-data; name="{name}"'
            text = item
        parts.append(f"--{boundary}\r\n{header}\r\n\r\n{text}\r\n")
    request.state.upload_digests = digests
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


class _Api:
    def __init__(self, sim: MattermostSimulator) -> None:
        self.sim = sim

    # -------------------------------------------------------------- helpers

    def caller(self, request: Request, *, required: bool = True) -> User | None:
        token = _token(request)
        if not token:
            if required:
                raise ApiError(ERR_SESSION, 401, "token not provided")
            return None
        user = self.sim.user_for_token(token)
        if user is None:  # an unknown token fails even where none is required
            raise ApiError(ERR_SESSION, 401, "token not valid")
        return user

    def channel(self, channel_id: str) -> Channel:
        channel = self.sim.channels.get(channel_id)
        if channel is None:
            raise ApiError(ERR_CHANNEL_MISSING, 404)
        return channel

    def readable_channel(self, user: User, channel_id: str) -> Channel:
        channel = self.channel(channel_id)
        if not self.sim.can_read_channel(user, channel):
            raise ApiError(ERR_PERMISSION, 403)
        return channel

    def user_json(self, viewer: User, user: User) -> dict[str, Any]:
        admin = viewer.has_role("system_admin")
        return user.to_json(
            show_email=self.sim.show_email_address or admin or viewer.id == user.id,
            show_full_name=self.sim.show_full_name or admin or viewer.id == user.id,
        )

    def readable_post(self, user: User, post_id: str) -> dict[str, Any]:
        post = self.sim.posts.get(post_id)
        if post is None or post["delete_at"]:
            raise ApiError(ERR_POST_MISSING, 404)
        channel = self.channel(post["channel_id"])
        if not self.sim.can_read_channel(user, channel):
            raise ApiError(ERR_PERMISSION, 403)
        return post

    def editable_post(self, user: User, post_id: str) -> dict[str, Any]:
        post = self.readable_post(user, post_id)
        # edit_post for one's own posts; edit_others_posts only for admins.
        if post["user_id"] != user.id and not user.has_role("system_admin"):
            raise ApiError(ERR_PERMISSION, 403)
        return post

    # -------------------------------------------------------------- users

    async def get_user(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        user_id = request.path_params["user_id"]
        user = viewer if user_id == "me" else self.sim.users.get(user_id)
        if user is None:
            raise ApiError(ERR_USER_MISSING, 404)
        return JSONResponse(self.user_json(viewer, user))

    async def get_user_by_email(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        if not (self.sim.show_email_address or viewer.has_role("system_admin")):
            raise ApiError(ERR_EMAIL_HIDDEN, 403)
        email = request.path_params["email"].lower()
        user = next(
            (u for u in self.sim.users.values() if u.email.lower() == email and email), None
        )
        if user is None:
            raise ApiError(ERR_USER_MISSING, 404)
        return JSONResponse(self.user_json(viewer, user))

    # -------------------------------------------------------------- channels

    async def get_channel(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        channel = self.readable_channel(viewer, request.path_params["channel_id"])
        return JSONResponse(channel.to_json())

    async def get_channel_member(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        channel = self.readable_channel(viewer, request.path_params["channel_id"])
        user_id = request.path_params["user_id"]
        if user_id == "me":
            user_id = viewer.id
        with self.sim.lock:
            roles = self.sim.members.get(channel.id, {}).get(user_id)
        if roles is None:
            raise ApiError(ERR_MEMBER_MISSING, 404)
        admin = "channel_admin" in roles.split()
        return JSONResponse(
            {
                "channel_id": channel.id,
                "user_id": user_id,
                "roles": roles,
                "last_viewed_at": 0,
                "msg_count": 0,
                "mention_count": 0,
                "mention_count_root": 0,
                "urgent_mention_count": 0,
                "msg_count_root": 0,
                "notify_props": {
                    "desktop": "default",
                    "email": "default",
                    "ignore_channel_mentions": "default",
                    "mark_unread": "all",
                    "push": "default",
                },
                "last_update_at": channel.create_at,
                "scheme_guest": False,
                "scheme_user": True,
                "scheme_admin": admin,
                "explicit_roles": "",
            }
        )

    async def create_direct(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        ids = await _json_body(request, "user_ids")
        if not isinstance(ids, list) or len(ids) != 2 or not all(isinstance(i, str) for i in ids):
            raise ApiError(invalid_body_param("user_ids"), 400)
        if viewer.id not in ids and not viewer.has_role("system_admin"):
            raise ApiError(ERR_PERMISSION, 403)
        for user_id in ids:
            if user_id not in self.sim.users:
                raise ApiError(ERR_USER_MISSING, 404)
        channel = self.sim.direct_channel(ids[0], ids[1])
        return JSONResponse(channel.to_json(), status_code=201)

    # -------------------------------------------------------------- posts

    async def create_post(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        body = await _json_body(request, "post")
        if not isinstance(body, dict):
            raise ApiError(invalid_body_param("post"), 400)
        channel_id = body.get("channel_id")
        if not isinstance(channel_id, str) or not channel_id:
            raise ApiError(invalid_param("channel_id"), 400)
        channel = self.sim.channels.get(channel_id)
        if channel is None:
            # CreatePostAsUser reports a missing channel as a bad post.channel_id.
            raise ApiError(invalid_param("post.channel_id"), 400)
        if not self.sim.can_post(viewer, channel):
            raise ApiError(ERR_PERMISSION, 403)
        post_type = str(body.get("type") or "")
        if post_type.startswith("system_"):
            raise ApiError(invalid_param("post.type"), 400)
        root_id = str(body.get("root_id") or "")
        if root_id:
            root = self.sim.posts.get(root_id)
            if root is None or root["channel_id"] != channel_id or root["root_id"]:
                raise ApiError(
                    ("api.post.create_post.root_id.app_error", "Invalid RootId parameter."), 400
                )
        props = body.get("props")
        if props is not None and not isinstance(props, dict):
            raise ApiError(invalid_body_param("post"), 400)
        post = self.sim.create_post(
            viewer.id,
            channel_id,
            str(body.get("message") or ""),
            root_id=root_id,
            props=props,
            type=post_type,
            file_ids=[str(f) for f in body.get("file_ids") or []],
        )
        return JSONResponse(strip_integrations(post), status_code=201)

    async def create_ephemeral(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        body = await _json_body(request, "body")
        if not isinstance(body, dict):
            raise ApiError(invalid_body_param("body"), 400)
        target = body.get("user_id")
        if not isinstance(target, str) or not target:
            raise ApiError(invalid_param("user_id"), 400)
        post = body.get("post")
        if not isinstance(post, dict):
            raise ApiError(invalid_param("post"), 400)
        # create_post_ephemeral is a system permission only system_admin has.
        if not viewer.has_role("system_admin"):
            raise ApiError(ERR_PERMISSION, 403, "create_post_ephemeral")
        props = post.get("props")
        sent = self.sim.send_ephemeral(
            target,
            str(post.get("channel_id") or ""),
            str(post.get("message") or ""),
            author_id=viewer.id,
            props=props if isinstance(props, dict) else None,
            root_id=str(post.get("root_id") or ""),
            post_id=str(post.get("id") or ""),
        )
        return JSONResponse(strip_integrations(sent), status_code=201)

    async def get_post(self, request: Request) -> Response:
        viewer = self.caller(request)
        assert viewer is not None
        post = self.readable_post(viewer, request.path_params["post_id"])
        return JSONResponse(strip_integrations(post))

    async def get_thread(self, request: Request) -> Response:
        """GET .../thread: a PostList of the root and its replies, newest first."""
        viewer = self.caller(request)
        assert viewer is not None
        post = self.readable_post(viewer, request.path_params["post_id"])
        root_id = post["root_id"] or post["id"]
        with self.sim.lock:
            thread = [
                p
                for p in self.sim.posts.values()
                if (p["id"] == root_id or p["root_id"] == root_id) and not p["delete_at"]
            ]
            thread.sort(key=lambda p: p["create_at"], reverse=True)
            body = {
                "order": [p["id"] for p in thread],
                "posts": {p["id"]: strip_integrations(p) for p in thread},
                "next_post_id": "",
                "prev_post_id": "",
                "has_next": False,
            }
        return JSONResponse(body)

    async def get_channel_posts(self, request: Request) -> Response:
        """GET /channels/{id}/posts: with ``since`` (ms), every post created, changed
        or deleted after then, oldest first, at most 1000; without it, a page of the
        newest."""
        viewer = self.caller(request)
        assert viewer is not None
        channel = self.readable_channel(viewer, request.path_params["channel_id"])
        since = _int_param(request, "since")
        with self.sim.lock:
            posts = [p for p in self.sim.posts.values() if p["channel_id"] == channel.id]
            if since:
                shown = sorted(
                    (p for p in posts if p["update_at"] > since), key=lambda p: p["create_at"]
                )[:1000]
            else:
                per_page = _int_param(request, "per_page") or 60
                page = _int_param(request, "page") or 0
                live = sorted(
                    (p for p in posts if not p["delete_at"]),
                    key=lambda p: p["create_at"],
                    reverse=True,
                )
                shown = live[page * per_page : (page + 1) * per_page]
            body = {
                "order": [p["id"] for p in reversed(shown)] if since else [p["id"] for p in shown],
                "posts": {p["id"]: strip_integrations(p) for p in shown},
                "next_post_id": "",
                "prev_post_id": "",
                "has_next": False,
            }
        return JSONResponse(body)

    async def update_post(self, request: Request) -> Response:
        """PUT: the body replaces message and props wholesale (missing props -> none)."""
        viewer = self.caller(request)
        assert viewer is not None
        post_id = request.path_params["post_id"]
        body = await _json_body(request, "post")
        if not isinstance(body, dict) or body.get("id") != post_id:
            raise ApiError(invalid_param("id"), 400)
        props = body.get("props")
        if props is not None and not isinstance(props, dict):
            raise ApiError(invalid_body_param("post"), 400)
        with self.sim.lock:
            post = self.editable_post(viewer, post_id)
            self._apply_edit(
                post,
                message=str(body.get("message") or ""),
                props=props or {},
                file_ids=body.get("file_ids"),
            )
            return JSONResponse(strip_integrations(post))

    async def patch_post(self, request: Request) -> Response:
        """PUT .../patch: only the fields present change."""
        viewer = self.caller(request)
        assert viewer is not None
        post_id = request.path_params["post_id"]
        body = await _json_body(request, "post")
        if not isinstance(body, dict):
            raise ApiError(invalid_body_param("post"), 400)
        props = body.get("props")
        if props is not None and not isinstance(props, dict):
            raise ApiError(invalid_body_param("post"), 400)
        with self.sim.lock:
            post = self.editable_post(viewer, post_id)
            message = body.get("message")
            self._apply_edit(
                post,
                message=str(message) if message is not None else post["message"],
                props=props if props is not None else post["props"],
                file_ids=body.get("file_ids"),
            )
            return JSONResponse(strip_integrations(post))

    def _apply_edit(
        self, post: dict[str, Any], *, message: str, props: dict[str, Any], file_ids: Any
    ) -> None:
        new_props = copy.deepcopy(props)
        for key in IDENTITY_PROP_KEYS:
            if key in post["props"]:
                new_props[key] = post["props"][key]
        generate_action_ids(new_props)
        now = self.sim.now()
        if message != post["message"]:
            post["edit_at"] = now
        post["message"] = message
        post["props"] = new_props
        post["update_at"] = now
        if isinstance(file_ids, list):
            post["file_ids"] = [str(f) for f in file_ids]

    # -------------------------------------------------------------- dialogs & files

    async def open_dialog(self, request: Request) -> Response:
        self.caller(request, required=False)  # the trigger id is the credential
        body = await _json_body(request, "dialog")
        if not isinstance(body, dict) or not isinstance(body.get("dialog"), dict):
            raise ApiError(invalid_param("dialog"), 400)
        if not body.get("url"):
            raise ApiError(invalid_param("url"), 400)
        trigger, reason = self.sim.check_trigger(str(body.get("trigger_id") or ""))
        if trigger is None:
            if reason == "expired":
                seconds = int(self.sim.trigger_ttl)
                err = (ERR_TRIGGER_EXPIRED[0], ERR_TRIGGER_EXPIRED[1].format(seconds=seconds))
                raise ApiError(err, 400)
            raise ApiError(ERR_TRIGGER_INVALID, 400)
        self.sim.open_dialog(trigger, str(body["url"]), body["dialog"])
        return JSONResponse({"status": "OK"})

    async def upload_files(self, request: Request) -> Response:
        """Multipart upload (channel_id, files, client_ids). The request was already
        read by ``summarize_upload`` (files spooled to disk, never whole in memory)."""
        viewer = self.caller(request)
        assert viewer is not None
        if getattr(request.state, "upload_unreadable", False):
            raise ApiError(
                (
                    "api.file.upload_file.read_request.app_error",
                    "Unable to upload file(s). Error reading or parsing request data.",
                ),
                400,
            )
        form = await request.form()
        channel_id = str(request.query_params.get("channel_id") or form.get("channel_id") or "")
        if not channel_id:
            raise ApiError(invalid_param("channel_id"), 400)
        channel = self.channel(channel_id)
        if not self.sim.can_post(viewer, channel):
            raise ApiError(ERR_PERMISSION, 403, "upload_file")
        uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
        if not uploads:
            raise ApiError(
                (
                    "api.file.upload_file.incorrect_number_of_files.app_error",
                    "Unable to upload files. Incorrect number of files specified.",
                ),
                400,
            )
        digests: dict[int, _Digest] = getattr(request.state, "upload_digests", {})
        infos = []
        for upload in uploads:
            digest = digests.get(id(upload)) or await _digest(upload)
            name = upload.filename or "file"
            if digest.size > self.sim.max_file_size:
                raise ApiError(
                    (
                        "api.file.upload_file.too_large_detailed.app_error",
                        f"Unable to upload file {name}. {digest.size} bytes exceeds "
                        f"the maximum allowed {self.sim.max_file_size} bytes.",
                    ),
                    413,
                )
            info = FileInfo(
                id=new_id(),
                user_id=viewer.id,
                channel_id=channel_id,
                name=name,
                size=digest.size,
                sha256=digest.sha256,
                mime_type=upload.content_type or "application/octet-stream",
                create_at=self.sim.now(),
            )
            with self.sim.lock:
                self.sim.files[info.id] = info
                if digest.content is not None:
                    self.sim.file_contents[info.id] = digest.content
            infos.append(info.to_json())
        client_ids = [str(c) for c in form.getlist("client_ids")]
        return JSONResponse({"file_infos": infos, "client_ids": client_ids}, status_code=201)

    # -------------------------------------------------------------- response_url

    async def command_hook(self, request: Request) -> Response:
        body = await _json_body(request, "response")
        if not isinstance(body, dict):
            raise ApiError(invalid_body_param("response"), 400)
        status, _ = self.sim.handle_command_hook(request.path_params["hook_id"], body)
        if status != 200:
            raise ApiError(ERR_HOOK_MISSING, status)
        return Response("ok", media_type="text/plain")

    async def not_found(self, request: Request) -> Response:
        raise ApiError(ERR_NOT_FOUND, 404)


def build_app(sim: MattermostSimulator) -> Starlette:
    api = _Api(sim)

    def route(
        path: str,
        handler: Callable[[Request], Awaitable[Response]],
        method: str,
        *,
        summarize: Summarize | None = None,
    ) -> Route:
        async def safe(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return _error_response(exc)

        wrapped = guarded(safe, sim.requests, sim.faults, generic_error, summarize=summarize)
        return Route(path, wrapped, methods=[method])

    v4 = "/api/v4"
    routes = [
        route(f"{v4}/users/email/{{email:path}}", api.get_user_by_email, "GET"),
        route(f"{v4}/users/{{user_id}}", api.get_user, "GET"),
        route(f"{v4}/channels/direct", api.create_direct, "POST"),
        route(f"{v4}/channels/{{channel_id}}/members/{{user_id}}", api.get_channel_member, "GET"),
        route(f"{v4}/channels/{{channel_id}}/posts", api.get_channel_posts, "GET"),
        route(f"{v4}/channels/{{channel_id}}", api.get_channel, "GET"),
        route(f"{v4}/posts/ephemeral", api.create_ephemeral, "POST"),
        route(f"{v4}/posts", api.create_post, "POST"),
        route(f"{v4}/posts/{{post_id}}/patch", api.patch_post, "PUT"),
        route(f"{v4}/posts/{{post_id}}/thread", api.get_thread, "GET"),
        route(f"{v4}/posts/{{post_id}}", api.get_post, "GET"),
        route(f"{v4}/posts/{{post_id}}", api.update_post, "PUT"),
        route(f"{v4}/actions/dialogs/open", api.open_dialog, "POST"),
        route(f"{v4}/files", api.upload_files, "POST", summarize=summarize_upload),
        route("/hooks/commands/{hook_id}", api.command_hook, "POST"),
    ]
    from mattermost_zoom.simulators.mattermost_admin_api import admin_routes

    routes += admin_routes(sim, route)  # ping, teams, bots, roles, tokens, commands
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        routes.append(route("/api/v4/{rest:path}", api.not_found, method))
    return Starlette(routes=routes)
