"""Incremental decoder for ``Content-Encoding: aws-chunked`` request bodies.

Implements "Signature Calculations for the Authorization Header: Transferring
Payload in Multiple Chunks (Chunked Upload) (AWS Signature Version 4)" and its
companion "Signature calculations for trailing headers", for the three
``x-amz-content-sha256`` streaming modes::

    STREAMING-AWS4-HMAC-SHA256-PAYLOAD          size;chunk-signature=sig CRLF data CRLF ...
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER  same, then trailers and a trailer signature
    STREAMING-UNSIGNED-PAYLOAD-TRAILER          size CRLF data CRLF ... 0 CRLF trailers CRLF

The last is what botocore (``httpchecksum.AwsChunkedWrapper``) and the other AWS
SDKs send over HTTPS, with an ``x-amz-checksum-*`` trailer.

Memory is bounded: data passes straight through, and only one line (a chunk
header or a trailer, at most 4 KiB) is ever buffered. The bytes ``feed`` returns
are provisional: a chunk's signature is checked when its last byte arrives, and
the body is only sound once ``finish`` has returned.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from cumulo.auth.errors import (
    AccessDenied,
    AuthError,
    IncompleteBody,
    InvalidRequest,
    MalformedTrailerError,
    SignatureDoesNotMatch,
)
from cumulo.auth.sigv4 import (
    EMPTY_SHA256,
    STREAMING_PAYLOAD,
    STREAMING_PAYLOAD_TRAILER,
    STREAMING_UNSIGNED_PAYLOAD_TRAILER,
    Verified,
)

MAX_LINE = 4096
MAX_TRAILERS = 16
TRAILER_SIGNATURE = "x-amz-trailer-signature"

_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-f]{64})")

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


def parse_trailer_names(value: str | None) -> list[str]:
    """The lower-case names listed in an ``X-Amz-Trailer`` header."""
    if not value:
        return []
    return [name.strip().lower() for name in value.split(",") if name.strip()]


class ChunkedDecoder:
    """Decode an aws-chunked body fed in pieces of any size.

    ``verified`` is required for the signed modes: it carries the signing key and
    the seed signature that chains the chunk signatures. ``trailer_names`` comes
    from ``X-Amz-Trailer`` and ``decoded_length`` from
    ``X-Amz-Decoded-Content-Length``.
    """

    def __init__(
        self,
        verified: Verified | None,
        mode: str,
        trailer_names: Sequence[str] = (),
        decoded_length: int | None = None,
    ) -> None:
        if mode not in (
            STREAMING_PAYLOAD,
            STREAMING_PAYLOAD_TRAILER,
            STREAMING_UNSIGNED_PAYLOAD_TRAILER,
        ):
            raise InvalidRequest(f"Unsupported aws-chunked payload mode: {mode}")
        self._signed = mode != STREAMING_UNSIGNED_PAYLOAD_TRAILER
        if self._signed and verified is None:
            raise AccessDenied("Signed aws-chunked payloads need a signed request.")
        self._verified = verified
        self._trailer_allowed = mode != STREAMING_PAYLOAD
        self._declared = [name.lower() for name in trailer_names]
        self._decoded_length = decoded_length
        self._previous = verified.seed_signature if verified is not None else ""
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._total = 0
        self._trailers: dict[str, str] = {}
        self._trailer_signature: str | None = None
        self._error: AuthError | None = None

    @property
    def decoded_bytes(self) -> int:
        """Payload bytes announced so far by the chunk headers."""
        return self._total

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes) -> bytes:
        """Consume the next piece of the body; return the payload bytes it held."""
        if self._error is not None:
            raise self._error
        try:
            return self._feed(data)
        except AuthError as exc:
            self._error = exc
            raise

    def finish(self) -> dict[str, str]:
        """Declare the end of the body; return its trailers (name → value)."""
        if self._error is not None:
            raise self._error
        try:
            if self._state == _TRAILER and not self._line:
                # Tolerate a body that stops right after its trailers, without
                # the closing empty line.
                self._end_trailers()
            if self._state != _DONE:
                raise IncompleteBody("The request body terminated unexpectedly.")
            if self._decoded_length is not None and self._total != self._decoded_length:
                raise IncompleteBody(
                    "The decoded body is shorter than x-amz-decoded-content-length."
                )
        except AuthError as exc:
            self._error = exc
            raise
        return dict(self._trailers)

    # --- the state machine -----------------------------------------------------

    def _feed(self, data: bytes) -> bytes:
        view = memoryview(data)
        out: list[memoryview] = []
        pos, end = 0, len(data)
        while pos < end:
            if self._state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos : pos + take]
                if self._signed:
                    self._chunk_hash.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._end_chunk()
            elif self._state == _DATA_END:
                take = min(2 - len(self._line), end - pos)
                self._line += view[pos : pos + take]
                pos += take
                if len(self._line) == 2:
                    if self._line != b"\r\n":
                        raise InvalidRequest(
                            "Malformed aws-chunked body: chunk not followed by CRLF."
                        )
                    self._line.clear()
                    self._state = _HEADER
            elif self._state == _DONE:
                raise InvalidRequest("Malformed aws-chunked body: data after the final chunk.")
            else:
                newline = data.find(b"\n", pos)
                stop = end if newline < 0 else newline + 1
                self._line += view[pos:stop]
                pos = stop
                if len(self._line) > MAX_LINE:
                    raise InvalidRequest("Malformed aws-chunked body: line too long.")
                if newline >= 0:
                    line = bytes(self._line)
                    self._line.clear()
                    if self._state == _HEADER:
                        self._chunk_header(line)
                    else:
                        self._trailer_line(line)
        return b"".join(out)

    def _chunk_header(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise InvalidRequest("Malformed aws-chunked body: chunk header not ended by CRLF.")
        size_field, _, extension = line[:-2].partition(b";")
        if not _SIZE.fullmatch(size_field):
            raise InvalidRequest("Malformed aws-chunked body: bad chunk size.")
        size = int(size_field, 16)
        if self._signed:
            match = _SIGNATURE.fullmatch(extension)
            if match is None:
                raise InvalidRequest("Malformed aws-chunked body: missing chunk-signature.")
            self._chunk_signature = match.group(1).decode()
            self._chunk_hash = hashlib.sha256()
        self._total += size
        if self._decoded_length is not None and self._total > self._decoded_length:
            raise InvalidRequest("The body is longer than x-amz-decoded-content-length.")
        if size:
            self._remaining = size
            self._state = _DATA
        else:
            if self._signed:
                self._check_chunk_signature(EMPTY_SHA256)
            self._state = _TRAILER

    def _end_chunk(self) -> None:
        if self._signed:
            self._check_chunk_signature(self._chunk_hash.hexdigest())
        self._state = _DATA_END

    def _check_chunk_signature(self, data_hash: str) -> None:
        verified = self._verified
        assert verified is not None
        to_sign = (
            f"AWS4-HMAC-SHA256-PAYLOAD\n{verified.amz_date}\n{verified.scope}\n"
            f"{self._previous}\n{EMPTY_SHA256}\n{data_hash}"
        )
        self._previous = self._check(to_sign, self._chunk_signature)

    def _check(self, to_sign: str, provided: str) -> str:
        verified = self._verified
        assert verified is not None
        expected = hmac.new(verified.signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), provided.encode()):
            raise SignatureDoesNotMatch(
                extra={"StringToSign": to_sign, "SignatureProvided": provided}
            )
        return expected

    def _trailer_line(self, line: bytes) -> None:
        text = line.rstrip(b"\n").removesuffix(b"\r")
        if not text:
            self._end_trailers()
            return
        if self._trailer_signature is not None:
            raise MalformedTrailerError("Trailing data after x-amz-trailer-signature.")
        name_bytes, sep, value_bytes = text.partition(b":")
        if not sep:
            raise MalformedTrailerError()
        try:
            name = name_bytes.decode("ascii").strip().lower()
            value = value_bytes.decode().strip()
        except UnicodeDecodeError:
            raise MalformedTrailerError() from None
        if name == TRAILER_SIGNATURE and self._signed and self._trailer_allowed:
            self._trailer_signature = value
            return
        if not self._trailer_allowed or name not in self._declared:
            raise MalformedTrailerError(
                f"The trailing header {name} was not declared in x-amz-trailer."
            )
        if name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise MalformedTrailerError(f"The trailing header {name} was repeated.")
        self._trailers[name] = value

    def _end_trailers(self) -> None:
        missing = [name for name in self._declared if name not in self._trailers]
        if self._trailer_allowed and missing:
            raise MalformedTrailerError(
                f"The trailing header {missing[0]} was declared in x-amz-trailer but not sent."
            )
        if self._signed and self._trailer_allowed:
            if self._trailer_signature is None:
                raise MalformedTrailerError("Missing x-amz-trailer-signature.")
            verified = self._verified
            assert verified is not None
            canonical = "".join(f"{name}:{value}\n" for name, value in self._trailers.items())
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            to_sign = (
                f"AWS4-HMAC-SHA256-TRAILER\n{verified.amz_date}\n{verified.scope}\n"
                f"{self._previous}\n{digest}"
            )
            self._previous = self._check(to_sign, self._trailer_signature)
        self._state = _DONE
