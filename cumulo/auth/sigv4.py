"""AWS Signature Version 4 for S3: request parsing and verification.

Implements the S3 flavour of the AWS specifications "Authenticating Requests:
Using the Authorization Header (AWS Signature Version 4)" and "Authenticating
Requests: Using Query Parameters (AWS Signature Version 4)" (presigned URLs), as
botocore's ``S3SigV4Auth`` and ``S3SigV4QueryAuth`` produce them.

S3 differs from the generic SigV4 in two ways that matter here: the canonical URI
is not normalised (no dot-segment removal, no double encoding), and the payload
hash is whatever the client put in ``x-amz-content-sha256``, which may name a
streaming mode decoded by ``cumulo.auth.chunked``.

Everything here is pure: the caller supplies the clock, the secret and the
expected region, and looks up the access key between ``parse`` and ``verify``.

A signature scoped to ``us-east-1`` is accepted as well as one scoped to the server's
region: that is the region SDKs and CLIs sign for when given none (AWS's global
endpoint), and the one S3 conformance suites use. Every later signature of the
request (aws-chunked chunks, trailers) chains from the key of the scope the client
chose, which ``Verified`` carries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote_to_bytes

from cumulo.auth.errors import (
    AccessDenied,
    AuthError,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidArgument,
    InvalidRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_PAYLOAD_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_PAYLOAD_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_MODES = frozenset(
    {STREAMING_PAYLOAD, STREAMING_PAYLOAD_TRAILER, STREAMING_UNSIGNED_PAYLOAD_TRAILER}
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_PRESIGNED_EXPIRES = 604800  # one week, the AWS limit
DEFAULT_MAX_SKEW = 900  # seconds, the AWS limit
GLOBAL_REGION = "us-east-1"  # what clients sign for when they are given no region

_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_QUERY_AUTH_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_QUERY_REQUIRED = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
)
_CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_HEADER_PREFIX = "The authorization header is malformed; "
_QUERY_PREFIX = "Error parsing the X-Amz-Credential parameter; "


@dataclass(frozen=True, slots=True)
class Credential:
    """What a SigV4 request claims, before any secret is involved."""

    access_key: str
    date: str  # YYYYMMDD, from the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str  # YYYYMMDDTHHMMSSZ, the request time that was signed
    presigned: bool
    expires: int | None  # X-Amz-Expires, presigned URLs only
    payload_hash: str  # hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* mode

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


@dataclass(frozen=True, slots=True)
class Verified:
    """A request whose signature checked out; what a body decoder needs."""

    access_key: str
    signing_key: bytes = field(repr=False)
    seed_signature: str
    amz_date: str
    scope: str
    payload_hash: str
    presigned: bool

    @property
    def streaming(self) -> bool:
        """The body is ``aws-chunked`` (see ``cumulo.auth.chunked``)."""
        return self.payload_hash in STREAMING_MODES

    def payload_checker(self) -> PayloadHashChecker | None:
        """A checker for a body whose SHA-256 was signed, else None."""
        if _SHA256_HEX.fullmatch(self.payload_hash):
            return PayloadHashChecker(self.payload_hash)
        return None


class PayloadHashChecker:
    """Hashes a body as it streams by and compares it with x-amz-content-sha256."""

    def __init__(self, expected_hex: str) -> None:
        self.expected = expected_hex.lower()
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def finish(self) -> None:
        computed = self._hash.hexdigest()
        if not hmac.compare_digest(computed, self.expected):
            raise XAmzContentSHA256Mismatch(
                extra={
                    "ClientComputedContentSHA256": self.expected,
                    "S3ComputedContentSHA256": computed,
                }
            )


# --- parsing ----------------------------------------------------------------


def parse(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> Credential | None:
    """Parse the SigV4 signature of a request, or return None if it has none.

    ``query`` holds the decoded pairs in their original order; ``headers`` has
    lower-case names (repeated headers joined with ","). A request signed another
    way (SigV2) also gives None: see ``cumulo.auth.parse_request``.
    """
    del method, raw_path  # same shape as verify(); nothing to parse there
    authorization = headers.get("authorization")
    presigned = any(key in _QUERY_AUTH_PARAMS for key, _ in query)
    if presigned and authorization is not None:
        raise InvalidArgument(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
            "Signature query string parameter or the Authorization header should be specified",
            extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
        )
    if authorization is not None and authorization.split(" ", 1)[0] == ALGORITHM:
        return _parse_header(authorization, headers)
    if presigned:
        return _parse_query(query)
    return None


def _parse_header(authorization: str, headers: Mapping[str, str]) -> Credential:
    fields: dict[str, str] = {}
    for part in authorization[len(ALGORITHM) :].split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key in fields:
            raise AuthorizationHeaderMalformed(
                f"{_HEADER_PREFIX}the authorization component {part.strip()!r} is malformed."
            )
        fields[key] = value.strip()
    if not {"Credential", "SignedHeaders", "Signature"} <= fields.keys():
        raise AuthorizationHeaderMalformed(
            f"{_HEADER_PREFIX}the authorization header requires three components: "
            "Credential, SignedHeaders, and Signature."
        )
    access_key, date, region, service = _parse_scope(
        fields["Credential"], AuthorizationHeaderMalformed, _HEADER_PREFIX
    )
    signed = _parse_signed_headers(
        fields["SignedHeaders"], AuthorizationHeaderMalformed, _HEADER_PREFIX
    )
    payload_hash = headers.get("x-amz-content-sha256")
    if payload_hash is None:
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    _check_payload_hash(payload_hash)
    return Credential(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=fields["Signature"],
        amz_date=_header_amz_date(headers),
        presigned=False,
        expires=None,
        payload_hash=payload_hash,
    )


def _parse_query(query: Sequence[tuple[str, str]]) -> Credential:
    params: dict[str, str] = {}
    for key, value in query:
        if key.startswith("X-Amz-"):
            if key in params:
                raise AuthorizationQueryParametersError(f"{key} must be given only once.")
            params[key] = value
    if any(name not in params for name in _QUERY_REQUIRED):
        raise AuthorizationQueryParametersError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    if params["X-Amz-Algorithm"] != ALGORITHM:
        raise AuthorizationQueryParametersError(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    access_key, date, region, service = _parse_scope(
        params["X-Amz-Credential"], AuthorizationQueryParametersError, _QUERY_PREFIX
    )
    signed = _parse_signed_headers(
        params["X-Amz-SignedHeaders"], AuthorizationQueryParametersError, _QUERY_PREFIX
    )
    amz_date = params["X-Amz-Date"]
    if _parse_amz_date(amz_date) is None:
        raise AuthorizationQueryParametersError(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    raw_expires = params["X-Amz-Expires"]
    if not raw_expires.isascii() or not raw_expires.lstrip("-").isdigit():
        raise AuthorizationQueryParametersError("X-Amz-Expires should be a number")
    expires = int(raw_expires)
    if expires < 0:
        raise AuthorizationQueryParametersError("X-Amz-Expires must be non-negative")
    if expires == 0 or expires > MAX_PRESIGNED_EXPIRES:
        raise AuthorizationQueryParametersError(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
            if expires
            else "X-Amz-Expires must be at least 1 second"
        )
    payload_hash = params.get("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD)
    _check_payload_hash(payload_hash)
    if payload_hash in STREAMING_MODES:
        raise InvalidRequest("A presigned URL cannot carry an aws-chunked payload.")
    return Credential(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=params["X-Amz-Signature"],
        amz_date=amz_date,
        presigned=True,
        expires=expires,
        payload_hash=payload_hash,
    )


def _parse_scope(value: str, error: type[AuthError], prefix: str) -> tuple[str, str, str, str]:
    # The access key is everything before the last four parts: keys may hold "/".
    parts = value.split("/")
    if len(parts) < 5 or not all(parts):
        raise error(prefix + _CREDENTIAL_FORMAT)
    access_key = "/".join(parts[:-4])
    date, region, service, terminal = parts[-4:]
    if not (len(date) == 8 and date.isascii() and date.isdigit()):
        raise error(
            f'{prefix}incorrect date format "{date}". This date in the credential '
            'must be in the format "yyyyMMdd".'
        )
    if terminal != TERMINATOR:
        raise error(f'{prefix}incorrect terminal "{terminal}". This endpoint uses "{TERMINATOR}".')
    return access_key, date, region, service


def _parse_signed_headers(value: str, error: type[AuthError], prefix: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not value or not all(names) or any(name != name.strip().lower() for name in names):
        raise error(f"{prefix}the SignedHeaders {value!r} are malformed.")
    return names


def _check_payload_hash(value: str) -> None:
    if value == UNSIGNED_PAYLOAD or value in STREAMING_MODES or _SHA256_HEX.fullmatch(value):
        return
    raise InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER "
        "or a valid sha256 value.",
        extra={"ArgumentName": "x-amz-content-sha256", "ArgumentValue": value},
    )


def _header_amz_date(headers: Mapping[str, str]) -> str:
    # SigV4 allows the Date header instead of x-amz-date; the string to sign
    # always carries the ISO 8601 basic form.
    amz_date = headers.get("x-amz-date")
    if amz_date is not None and _parse_amz_date(amz_date) is not None:
        return amz_date
    if amz_date is None and "date" in headers:
        try:
            when = parsedate_to_datetime(headers["date"])
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")


def _parse_amz_date(value: str) -> datetime | None:
    if not _AMZ_DATE.fullmatch(value):
        return None
    # Sliced rather than strptime'd (2.2% of an S3 GET); datetime() still rejects
    # out-of-range fields (month 13, 30 February, second 60) as strptime did.
    try:
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


# --- verification -------------------------------------------------------------


def verify(
    cred: Credential,
    secret_key: str,
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    now: float,
    expected_region: str,
    max_skew: int = DEFAULT_MAX_SKEW,
    *,
    service: str = "s3",
    accept_global: bool = True,
) -> Verified:
    """Check a parsed request against the secret of its access key.

    ``raw_path`` is the path as sent on the request line (still percent-encoded);
    ``now`` is the server's clock in seconds since the epoch. Raises an
    ``AuthError`` unless the signature, its scope and its time are all right.
    The scope's region must be ``expected_region`` or, with ``accept_global``,
    ``us-east-1``; the signing key is derived from the scope's own region.
    Every ``x-amz-*`` header present must be signed, as AWS requires.
    """
    malformed: type[AuthError] = (
        AuthorizationQueryParametersError if cred.presigned else AuthorizationHeaderMalformed
    )
    prefix = _QUERY_PREFIX if cred.presigned else _HEADER_PREFIX
    if cred.service != service:
        raise malformed(
            f'{prefix}incorrect service "{cred.service}". This endpoint belongs to "{service}".'
        )
    if cred.region != expected_region and not (accept_global and cred.region == GLOBAL_REGION):
        raise malformed(
            f"{prefix}the region '{cred.region}' is wrong; expecting '{expected_region}'",
            extra={"Region": expected_region},
        )
    if cred.date != cred.amz_date[:8]:
        raise malformed(f"{prefix}Invalid credential date. Date is not the same as X-Amz-Date.")
    if "host" not in cred.signed_headers:
        raise malformed(f"{prefix}the SignedHeaders must include host.")
    _check_all_amz_headers_signed(cred, headers)
    _check_time(cred, now, max_skew)

    key = signing_key(secret_key, cred.date, cred.region, cred.service)
    canonical_query = canonical_query_string(query, presigned=cred.presigned)
    headers_block = canonical_headers(cred.signed_headers, headers)
    first: tuple[str, str] | None = None
    for uri in canonical_uri_candidates(raw_path):
        request = "\n".join(
            (
                method.upper(),
                uri,
                canonical_query,
                headers_block,
                ";".join(cred.signed_headers),
                cred.payload_hash,
            )
        )
        to_sign = string_to_sign(cred.amz_date, cred.scope, request)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.encode(), cred.signature.encode("utf-8", "replace")):
            return Verified(
                access_key=cred.access_key,
                signing_key=key,
                seed_signature=signature,
                amz_date=cred.amz_date,
                scope=cred.scope,
                payload_hash=cred.payload_hash,
                presigned=cred.presigned,
            )
        first = first or (request, to_sign)
    assert first is not None
    raise SignatureDoesNotMatch(
        extra={
            "AWSAccessKeyId": cred.access_key,
            "StringToSign": first[1],
            "SignatureProvided": cred.signature,
            "CanonicalRequest": first[0],
        }
    )


def _check_all_amz_headers_signed(cred: Credential, headers: Mapping[str, str]) -> None:
    # An unsigned x-amz-* header (x-amz-acl, x-amz-meta-*) could be added by
    # anyone holding a presigned URL or replaying a request.
    unsigned = sorted(
        name for name in headers if name.startswith("x-amz-") and name not in cred.signed_headers
    )
    if unsigned:
        raise AccessDenied(
            "There were headers present in the request which were not signed",
            extra={"HeadersNotSigned": ", ".join(unsigned)},
        )


def _check_time(cred: Credential, now: float, max_skew: int) -> None:
    when = _parse_amz_date(cred.amz_date)
    if when is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")
    signed_at = when.timestamp()
    server_time = _iso8601(now)
    if cred.presigned:
        assert cred.expires is not None
        if now > signed_at + cred.expires:
            raise AccessDenied(
                "Request has expired",
                extra={
                    "X-Amz-Expires": str(cred.expires),
                    "Expires": _iso8601(signed_at + cred.expires),
                    "ServerTime": server_time,
                },
            )
        if signed_at - now > max_skew:
            raise AccessDenied("Request is not valid yet", extra={"ServerTime": server_time})
    elif abs(now - signed_at) > max_skew:
        raise RequestTimeTooSkewed(
            extra={
                "RequestTime": cred.amz_date,
                "ServerTime": server_time,
                "MaxAllowedSkewMilliseconds": str(max_skew * 1000),
            }
        )


def _iso8601(timestamp: float) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- canonical forms ------------------------------------------------------------


def canonical_uri_candidates(raw_path: str) -> list[str]:
    """The canonical URIs a correct S3 client may have signed for this path.

    S3 signs the path without normalisation. botocore signs it exactly as sent;
    the AWS documentation signs the URI-encoding of the decoded path (its example
    sends ``/test$file.text`` and signs ``/test%24file.text``). Both denote the
    same key, so both are accepted; for spec-following clients they coincide.
    """
    path = raw_path or "/"
    encoded = quote(unquote_to_bytes(path), safe="/~")
    return [path] if encoded == path else [path, encoded]


def canonical_query_string(query: Sequence[tuple[str, str]], *, presigned: bool) -> str:
    """Sorted by encoded name then value, RFC 3986 unreserved characters kept.

    Values decoded with ``errors="surrogateescape"`` (bytes that are not UTF-8) are
    encoded back to the bytes the client sent and signed."""
    pairs = sorted(
        (
            quote(key, safe="-_.~", errors="surrogateescape"),
            quote(value, safe="-_.~", errors="surrogateescape"),
        )
        for key, value in query
        if not (presigned and key == "X-Amz-Signature")
    )
    return "&".join(f"{key}={value}" for key, value in pairs)


def canonical_headers(signed_headers: Sequence[str], headers: Mapping[str, str]) -> str:
    """``name:value\\n`` for each signed header, values trimmed, spaces collapsed.

    Repeated headers must have been joined with "," (no space) by the caller, as
    SigV4 joins them.
    """
    return "".join(f"{name}:{' '.join(headers.get(name, '').split())}\n" for name in signed_headers)


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


# --- signing keys ------------------------------------------------------------------


class _SigningKeyCache:
    """LRU of derived signing keys, keyed by a salted hash of the secret.

    The raw secret is never kept: only a keyed BLAKE2b of it, with a salt that
    lives as long as the process.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        self._maxsize = maxsize
        self._salt = secrets.token_bytes(32)
        self._keys: OrderedDict[tuple[bytes, str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, secret: str, date: str, region: str, service: str) -> bytes:
        fingerprint = hashlib.blake2b(secret.encode(), key=self._salt, digest_size=32).digest()
        cache_key = (fingerprint, date, region, service)
        with self._lock:
            key = self._keys.get(cache_key)
            if key is not None:
                self._keys.move_to_end(cache_key)
                return key
        key = derive_signing_key(secret, date, region, service)
        with self._lock:
            self._keys[cache_key] = key
            if len(self._keys) > self._maxsize:
                self._keys.popitem(last=False)
        return key

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()


_cache = _SigningKeyCache()


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """HMAC chain: AWS4+secret → date → region → service → aws4_request."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """``derive_signing_key`` through the process-wide LRU cache."""
    return _cache.get(secret, date, region, service)
