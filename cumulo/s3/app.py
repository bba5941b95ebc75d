"""The S3 API (Amazon S3 REST API, 2006-03-01) on the object port, beside Swift.

Every request: parse addressing → authenticate (SigV4/SigV2; anonymous allowed) →
name the operation (`router.resolve`) → check the right it needs → run its handler.
Errors are S3 XML documents with Code, Message, Resource and RequestId; every response
carries `x-amz-request-id`. Anything unexpected is an InternalError showing only the
request id.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cumulo import errors
from cumulo.auth.errors import AuthError
from cumulo.config import Settings
from cumulo.http.asgi import ClientDisconnected, Request, UnsafeHeader, log_fault, respond
from cumulo.identity.service import IdentityService
from cumulo.logs import clip
from cumulo.objects.multipart import MultipartService
from cumulo.objects.service import ObjectService
from cumulo.s3 import errors as s3
from cumulo.s3.context import S3Call, Target
from cumulo.s3.router import PUBLIC_READ, Access, NotAllowed, Op, Unsupported, resolve
from cumulo.s3.xml import Node, document

log = logging.getLogger("cumulo.s3")

PUBLIC_READ_KEY = "x-container-read"
PUBLIC_READ_VALUE = ".r:*,.rlistings"


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None


def xml_reply(root: Node, status: int = 200) -> Reply:
    return Reply(status, [("Content-Type", "application/xml")], document(root))


Handler = Callable[["S3App", S3Call, Target], Awaitable[Reply]]


class S3App:
    def __init__(
        self,
        identity: IdentityService,
        objects: ObjectService,
        multipart: MultipartService,
        settings: Settings,
    ) -> None:
        self.identity = identity
        self.objects = objects
        self.multipart = multipart
        self.settings = settings
        self.domain = settings.s3_domain or _default_domain(settings.public_object_url)
        from cumulo.s3.handlers import HANDLERS

        self.handlers: dict[Op, Handler] = HANDLERS

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        call = S3Call.parse(request, self.settings, self.domain)
        try:
            reply = await self._handle(call)
        except s3.S3Error as exc:
            reply = self._error(call, exc)
        except AuthError as exc:
            reply = self._error(call, s3.from_auth(exc))
        except errors.CumuloError as exc:
            mapped = s3.from_domain(exc)
            if isinstance(exc, errors.StorageFault):
                # Our fault, with a known cause: the message names it, no traceback.
                log_fault(request, exc)
            reply = self._error(call, mapped or self._internal(call, exc))
        except ClientDisconnected:
            log.info("%s: client disconnected", request.request_id)
            return
        except Exception as exc:
            reply = self._error(call, self._internal(call, exc))
        await self._send(call, send, reply)

    async def _handle(self, call: S3Call) -> Reply:
        if not call.well_formed():
            raise s3.InvalidURI()
        await call.authenticate(self.identity)
        try:
            op = resolve(
                call.request.method,
                call.bucket,
                call.key,
                call.query,
                "x-amz-copy-source" in call.request.headers,
            )
        except Unsupported as exc:
            raise s3.NotImplementedOp(
                f"The {exc.args[0]!r} feature is not implemented by this server."
            ) from None
        except NotAllowed:
            raise s3.MethodNotAllowed(
                Method=call.request.method, ResourceType="OBJECT" if call.key else "BUCKET"
            ) from None
        if op is Op.ListBuckets:
            if call.principal is None:
                raise s3.AccessDenied()
            target = Target(call.principal.project_id, "", True)
        else:
            target = call.target()
            await self.authorize(call, op, target)
        return await self.handlers[op](self, call, target)

    async def authorize(self, call: S3Call, op: Op, target: Target) -> None:
        """Own project: the role decides. Otherwise only reads of public-read data."""
        if target.own and call.principal is not None:
            if op.access is not Access.READ and not call.principal.role.can_write:
                raise s3.AccessDenied()
            return
        if op in PUBLIC_READ and await self.is_public(target, call.key if call.key else None):
            return
        raise s3.AccessDenied()

    async def is_public(self, target: Target, key: str | None) -> bool:
        try:
            container = await self.objects.container(target.project_id, target.bucket)
        except errors.NoSuchContainer:
            return False
        if container.metadata.get(PUBLIC_READ_KEY, "").startswith(".r:*"):
            return True
        if key is None:
            return False
        try:
            record = await self.objects.head_object(target.project_id, target.bucket, key)
        except errors.NoSuchObject:
            return False
        return record.headers.get("x-amz-acl") == "public-read"

    def _internal(self, call: S3Call, exc: BaseException) -> s3.S3Error:
        request = call.request
        log.error(
            "%s: %s %s failed",
            request.request_id,
            clip(request.method),
            clip(request.raw_path),
            exc_info=exc,
        )
        return s3.InternalError()

    def _error(self, call: S3Call, exc: s3.S3Error) -> Reply:
        if exc.status == 304:
            return Reply(304)
        root = Node(
            "Error",
            Code=exc.code,
            Message=exc.message,
            **{k: v for k, v in exc.fields.items() if k not in ("Code", "Message")},
            Resource=call.request.raw_path,
            RequestId=call.request.request_id,
        )
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + root.render()).encode(errors="replace")
        return Reply(exc.status, [("Content-Type", "application/xml")], body)

    async def _send(self, call: S3Call, send: Any, reply: Reply) -> None:
        request = call.request
        headers = [
            ("x-amz-request-id", request.request_id),
            ("x-amz-id-2", request.request_id),
            *reply.headers,
        ]
        try:
            await respond(request, send, reply.status, headers, reply.body, reply.stream)
        except UnsafeHeader as exc:
            # Only a value stored before values were checked on the way in gets here.
            log.warning("%s: not sent: %s", request.request_id, exc)
            await self._send(call, send, self._error(call, s3.unsafe_header(exc.name)))


def _default_domain(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if not host or host.replace(".", "").isdigit() or ":" in host or "." not in host:
        return ""
    return host
