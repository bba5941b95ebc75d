"""Object integrity checksums, as in S3's "Checking object integrity".

Algorithms are named as S3 names them (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
and values are the base64 of the big-endian digest, as in the
``x-amz-checksum-*`` headers. CRC32 comes from zlib, CRC32C and CRC64NVME from
``awscrt`` (the AWS Common Runtime, as botocore uses), SHA from hashlib.

``ChecksumSet`` checks a request body against the ``Content-MD5`` and
``x-amz-checksum-*`` values a client sent in its headers or its trailers, and
always computes the MD5 that becomes the ETag. Multipart objects get the
"composite" form (a checksum of the part checksums, suffixed ``-N``) or, for the
CRCs, the "full object" form by combining the part CRCs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

from cumulo.auth.errors import BadDigest, InvalidDigest, InvalidRequest

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
HEADER_PREFIX = "x-amz-checksum-"
# x-amz-checksum-* headers that carry no checksum value.
_NOT_VALUES = frozenset({"x-amz-checksum-type", "x-amz-checksum-mode", "x-amz-checksum-algorithm"})


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    """A running CRC with the hashlib interface."""

    def __init__(self, function: Callable[[bytes, int], int], size: int) -> None:
        self._function = function
        self._size = size
        self._value = 0

    def update(self, data: bytes, /) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")


@cache
def _crt() -> Any:
    """awscrt (CRC32C, CRC64NVME, CRC combination), imported on first use: its native
    library costs every worker ~6 MiB of RSS, and most requests never need it."""
    from awscrt import checksums  # type: ignore[import-untyped]

    return checksums


def _crc32(data: bytes, previous: int) -> int:
    return zlib.crc32(data, previous)


def _crc32c(data: bytes, previous: int) -> int:
    return int(_crt().crc32c(data, previous))


def _crc64nvme(data: bytes, previous: int) -> int:
    return int(_crt().crc64nvme(data, previous))


_DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
_COMBINE: dict[str, Callable[[int, int, int], int]] = {
    "CRC32": lambda a, b, n: int(_crt().combine_crc32(a, b, n)),
    "CRC32C": lambda a, b, n: int(_crt().combine_crc32c(a, b, n)),
    "CRC64NVME": lambda a, b, n: int(_crt().combine_crc64nvme(a, b, n)),
}


def normalize_algorithm(name: str) -> str:
    """The S3 spelling of an algorithm name, or InvalidRequest."""
    algorithm = name.strip().upper()
    if algorithm not in _DIGEST_SIZES:
        raise InvalidRequest(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(ALGORITHMS)}]"
        )
    return algorithm


def new_hasher(algorithm: str) -> Hasher:
    algorithm = normalize_algorithm(algorithm)
    if algorithm == "CRC32":
        return _Crc(_crc32, 4)
    if algorithm == "CRC32C":
        return _Crc(_crc32c, 4)
    if algorithm == "CRC64NVME":
        return _Crc(_crc64nvme, 8)
    return hashlib.new(algorithm.lower())


def checksum(algorithm: str, data: bytes) -> str:
    """The base64 checksum of ``data``, as S3 returns it."""
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return base64.b64encode(hasher.digest()).decode()


def header_name(algorithm: str) -> str:
    """``x-amz-checksum-crc32`` for CRC32, and so on."""
    return HEADER_PREFIX + normalize_algorithm(algorithm).lower()


def decode_checksum(algorithm: str, value: str) -> bytes | None:
    """The raw digest of a base64 checksum value, or None if it is malformed."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == _DIGEST_SIZES[normalize_algorithm(algorithm)] else None


def composite_checksum(algorithm: str, part_checksums_b64: Sequence[str]) -> str:
    """S3's multipart "composite" checksum: ``b64(H(d1 || d2 || ...))-N``."""
    hasher = new_hasher(algorithm)
    for value in part_checksums_b64:
        raw = decode_checksum(algorithm, value)
        if raw is None:
            raise InvalidRequest(f"Invalid {normalize_algorithm(algorithm)} part checksum.")
        hasher.update(raw)
    digest = base64.b64encode(hasher.digest()).decode()
    return f"{digest}-{len(part_checksums_b64)}"


def combine_crc(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """The "full object" CRC of concatenated parts, from (checksum, length) pairs."""
    algorithm = normalize_algorithm(algorithm)
    combine = _COMBINE.get(algorithm)
    if combine is None:
        raise InvalidRequest(f"{algorithm} cannot be combined into a full-object checksum.")
    size = _DIGEST_SIZES[algorithm]
    total = 0
    for index, (value, length) in enumerate(parts):
        raw = decode_checksum(algorithm, value)
        if raw is None:
            raise InvalidRequest(f"Invalid {algorithm} part checksum.")
        crc = int.from_bytes(raw, "big")
        total = crc if index == 0 else combine(total, crc, length)
    return base64.b64encode(total.to_bytes(size, "big")).decode()


# --- request bodies ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifiedChecksums:
    """The digests of a body that matched everything the client claimed."""

    md5_hex: str  # for the ETag
    checksums: dict[str, str] = field(default_factory=dict)  # algorithm → base64

    @property
    def md5_b64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.md5_hex)).decode()


