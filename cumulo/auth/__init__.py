"""S3 request authentication and body integrity, as pure functions.

- ``sigv4``: AWS Signature Version 4 (Authorization header and presigned URLs)
- ``sigv2``: AWS Signature Version 2 (header and query string)
- ``chunked``: the ``aws-chunked`` body encoding, signed or with trailers
- ``checksums``: Content-MD5 and the ``x-amz-checksum-*`` algorithms
- ``errors``: one exception class per S3 error code

No I/O happens here: the caller looks up secrets, supplies the clock, and feeds
bodies in. ``parse_request`` tells which signature, if any, a request carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cumulo.auth import sigv2, sigv4
from cumulo.auth.errors import InvalidArgument


def parse_request(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
) -> sigv4.Credential | sigv2.Credential | None:
    """The signature a request carries, or None for an anonymous request.

    An ``Authorization`` header of any other scheme is refused rather than
    treated as anonymous.
    """
    v4 = sigv4.parse(method, raw_path, query, headers)
    if v4 is not None:
        return v4
    v2 = sigv2.parse(method, raw_path, query, headers)
    if v2 is not None:
        return v2
    authorization = headers.get("authorization")
    if authorization is not None:
        raise InvalidArgument(
            "Unsupported Authorization Type",
            extra={"ArgumentName": "Authorization", "ArgumentValue": authorization},
        )
    return None
