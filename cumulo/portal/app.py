"""The portal endpoint: server-rendered pages and the JSON REST API under `/api`.

One route table (pages, administration, API) is matched in order; domain errors are
mapped to statuses in one place (`_STATUS`) and rendered as JSON for the API and as a
page (or a flash message after a form post) for the UI. Anything unmapped is a 500
that shows only the request id.

Authentication: the API takes `Authorization: Bearer <key>` or `X-API-Key: <key>`, or
the session cookie with an `X-CSRF-Token` header on unsafe methods; pages take the
session cookie, and every form carries the session's CSRF token.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from cumulo import errors
from cumulo.config import Settings
from cumulo.http.asgi import ClientDisconnected, Request, UnsafeHeader, send_response
from cumulo.identity.admin import AdminService
from cumulo.identity.portal import Actor, PortalService
from cumulo.logs import clip
from cumulo.portal import openapi
from cumulo.portal.admin_pages import ROUTES as ADMIN_ROUTES
from cumulo.portal.api import ROUTES as API_ROUTES
from cumulo.portal.i18n import NAMES, I18n, negotiate
from cumulo.portal.pages import ROUTES as PAGE_ROUTES
from cumulo.portal.web import (
    ANON_CSRF_COOKIE,
    FLASH_COOKIE,
    SESSION_COOKIE,
    Ctx,
    Response,
    Route,
    cookies,
    html,
    json_response,
    parse_form,
    read_flash,
    redirect,
)

log = logging.getLogger("cumulo.portal")

HERE = Path(__file__).parent
STATIC = HERE / "static"
BODY_LIMIT = 64 * 1024
# What a 503 tells clients to wait: the pool finds a restarted database at once.
RETRY_AFTER_SECONDS = 2
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Domain errors → statuses; the first match wins, so subclasses come first.
_STATUS: list[tuple[type[errors.CumuloError], int]] = [
    (errors.TooManyAttempts, 429),
    (errors.Unauthenticated, 401),
    (errors.AccessDenied, 403),
    (errors.EntityTooLarge, 413),
    (errors.InvalidInput, 400),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unavailable, 503),
]

_SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    ),
]


class Portal:
    """The services, settings and templates the handlers share."""

    def __init__(self, accounts: PortalService, admin: AdminService, settings: Settings) -> None:
        self.accounts = accounts
        self.admin = admin
        self.settings = settings
        self.i18n = I18n()
        self.secure = bool(settings.tls_cert) or settings.public_portal_url.startswith("https")
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["when"] = _when
        self.routes: list[Route] = [*PAGE_ROUTES, *ADMIN_ROUTES, *API_ROUTES, OPENAPI_ROUTE]
        self.openapi = openapi.document(API_ROUTES, settings)

    def render(self, ctx: Ctx, template: str, status: int = 200, **values: Any) -> Response:
        actor = ctx.actor
        context: dict[str, Any] = {
            "_": self.i18n.translator(ctx.lang),
            "lang": ctx.lang,
            "languages": NAMES,
            "actor": actor,
            "csrf": actor.csrf if actor and actor.csrf else "",
            "flash": ctx.flash,
            "path": ctx.page_path or ctx.request.path,
            "form_errors": ctx.form_errors,
            "submitted": ctx.form if ctx.form_errors else {},
            "admin_nav": bool(actor and self.admin.is_admin_anywhere(actor)),
        }
        context.update(values)
        return html(self.templates.get_template(template).render(context), status)


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def get_openapi(ctx: Ctx) -> Response:
    return json_response(ctx.portal.openapi)


OPENAPI_ROUTE = Route("GET", "/api/openapi.json", get_openapi, signed_in=False)


class PortalApp:
    def __init__(self, accounts: PortalService, admin: AdminService, settings: Settings) -> None:
        self.portal = Portal(accounts, admin, settings)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        is_api = request.path.startswith("/api/") or request.path == "/api"
        lang = negotiate(request.header("accept-language"), None)
        try:
            response = await self._dispatch(request, is_api)
        except ClientDisconnected:
            return
        except errors.CumuloError as exc:
            status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 500)
            if status == 500:
                log.error("request %s: unmapped %s", request.request_id, clip(repr(exc)))
            response = self._error(request, is_api, lang, status, exc.message)
            if status == 503:
                # HTTP's hint for browsers and API clients: a moment, not a failure.
                response.headers.append(("Retry-After", str(RETRY_AFTER_SECONDS)))
        except Exception:
            log.exception("request %s failed", request.request_id)
            response = self._error(request, is_api, lang, 500, "")
        try:
            await self._send(request, send, response)
        except UnsafeHeader as exc:
            # Every value a client gives is checked before it becomes a header; this
            # answers, rather than drops, whatever slipped past.
            log.warning("request %s: not sent: %s", request.request_id, exc)
            await self._send(request, send, self._error(request, is_api, lang, 400, ""))

    async def _send(self, request: Request, send: Any, response: Response) -> None:
        headers = [*_SECURITY_HEADERS, *response.headers]
        if not any(k.lower() == "cache-control" for k, _ in response.headers):
            headers.append(("Cache-Control", "no-store"))
        await send_response(
            send, response.status, headers, response.body, head=request.method == "HEAD"
        )

    def _error(
        self, request: Request, is_api: bool, lang: str, status: int, message: str
    ) -> Response:
        if status == 500:
            message = f"internal error (request id {request.request_id})"
        if is_api:
            return json_response(
                {
                    "error": {
                        "status": status,
                        "code": _CODES.get(status, "Error"),
                        "message": message,
                    }
                },
                status,
            )
        ctx = Ctx(self.portal, request, {}, None, lang)
        return self.portal.render(ctx, "error.html", status, code=status, message=message)

    async def _dispatch(self, request: Request, is_api: bool) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        path = request.path
        if path.startswith("/static/") and method == "GET":
            return _static(path[len("/static/") :])
        allowed: list[str] = []
        for route in self.portal.routes:
            params = route.match(path)
            if params is None:
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            return await self._run(route, request, params, is_api)
        if allowed:
            response = self._error(request, is_api, "en", 405, "method not allowed here")
            response.headers.append(("Allow", ", ".join(sorted(set(allowed)))))
            return response
        raise errors.NotFound("there is nothing at this address")

    async def _actor(self, request: Request, is_api: bool, jar: dict[str, str]) -> Actor | None:
        accounts = self.portal.accounts
        ip = request.client_ip
        if is_api:
            auth = request.header("authorization")
            key = auth[7:].strip() if auth[:7].lower() == "bearer " else request.header("x-api-key")
            if key or auth:
                actor = await asyncio.to_thread(accounts.api_key_actor, key.strip(), ip)
                if actor is None:
                    raise errors.Unauthenticated("the API key is not valid (unknown or revoked)")
                return actor
        token = jar.get(SESSION_COOKIE)
        return await asyncio.to_thread(accounts.session_actor, token, ip) if token else None

    async def _run(
        self, route: Route, request: Request, params: dict[str, str], is_api: bool
    ) -> Response:
        jar = cookies(request)
        actor = await self._actor(request, is_api, jar)
        lang = negotiate(request.header("accept-language"), actor.language if actor else None)
        if route.signed_in and actor is None:
            if is_api:
                raise errors.Unauthenticated(
                    "sign in, or send an API key as 'Authorization: Bearer <key>'"
                )
            return redirect("/signin?next=" + quote(request.path + _query(request), safe=""))
        ctx = Ctx(self.portal, request, params, actor, lang)
        if is_api:
            openapi.check_query(route, request.query)
        if request.method in UNSAFE:
            raw = await request.body(BODY_LIMIT)
            if is_api:
                ctx.body = openapi.parse_body(route, raw)
            else:
                ctx.form = parse_form(raw)
            _check_csrf(ctx, is_api, jar)
        elif not is_api and FLASH_COOKIE in jar:
            ctx.flash = read_flash(jar[FLASH_COOKIE])
        try:
            response = await asyncio.to_thread(route.handler, ctx)
        except errors.CumuloError as exc:
            status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 500)
            if is_api or route.form is None or status in (401, 429, 500, 503):
                raise
            # A refused form: its page again, saying why beside the field.
            response = route.form.show(ctx, exc, status)
        for name, value, max_age in ctx.out_cookies:
            response.cookie(name, value, secure=self.portal.secure, max_age=max_age)
        if ctx.flash is not None:
            response.cookie(FLASH_COOKIE, "", secure=self.portal.secure, max_age=0)
        return response


_CODES = {
    400: "InvalidInput",
    401: "Unauthenticated",
    403: "AccessDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "EntityTooLarge",
    429: "TooManyAttempts",
    500: "InternalError",
    503: "Unavailable",
}


def _query(request: Request) -> str:
    return "?" + request.query_string if request.query_string else ""


def _check_csrf(ctx: Ctx, is_api: bool, jar: dict[str, str]) -> None:
    import hmac

    actor = ctx.actor
    if is_api:
        if actor is None or actor.session_id is None:
            return  # API keys are not sent by browsers on their own
        sent = ctx.request.header("x-csrf-token")
    else:
        sent = ctx.form.get("csrf", "")
    expected = actor.csrf if actor is not None and actor.csrf else jar.get(ANON_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise errors.AccessDenied(
            "the form or request is missing its CSRF token (reload the page and try again)"
        )


_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _static(name: str) -> Response:
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise errors.NotFound("no such file")
    media = _STATIC_TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "text/plain"
    return Response(
        200, path.read_bytes(), [("Content-Type", media), ("Cache-Control", "max-age=300")]
    )
