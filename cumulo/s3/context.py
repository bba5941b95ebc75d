"""One S3 request: who sent it (SigV4/SigV2, header or query), which bucket and key it
addresses (path style, virtual host, `<project_id>:<bucket>`), and its body, decoded
(aws-chunked, signed or with trailers) and verified (payload SHA-256, Content-MD5,
x-amz-checksum-*) as it streams into the object service.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from cumulo.auth import chunked, parse_request, sigv2, sigv4
from cumulo.auth.checksums import ChecksumSet
from cumulo.config import Settings
from cumulo.http.asgi import Request, digits
from cumulo.identity.service import IdentityService, cached_or_in_thread
from cumulo.model import Principal
from cumulo.objects.service import Finish
from cumulo.s3 import errors as s3

TENANT_SEPARATOR = ":"


@dataclass
class Target:
    """The bucket a request addresses, resolved to a project."""

    project_id: str
    bucket: str
    own: bool  # the bucket is in the caller's own project


@dataclass(frozen=True)
class Body:
    """A request body being decoded and verified as it streams."""

    stream: AsyncIterator[bytes]
    finish: Finish
    expected_md5: str | None  # hex; for the object service to check (md5=False)


@dataclass
class S3Call:
    request: Request
    settings: Settings
    bucket: str = ""
    key: str = ""
    virtual_host: bool = False
    principal: Principal | None = None
    verified: sigv4.Verified | None = None
    query: dict[str, str] = field(default_factory=dict)
    query_pairs: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, request: Request, settings: Settings, domain: str) -> S3Call:
        call = cls(request, settings)
        call.query_pairs = parse_qsl(
            request.query_string, keep_blank_values=True, errors="surrogateescape"
        )
        call.query = dict(call.query_pairs)
        path = request.path
        host = request.header("host").rsplit(":", 1)[0].lower()
        if domain and host.endswith("." + domain):
            call.virtual_host = True
            call.bucket = host[: -len(domain) - 1]
            call.key = path[1:]
        else:
            call.bucket, _, call.key = path[1:].partition("/")
        return call

    def well_formed(self) -> bool:
        """Path and query are UTF-8 once percent-decoded (S3 keys are UTF-8 text); bytes
        that are not were kept as surrogates by the decoding."""
        texts = [self.request.path, *(t for pair in self.query_pairs for t in pair)]
        try:
            for text in texts:
                text.encode()
        except UnicodeEncodeError:
            return False
        return True

    def header(self, name: str, default: str = "") -> str:
        return self.request.headers.get(name, default)

    # --- authentication -----------------------------------------------------

    async def authenticate(self, identity: IdentityService) -> None:
        request = self.request
        cred = parse_request(request.method, request.raw_path, self.query_pairs, request.headers)
        if cred is None:
            return
        found = await cached_or_in_thread(identity.s3_key, cred.access_key)
        if found is None:
            raise s3.InvalidAccessKeyId(AWSAccessKeyId=cred.access_key)
        principal, secret = found
        now = time.time()
        if isinstance(cred, sigv4.Credential):
            self.verified = sigv4.verify(
                cred,
                secret,
                request.method,
                request.raw_path,
                self.query_pairs,
                request.headers,
                now,
                self.settings.region,
            )
        else:
            sigv2.verify(
                cred,
                secret,
                request.method,
                request.raw_path,
                self.query_pairs,
                request.headers,
                now,
                bucket=self.bucket if self.virtual_host else None,
            )
        self.principal = principal

    # --- addressing -----------------------------------------------------------

    def target(self) -> Target:
        """The addressed bucket's project: the caller's own, or `<project_id>:` named."""
        tenant, sep, name = self.bucket.partition(TENANT_SEPARATOR)
        own_project = self.principal.project_id if self.principal else None
        if not sep:
            if own_project is None:
                # An anonymous request must name the bucket's project.
                raise s3.AccessDenied()
            return Target(own_project, self.bucket, True)
        if not name:
            raise s3.InvalidBucketName(BucketName=self.bucket)
        return Target(tenant, name, tenant == own_project)

    # --- body -------------------------------------------------------------------

    def body(self, *, default_checksum: str | None = None, md5: bool = True) -> Body:
        """The decoded body, and the check to run once it has ended (before anything
        becomes visible): it raises on any mismatch, or returns the checksums to keep.
        With md5=False the Content-MD5 check is left to the object service, which
        hashes the body for its ETag anyway (`Body.expected_md5`)."""
        headers = self.request.headers
        if "content-length" not in headers and "chunked" not in headers.get(
            "transfer-encoding", ""
        ):
            raise s3.MissingContentLength()
        mode = headers.get("x-amz-content-sha256", "")
        declared = headers.get(
            "x-amz-decoded-content-length" if mode.startswith("STREAMING-") else "content-length"
        )
        if declared and digits(declared) and int(declared) > self.settings.max_object_size:
            # Refused from the headers, before the client sends (or we read) the body.
            raise s3.EntityTooLarge(
                ProposedSize=int(declared), MaxSizeAllowed=self.settings.max_object_size
            )
        trailer_names = chunked.parse_trailer_names(headers.get("x-amz-trailer"))
        decoder: chunked.ChunkedDecoder | None = None
        checker: sigv4.PayloadHashChecker | None = None
        if mode.startswith("STREAMING-"):
            length = headers.get("x-amz-decoded-content-length")
            decoder = chunked.ChunkedDecoder(
                self.verified,
                mode,
                trailer_names,
                int(length) if length and digits(length) else None,
            )
        elif self.verified is not None:
            checker = self.verified.payload_checker()
        checks = ChecksumSet(headers, trailer_names, default_algorithm=default_checksum, md5=md5)
        trailers: dict[str, str] = {}

        async def stream() -> AsyncIterator[bytes]:
            async for chunk in self.request.stream():
                data = decoder.feed(chunk) if decoder is not None else chunk
                if data:
                    if checker is not None:
                        checker.update(data)
                    checks.update(data)
                    yield data
            if decoder is not None:
                trailers.update(decoder.finish())

        def finish() -> dict[str, str]:
            if checker is not None:
                checker.finish()
            return checks.finish(trailers).checksums

        return Body(stream(), finish, None if md5 else checks.content_md5_hex)

    async def document(self, limit: int = 1024 * 1024) -> bytes:
        """A small request document (XML), decoded and verified like any body."""
        body = self.body()
        stream, finish = body.stream, body.finish
        parts: list[bytes] = []
        size = 0
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                raise s3.MaxMessageLengthExceeded()
            parts.append(chunk)
        finish()
        return b"".join(parts)


def owner(project_id: str, project_name: str | None = None) -> dict[str, Any]:
    return {"ID": project_id, "DisplayName": project_name or project_id}
