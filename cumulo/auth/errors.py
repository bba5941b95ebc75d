"""S3 authentication and integrity errors, one class per S3 error code.

Modelled on Swift's s3api: the code defaults to the class name, the HTTP status
and the default message are class attributes, and ``extra`` holds the additional
elements AWS puts in the XML error body (``StringToSign``, ``RequestTime``...).

Unlike the protocol-neutral ``cumulo.errors``, these are S3 wire errors by
nature: everything in ``cumulo.auth`` implements an S3 specification, so the S3
front end can render them as they are. The lookup of an access key is left to
the caller, which raises ``InvalidAccessKeyId`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class AuthError(Exception):
    """Base of every error raised by ``cumulo.auth``."""

    code: ClassVar[str] = "AccessDenied"
    status: ClassVar[int] = 403
    default_message: ClassVar[str] = "Access Denied"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = cls.__name__

    def __init__(self, message: str | None = None, extra: Mapping[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.extra: dict[str, str] = dict(extra or {})
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, extra={self.extra!r})"


class AccessDenied(AuthError):
    status = 403
    default_message = "Access Denied"


class SignatureDoesNotMatch(AuthError):
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class InvalidAccessKeyId(AuthError):
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class RequestTimeTooSkewed(AuthError):
    status = 403
    default_message = "The difference between the request time and the current time is too large."


class AuthorizationHeaderMalformed(AuthError):
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(AuthError):
    status = 400
    default_message = "The authorization query parameters are malformed."


class MissingSecurityHeader(AuthError):
    status = 400
    default_message = "Your request was missing a required header."


class XAmzContentSHA256Mismatch(AuthError):
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidDigest(AuthError):
    status = 400
    default_message = "The Content-MD5 you specified was invalid."


class BadDigest(AuthError):
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class IncompleteBody(AuthError):
    status = 400
    default_message = (
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )


class MalformedTrailerError(AuthError):
    status = 400
    default_message = (
        "The request contained trailing data that was not well-formed "
        "or did not conform to our published schema."
    )


class InvalidRequest(AuthError):
    status = 400
    default_message = "Invalid Request"


class InvalidArgument(AuthError):
    status = 400
    default_message = "Invalid Argument"
