"""The Keystone-compatible identity endpoint (Identity API v3; v2.0, deprecated).

Routes are matched in one table. Requests are what keystoneauth1 (openstack CLI,
python-swiftclient) and rclone send: discovery at `/`, `/v3`, `/v2.0`; password and
token authentication at `/v3/auth/tokens` — and at the root `/auth/tokens`, where rclone
posts — with domains by id or name or absent (the default domain).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from cumulo import errors
from cumulo.config import Settings
from cumulo.http.asgi import Request, UnsafeHeader, json_body, send_response
from cumulo.identity.service import AuthResult, IdentityService, cached_or_in_thread
from cumulo.keystone import documents as doc
from cumulo.keystone.auth_body import AuthRequest, parse_v2, parse_v3
from cumulo.model import Ec2Credential, Principal

log = logging.getLogger("cumulo.keystone")

Handler = Callable[["KeystoneApp", Request, dict[str, str]], Awaitable["Reply"]]


class Reply:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: Any = None, headers: list[tuple[str, str]] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or []


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# Domain errors → Keystone statuses; anything else is a 500 showing the request id only.
_STATUS: list[tuple[type[errors.CumuloError], int]] = [
    (errors.Unauthenticated, 401),
    (errors.TokenNotFound, 404),
    (errors.AccessDenied, 403),
    (errors.EntityTooLarge, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unavailable, 503),
]


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "title": _TITLES[status], "message": message}})


class KeystoneApp:
    def __init__(self, identity: IdentityService, settings: Settings) -> None:
        self.identity = identity
        self.settings = settings
        self.base = settings.public_identity_url

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            reply = await self._dispatch(request)
        except errors.CumuloError as exc:
            status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 500)
            if status == 404 and isinstance(exc, errors.TokenNotFound) and _is_token_auth(request):
                status = 401
            reply = _error(status, exc.message if status != 500 else "internal error")
        except Exception:
            log.exception("request %s failed", request.request_id)
            reply = _error(
                500,
                f"An unexpected error prevented the server from fulfilling "
                f"your request (request id {request.request_id}).",
            )
        await self._send(request, send, reply)

    async def _send(self, request: Request, send: Any, reply: Reply) -> None:
        headers = [
            ("Vary", "X-Auth-Token"),
            ("x-openstack-request-id", "req-" + request.request_id),
            *reply.headers,
        ]
        if reply.status == 401:
            headers.append(("WWW-Authenticate", f'Keystone uri="{self.base}"'))
        body = b""
        if reply.body is not None:
            body = json_body(reply.body)
            headers.append(("Content-Type", "application/json"))
        try:
            await send_response(send, reply.status, headers, body, head=request.method == "HEAD")
        except UnsafeHeader as exc:
            # Answer, rather than drop, a header value that cannot be sent.
            log.warning("request %s: not sent: %s", request.request_id, exc)
            await self._send(request, send, _error(400, "A response header could not be sent."))

    async def _dispatch(self, request: Request) -> Reply:
        path = request.path.rstrip("/") or "/"
        allowed: list[str] = []
        for pattern, methods in ROUTES:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            method = "GET" if request.method == "HEAD" and "HEAD" not in methods else request.method
            handler = methods.get(method)
            if handler is None:
                allowed = list(methods)
                continue
            params = match.groupdict()
            if not all(_is_text(value) for value in params.values()):
                # A %-escape that is no UTF-8 decodes to lone surrogates: no such id.
                return _error(404, "The resource could not be found.")
            return await handler(self, request, params)
        if allowed:
            return _error(405, f"The method is not allowed; use one of {', '.join(allowed)}.")
        return _error(404, "The resource could not be found.")

    # --- helpers ----------------------------------------------------------------

    async def caller(self, request: Request) -> tuple[Principal, Any]:
        token = request.header("x-auth-token")
        if not token:
            raise errors.Unauthenticated("The request you have made requires authentication.")
        try:
            return await cached_or_in_thread(self.identity.validate, token)
        except errors.TokenNotFound:
            raise errors.Unauthenticated(
                "The request you have made requires authentication."
            ) from None

    def token_reply(self, status: int, result: AuthResult, *, catalog: bool = True) -> Reply:
        body = doc.token_v3(self.settings, result.principal, result.payload, catalog=catalog)
        return Reply(status, body, [("X-Subject-Token", result.token)])

    def ec2_ref(self, cred: Ec2Credential, user_id: str) -> dict[str, Any]:
        return {
            "access": cred.access,
            "secret": cred.secret,
            "user_id": user_id,
            "tenant_id": cred.project_id,
            "trust_id": None,
            "links": {"self": f"{self.base}/v3/users/{user_id}/credentials/OS-EC2/{cred.access}"},
        }


def _is_text(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_token_auth(request: Request) -> bool:
    return request.method == "POST"


# --- handlers -------------------------------------------------------------------


async def get_versions(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    # Keystone answers the root with 300 Multiple Choices; keystoneauth expects it.
    return Reply(300, doc.versions(app.base))


async def get_version_v3(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    return Reply(200, {"version": doc.version_v3(app.base)})


async def get_version_v2(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    return Reply(200, {"version": doc.version_v2(app.base)}, _deprecated())


def _deprecated() -> list[tuple[str, str]]:
    log.warning("Keystone v2.0 was used; it is deprecated and will be removed (use v3)")
    return [
        ("Deprecation", "true"),
        ("Warning", '299 - "Identity API v2.0 is deprecated; use v3"'),
    ]


async def _authenticate(app: KeystoneApp, auth: AuthRequest) -> AuthResult:
    # Inline when the identity caches answer; a miss reaches the database in a thread.
    if auth.token is not None:
        return await cached_or_in_thread(
            app.identity.rescope,
            auth.token,
            project_name=auth.project_name,
            project_id=auth.project_id,
            unscoped=auth.unscoped,
        )
    return await cached_or_in_thread(
        app.identity.authenticate,
        username=auth.username,
        user_id=auth.user_id,
        password=auth.password or "",
        project_name=auth.project_name,
        project_id=auth.project_id,
        unscoped=auth.unscoped,
    )


async def issue_token(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    result = await _authenticate(app, parse_v3(await request.json()))
    return app.token_reply(201, result, catalog="nocatalog" not in request.query)


async def validate_token(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    caller, _payload = await app.caller(request)
    subject = request.header("x-subject-token")
    if not subject:
        raise errors.InvalidInput("X-Subject-Token is required")
    principal, payload = await cached_or_in_thread(app.identity.validate, subject)
    if principal.user_id != caller.user_id and not (
        caller.role.value == "admin" and caller.project_id == principal.project_id
    ):
        raise errors.AccessDenied("You are not authorized to perform the requested action.")
    body = doc.token_v3(app.settings, principal, payload, catalog="nocatalog" not in request.query)
    return Reply(200, body, [("X-Subject-Token", subject)])


async def check_token(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    reply = await validate_token(app, request, params)
    return Reply(200, None, reply.headers)


async def revoke_token(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    await validate_token(app, request, params)
    app.identity.revoke(request.header("x-subject-token"))
    return Reply(204)


async def auth_projects(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    principal, _payload = await app.caller(request)
    project = {
        **doc.project_ref(principal),
        "domain_id": "default",
        "enabled": True,
        "is_domain": False,
        "parent_id": "default",
        "description": "",
        "links": {"self": f"{app.base}/v3/projects/{principal.project_id}"},
    }
    project.pop("domain")
    return Reply(200, {"projects": [project], "links": {"self": f"{app.base}/v3/auth/projects"}})


async def auth_catalog(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    principal, payload = await app.caller(request)
    if payload.project_id is None:
        raise errors.AccessDenied("An unscoped token has no catalog.")
    return Reply(200, {"catalog": doc.catalog_v3(app.settings, principal.project_id)})


async def _own_user(app: KeystoneApp, request: Request, user_id: str) -> Principal:
    principal, _payload = await app.caller(request)
    if principal.membership_id != user_id:
        raise errors.AccessDenied("You are not authorized to perform the requested action.")
    return principal


async def create_ec2(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal = await _own_user(app, request, params["user_id"])
    body = await request.json()
    project_id = body.get("tenant_id") or body.get("project_id") if isinstance(body, dict) else None
    if not isinstance(project_id, str):
        raise errors.InvalidInput("tenant_id is required")
    cred = app.identity.create_ec2(principal, project_id)
    return Reply(201, {"credential": app.ec2_ref(cred, principal.membership_id)})


async def list_ec2(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal = await _own_user(app, request, params["user_id"])
    creds = [app.ec2_ref(c, principal.membership_id) for c in app.identity.list_ec2(principal)]
    return Reply(200, {"credentials": creds, "links": {"self": request.path}})


async def get_ec2(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal = await _own_user(app, request, params["user_id"])
    cred = app.identity.get_ec2(principal, params["access"])
    return Reply(200, {"credential": app.ec2_ref(cred, principal.membership_id)})


async def delete_ec2(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal = await _own_user(app, request, params["user_id"])
    app.identity.delete_ec2(principal, params["access"])
    return Reply(204)


async def get_user(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal = await _own_user(app, request, params["user_id"])
    user = {
        **doc.user_ref(principal),
        "domain_id": "default",
        "enabled": True,
        "default_project_id": principal.project_id,
        "links": {"self": f"{app.base}/v3/users/{principal.membership_id}"},
    }
    user.pop("domain")
    return Reply(200, {"user": user})


async def get_project(app: KeystoneApp, request: Request, params: dict[str, str]) -> Reply:
    principal, _payload = await app.caller(request)
    if params["project_id"] != principal.project_id:
        raise errors.AccessDenied("You are not authorized to perform the requested action.")
    reply = await auth_projects(app, request, params)
    return Reply(200, {"project": reply.body["projects"][0]})


async def issue_token_v2(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    result = await _authenticate(app, parse_v2(await request.json()))
    body = doc.token_v2(app.settings, result.principal, result.payload, result.token)
    return Reply(200, body, _deprecated())


async def tenants_v2(app: KeystoneApp, request: Request, _: dict[str, str]) -> Reply:
    principal, _payload = await app.caller(request)
    tenant = {
        "id": principal.project_id,
        "name": principal.project_name,
        "enabled": True,
        "description": None,
    }
    return Reply(200, {"tenants": [tenant], "tenants_links": []}, _deprecated())


def _route(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path))


ROUTES: list[tuple[re.Pattern[str], dict[str, Handler]]] = [
    (_route("/"), {"GET": get_versions}),
    (_route("/v3"), {"GET": get_version_v3}),
    (_route("/v2.0"), {"GET": get_version_v2}),
    (
        _route("(?:/v3)?/auth/tokens"),
        {"POST": issue_token, "GET": validate_token, "HEAD": check_token, "DELETE": revoke_token},
    ),
    (_route("/v3/auth/projects"), {"GET": auth_projects}),
    (_route("/v3/auth/catalog"), {"GET": auth_catalog}),
    (_route("/v3/users/{user_id}"), {"GET": get_user}),
    (_route("/v3/projects/{project_id}"), {"GET": get_project}),
    (_route("/v3/users/{user_id}/credentials/OS-EC2"), {"GET": list_ec2, "POST": create_ec2}),
    (
        _route("/v3/users/{user_id}/credentials/OS-EC2/{access}"),
        {"GET": get_ec2, "DELETE": delete_ec2},
    ),
    (_route("/v2.0/tokens"), {"POST": issue_token_v2}),
    (_route("/v2.0/tenants"), {"GET": tenants_v2}),
]
