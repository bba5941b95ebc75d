"""The object port's ASGI app: Swift's `/info` and `/v1/AUTH_<project_id>/...`.

OpenStack Object Storage API v1 behind Keystone tokens (as Swift's keystoneauth does it):
`X-Auth-Token` must be valid (401), scoped to the path's account (403), and of a role
that may write when the operation writes (403). Every response carries the request id
as `X-Trans-Id` and `X-Openstack-Request-Id`; an unexpected failure shows the client
only that id (500) and logs the traceback. Other paths go to `fallback` (the S3 API,
later) or get a plain 404.
"""

from __future__ import annotations

import logging
from typing import Any

from cumulo import errors
from cumulo.config import Settings
from cumulo.http.asgi import ClientDisconnected, Request, UnsafeHeader, log_fault, respond
from cumulo.identity.service import IdentityService, cached_or_in_thread
from cumulo.logs import clip
from cumulo.objects.service import ObjectService
from cumulo.swift import router
from cumulo.swift.common import Call, Response, check_utf8
from cumulo.swift.errors import HTML, SwiftError, to_swift
from cumulo.swift.info import info_body

log = logging.getLogger("cumulo.swift")

ASGIApp = Any
ACCOUNT_PREFIX = "AUTH_"


class SwiftApp:
    def __init__(
        self,
        identity: IdentityService,
        objects: ObjectService,
        settings: Settings,
        fallback: ASGIApp | None = None,
    ) -> None:
        self.identity = identity
        self.objects = objects
        self.settings = settings
        self.fallback = fallback

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if self.fallback is not None:
                await self.fallback(scope, receive, send)
            return
        request = Request(scope, receive)
        path = request.path
        if path in ("/info", "/info/"):
            await self._respond(request, send, self._info(request))
        elif path == "/v1" or path.startswith("/v1/"):
            await self._swift(request, send)
        elif self.fallback is not None:
            await self.fallback(scope, receive, send)
        else:
            plain = {"Content-Type": "text/plain; charset=utf-8"}
            await self._respond(request, send, Response(404, plain, b"Not Found\n"))

    def _info(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            refused = SwiftError(405, headers={"Allow": "GET, HEAD"})
            return Response(refused.status, refused.headers, refused.body)
        return Response(
            200, {"Content-Type": "application/json; charset=utf-8"}, info_body(self.settings)
        )

    async def _swift(self, request: Request, send: Any) -> None:
        try:
            response = await self._dispatch(request)
        except SwiftError as exc:
            response = Response(exc.status, exc.headers, exc.body)
        except errors.CumuloError as exc:
            mapped = to_swift(exc)
            if mapped is None:
                response = self._internal(request, exc)
            else:
                if isinstance(exc, errors.StorageFault):
                    # Our fault, with a known cause: the message names it, no traceback.
                    log_fault(request, exc)
                response = Response(mapped.status, mapped.headers, mapped.body)
        except ClientDisconnected:
            log.info("%s: client disconnected", request.request_id)
            return
        except Exception as exc:
            response = self._internal(request, exc)
        await self._respond(request, send, response)

    async def _dispatch(self, request: Request) -> Response:
        account, _, rest = request.path[len("/v1/") :].partition("/")
        container, _, obj = rest.partition("/")
        if not account:
            raise SwiftError(412, "Invalid path")
        call = await self._authorize(request, account)
        check_utf8(container)
        check_utf8(obj)
        call.container, call.obj = container, obj
        level = router.level(container, obj)
        found = router.route(level, request.method, request.query)
        if found is None:
            allow = ", ".join(router.allowed_methods(level))
            raise SwiftError(405, headers={"Allow": allow})
        if found.writes and not call.can_write:
            raise SwiftError(403)
        return await found.handler(call)

    async def _authorize(self, request: Request, account: str) -> Call:
        token = request.header("x-auth-token") or request.header("x-storage-token")
        if not token:
            raise self._unauthorized()
        try:
            # Inline on a cache hit (the common case); a miss queries in a thread.
            principal, payload = await cached_or_in_thread(self.identity.validate, token)
        except (errors.NotFound, errors.Unauthenticated):
            # Unknown, expired, revoked, or its membership is gone: all the same to Swift.
            raise self._unauthorized() from None
        if (
            payload.project_id is None
            or payload.project_id != principal.project_id
            or account != ACCOUNT_PREFIX + payload.project_id
        ):
            raise SwiftError(403)
        return Call(
            request,
            self.objects,
            self.settings,
            account,
            payload.project_id,
            can_write=principal.role.can_write,
        )

    def _unauthorized(self) -> SwiftError:
        uri = self.settings.public_identity_url
        # keystonemiddleware's form: tells clients where to get a token.
        return SwiftError(401, headers={"Www-Authenticate": f'Keystone uri="{uri}"'})

    def _internal(self, request: Request, exc: BaseException) -> Response:
        log.error(
            "%s: %s %s failed",
            request.request_id,
            clip(request.method),
            clip(request.raw_path),
            exc_info=exc,
        )
        body = f"Internal Error (request {request.request_id})\n".encode()
        return Response(500, {"Content-Type": "text/plain; charset=utf-8"}, body)

    async def _respond(self, request: Request, send: Any, response: Response) -> None:
        headers = {
            **response.headers,
            "X-Trans-Id": request.request_id,
            "X-Openstack-Request-Id": request.request_id,
        }
        headers.setdefault("Content-Type", HTML)
        try:
            await respond(
                request,
                send,
                response.status,
                list(headers.items()),
                response.body,
                response.stream,
            )
        except UnsafeHeader as exc:
            # Only a value stored before values were checked on the way in gets here.
            log.warning("%s: not sent: %s", request.request_id, exc)
            refused = SwiftError(400, f"Invalid character in the value of {exc.name}")
            await self._respond(request, send, Response(400, refused.headers, refused.body))
