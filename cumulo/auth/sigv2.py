"""AWS Signature Version 2 for S3, as s3cmd and legacy clients still use it.

Implements "Signing and Authenticating REST Requests" (the S3 Developer Guide's
SigV2 section), both forms: the ``Authorization: AWS AccessKeyId:Signature``
header and query-string authentication (``AWSAccessKeyId``, ``Signature``,
``Expires``). The signature is the base64 HMAC-SHA1 of::

    Method \\n Content-MD5 \\n Content-Type \\n Date-or-Expires \\n
    CanonicalizedAmzHeaders CanonicalizedResource

The sub-resources kept in the CanonicalizedResource are botocore's
(``HmacV1Auth.QSAOfInterest``), a superset of the list AWS documents.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from cumulo.auth.errors import (
    AccessDenied,
    InvalidArgument,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from cumulo.auth.sigv4 import DEFAULT_MAX_SKEW, canonical_uri_candidates

SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "inventory",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "partNumber",
        "policy",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)


@dataclass(frozen=True, slots=True)
class Credential:
    access_key: str
    signature: str
    presigned: bool
    expires: int | None  # seconds since the epoch, presigned URLs only


@dataclass(frozen=True, slots=True)
class Verified:
    access_key: str
    presigned: bool


def parse(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> Credential | None:
    """Parse a SigV2 signature, or return None if the request has none."""
    del method, raw_path  # same shape as verify()
    authorization = headers.get("authorization")
    params = dict(query)
    presigned = "AWSAccessKeyId" in params or "Signature" in params
    if authorization is not None and authorization.startswith("AWS "):
        if presigned:
            raise InvalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be "
                "specified",
                extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
            )
        access_key, sep, signature = authorization[4:].strip().rpartition(":")
        if not sep or not access_key or not signature:
            raise InvalidArgument(
                "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
                extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
            )
        return Credential(access_key, signature, presigned=False, expires=None)
    if not presigned:
        return None
    if not all(params.get(name) for name in ("AWSAccessKeyId", "Signature", "Expires")):
        raise AccessDenied(
            "Query-string authentication requires the Signature, Expires and "
            "AWSAccessKeyId parameters"
        )
    raw_expires = params["Expires"]
    if not (raw_expires.isascii() and raw_expires.isdigit()):
        raise AccessDenied(f"Invalid date (should be seconds since epoch): {raw_expires}")
    return Credential(params["AWSAccessKeyId"], params["Signature"], True, int(raw_expires))


def verify(
    cred: Credential,
    secret_key: str,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    now: float,
    *,
    bucket: str | None = None,
    max_skew: int = DEFAULT_MAX_SKEW,
) -> Verified:
    """Check a SigV2 request; ``bucket`` names the bucket of a virtual-host request.

    SigV2 signs the path including the bucket, even when the bucket was in the
    Host header, so the caller passes it for virtual-hosted-style requests.
    """
    if cred.presigned:
        assert cred.expires is not None
        if now > cred.expires:
            raise AccessDenied(
                "Request has expired",
                extra={"Expires": _iso8601(cred.expires), "ServerTime": _iso8601(now)},
            )
        date_lines = [str(cred.expires)]
    else:
        date_lines = _check_header_time(headers, now, max_skew)

    paths = canonical_uri_candidates(raw_path)
    if bucket is not None:
        paths = [f"/{bucket}{path}" for path in paths]
    # The resource of a bucket is "/bucket/" (botocore signs it so for path-style
    # "/bucket" requests too).
    paths += [f"{path}/" for path in paths if path.count("/") == 1 and len(path) > 1]
    key = secret_key.encode()
    provided = cred.signature.encode("utf-8", "replace")
    first = ""
    for path in paths:
        for date_line in date_lines:
            to_sign = string_to_sign(
                method, path, query, headers, date_line=date_line, presigned=cred.presigned
            )
            digest = hmac.new(key, to_sign.encode(), hashlib.sha1).digest()
            if hmac.compare_digest(base64.b64encode(digest), provided):
                return Verified(cred.access_key, cred.presigned)
            first = first or to_sign
    raise SignatureDoesNotMatch(
        extra={
            "AWSAccessKeyId": cred.access_key,
            "StringToSign": first,
            "SignatureProvided": cred.signature,
        }
    )


def string_to_sign(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    date_line: str,
    presigned: bool = False,
) -> str:
    """The SigV2 StringToSign; ``path`` already includes the bucket."""
    params = dict(query)
    amz = {name: value for name, value in headers.items() if name.startswith("x-amz-")}
    if presigned:
        # Signed x-amz-* headers travel in the query of a presigned URL.
        for name, value in query:
            if name.lower().startswith("x-amz-"):
                amz.setdefault(name.lower(), value)

    def standard(name: str) -> str:
        value = headers.get(name)
        if value is None and presigned:
            value = params.get(name)
        return (value or "").strip()

    lines = [method.upper(), standard("content-md5"), standard("content-type"), date_line]
    lines += [f"{name}:{amz[name].strip()}" for name in sorted(amz)]
    return "\n".join(lines) + "\n" + canonical_resource(path, query)


def canonical_resource(path: str, query: Sequence[tuple[str, str]]) -> str:
    """The path and its sub-resources, sorted by name; empty values lose their ``=``."""
    kept = sorted(
        ((key, value) for key, value in query if key in SUBRESOURCES), key=lambda kv: kv[0]
    )
    if not kept:
        return path
    return path + "?" + "&".join(f"{key}={value}" if value else key for key, value in kept)


def _check_header_time(headers: Mapping[str, str], now: float, max_skew: int) -> list[str]:
    """The Date lines the client may have signed, after checking the clock."""
    amz_date = headers.get("x-amz-date")
    date = headers.get("date")
    when = _parse_http_date(amz_date if amz_date is not None else date)
    if when is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - when) > max_skew:
        raise RequestTimeTooSkewed(
            extra={
                "RequestTime": amz_date if amz_date is not None else (date or ""),
                "ServerTime": _iso8601(now),
                "MaxAllowedSkewMilliseconds": str(max_skew * 1000),
            }
        )
    # With x-amz-date the Date line is empty; some clients still sign Date there.
    if amz_date is None:
        return [(date or "").strip()]
    return ["", (date or "").strip()] if date else [""]


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _iso8601(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