class ChecksumSet:
    """Compute, over a streamed body, every digest its request asks to check.

    ``headers`` have lower-case names; ``trailer_names`` are those of
    ``X-Amz-Trailer`` (see ``chunked.parse_trailer_names``). Malformed or
    conflicting headers raise at construction, before any body is read.
    ``default_algorithm``, if given, is computed when the client sent no
    checksum (S3 stores a CRC64NVME for every new object).
    """

    def __init__(
        self,
        headers: Mapping[str, str],
        trailer_names: Sequence[str] = (),
        *,
        default_algorithm: str | None = None,
        md5: bool = True,
    ) -> None:
        # md5=False: the caller computes the body's MD5 anyway (for the ETag) and
        # checks Content-MD5 itself against `content_md5_hex`; hashing twice costs.
        self._md5 = hashlib.md5(usedforsecurity=False) if md5 else None
        self._content_md5 = _parse_content_md5(headers.get("content-md5"))
        self.algorithm: str | None = None
        self.in_trailer = False
        self._expected: bytes | None = None
        self._claimed = ""

        found = [(name, False) for name in headers if _is_value_header(name)]
        found += [(name.lower(), True) for name in trailer_names if _is_value_header(name.lower())]
        if len(found) > 1:
            raise InvalidRequest(
                "Expecting a single x-amz-checksum- header. "
                "Multiple checksum Types are not allowed."
            )
        if found:
            name, self.in_trailer = found[0]
            self.algorithm = normalize_algorithm(name.removeprefix(HEADER_PREFIX))
            if not self.in_trailer:
                self._claimed = headers[name]
                self._expected = decode_checksum(self.algorithm, self._claimed)
                if self._expected is None:
                    raise InvalidRequest(f"Value for {name} header is invalid.")

        sdk_algorithm = headers.get("x-amz-sdk-checksum-algorithm")
        if sdk_algorithm is not None:
            if self.algorithm is None:
                raise InvalidRequest(
                    "x-amz-sdk-checksum-algorithm specified, but no corresponding "
                    "x-amz-checksum-* or x-amz-trailer headers were found."
                )
            if normalize_algorithm(sdk_algorithm) != self.algorithm:
                raise InvalidRequest("Value for x-amz-sdk-checksum-algorithm header is invalid.")

        computed = self.algorithm or (default_algorithm and normalize_algorithm(default_algorithm))
        self._hasher: Hasher | None = new_hasher(computed) if computed else None
        self._computed_algorithm = computed or None

    @property
    def content_md5_hex(self) -> str | None:
        """The Content-MD5 the client declared (validated), as hex."""
        return None if self._content_md5 is None else self._content_md5.hex()

    def update(self, data: bytes) -> None:
        if self._md5 is not None:
            self._md5.update(data)
        if self._hasher is not None:
            self._hasher.update(data)

    def finish(self, trailers: Mapping[str, str] | None = None) -> VerifiedChecksums:
        """Compare what was computed with what was claimed; BadDigest if they differ."""
        md5 = self._md5.digest() if self._md5 is not None else b""
        if (
            self._md5 is not None
            and self._content_md5 is not None
            and not hmac.compare_digest(md5, self._content_md5)
        ):
            raise BadDigest(extra={"ExpectedDigest": self._content_md5.hex()})
        result: dict[str, str] = {}
        if self._hasher is not None and self._computed_algorithm is not None:
            algorithm = self._computed_algorithm
            digest = self._hasher.digest()
            expected = self._expected
            if self.in_trailer:
                name = HEADER_PREFIX + algorithm.lower()
                value = (trailers or {}).get(name)
                if value is None:
                    raise InvalidRequest(f"The trailing header {name} was declared but not sent.")
                expected = decode_checksum(algorithm, value)
                if expected is None:
                    raise InvalidRequest(f"Value for {name} trailing header is invalid.")
            if expected is not None and not hmac.compare_digest(digest, expected):
                raise BadDigest(
                    f"The {algorithm} you specified did not match the calculated checksum."
                )
            result[algorithm] = base64.b64encode(digest).decode()
        return VerifiedChecksums(md5_hex=md5.hex(), checksums=result)


def _is_value_header(name: str) -> bool:
    return name.startswith(HEADER_PREFIX) and name not in _NOT_VALUES


def _parse_content_md5(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidDigest() from None
    if len(raw) != 16:
        raise InvalidDigest()
    return raw
