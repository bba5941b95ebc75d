"""S3 error responses: one class per AWS error code, and the one mapping from the
services' protocol-neutral errors and the signing library's errors.

As in Swift's s3api: the code defaults to the class name; status and message are
class attributes; extra fields become XML elements; the request id is always there.
"""

from __future__ import annotations

from typing import Any

from cumulo import errors
from cumulo.auth.errors import AuthError


class S3Error(Exception):
    status = 500
    message = "We encountered an internal error. Please try again."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self._code = code
        if status is not None:
            self.status = status
        self.fields = {k: v for k, v in fields.items() if v is not None}

    @property
    def code(self) -> str:
        return self._code or type(self).__name__


class InternalError(S3Error):
    status = 500
    message = S3Error.message


class AccessDenied(S3Error):
    status = 403
    message = "Access Denied"


class BadDigest(S3Error):
    status = 400
    message = "The Content-MD5 you specified did not match what we received."


class BucketAlreadyOwnedByYou(S3Error):
    status = 409
    message = "Your previous request to create the named bucket succeeded and you already own it."


class BucketNotEmpty(S3Error):
    status = 409
    message = "The bucket you tried to delete is not empty"


class EntityTooLarge(S3Error):
    status = 400
    message = "Your proposed upload exceeds the maximum allowed object size."


class EntityTooSmall(S3Error):
    status = 400
    message = "Your proposed upload is smaller than the minimum allowed object size."


class IncompleteBody(S3Error):
    status = 400
    message = "You did not provide the number of bytes specified by the header."


class InvalidAccessKeyId(S3Error):
    status = 403
    message = "The AWS Access Key Id you provided does not exist in our records."


class InvalidArgument(S3Error):
    status = 400
    message = "Invalid Argument"


def unsafe_header(name: str) -> InvalidArgument:
    """A header value (or a response-* override) holding CR, LF, NUL or another control
    character; AWS's form for a value it cannot put in a header. The value itself is not
    echoed: XML 1.0 cannot carry those characters either."""
    return InvalidArgument(
        "Header value cannot contain control characters such as CR, LF or NUL.",
        ArgumentName=name,
    )


class InvalidBucketName(S3Error):
    status = 400
    message = "The specified bucket is not valid."


class InvalidDigest(S3Error):
    status = 400
    message = "The Content-MD5 you specified is not valid."


class InvalidURI(S3Error):
    status = 400
    message = "Couldn't parse the specified URI."


class InvalidPart(S3Error):
    status = 400
    message = (
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag."
    )


class InvalidPartOrder(S3Error):
    status = 400
    message = "The list of parts was not in ascending order. Parts must be ordered by part number."


class InvalidRange(S3Error):
    status = 416
    message = "The requested range is not satisfiable"


class InvalidRequest(S3Error):
    status = 400
    message = "Invalid Request"


class InvalidPartNumber(S3Error):
    status = 416
    message = "The requested partnumber is not satisfiable"


class KeyTooLongError(S3Error):
    status = 400
    message = "Your key is too long"


class IllegalLocationConstraintException(S3Error):
    status = 400
    message = (
        "The unspecified location constraint is incompatible for the region specific "
        "endpoint this request was sent to."
    )


class MalformedACLError(S3Error):
    status = 400
    message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MalformedXML(S3Error):
    status = 400
    message = (
        "The XML you provided was not well-formed or did not validate against our published schema"
    )


class MaxMessageLengthExceeded(S3Error):
    status = 400
    message = "Your request was too big."


class MethodNotAllowed(S3Error):
    status = 405
    message = "The specified method is not allowed against this resource."


class MissingSecurityHeader(S3Error):
    status = 400
    message = "Your request was missing a required header."


class MissingContentLength(S3Error):
    status = 411
    message = "You must provide the Content-Length HTTP header."


class NoSuchBucket(S3Error):
    status = 404
    message = "The specified bucket does not exist"


class NoSuchKey(S3Error):
    status = 404
    message = "The specified key does not exist."


class NoSuchUpload(S3Error):
    status = 404
    message = (
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed."
    )


class NoSuchVersion(S3Error):
    status = 404
    message = "The specified version does not exist."


class NotImplementedOp(S3Error):
    status = 501
    message = "A header or query you provided implies functionality that is not implemented."

    def __init__(self, message: str | None = None, **fields: Any) -> None:
        super().__init__(message, code="NotImplemented", **fields)


class NotModified(S3Error):
    status = 304
    message = "Not Modified"


class PreconditionFailed(S3Error):
    status = 412
    message = "At least one of the pre-conditions you specified did not hold"


class UnexpectedContent(S3Error):
    status = 400
    message = "This request does not support content."


class ServiceUnavailable(S3Error):
    # Not SlowDown: that one asks the client to lower its rate; this is our outage.
    status = 503
    message = "Service is unable to handle request."


class SignatureDoesNotMatch(S3Error):
    status = 403
    message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


class BrokenMPU(S3Error):
    # Swift's s3api answers a large object whose segments are gone with this (a Swift-ism).
    status = 409
    message = "Multipart upload has broken segment data."


# Domain errors, most specific first. Anything else is an InternalError.
_DOMAIN: list[tuple[type[errors.CumuloError], type[S3Error]]] = [
    (errors.NoSuchContainer, NoSuchBucket),
    (errors.NoSuchObject, NoSuchKey),
    (errors.NoSuchUpload, NoSuchUpload),
    (errors.BrokenLargeObject, BrokenMPU),
    (errors.StorageFault, InternalError),
    (errors.Unavailable, ServiceUnavailable),
    (errors.ContainerNotEmpty, BucketNotEmpty),
    (errors.InvalidPartOrder, InvalidPartOrder),
    (errors.InvalidPart, InvalidPart),
    (errors.EntityTooSmall, EntityTooSmall),
    (errors.EntityTooLarge, EntityTooLarge),
    (errors.BadDigest, BadDigest),
    (errors.IncompleteBody, IncompleteBody),
    (errors.InvalidName, KeyTooLongError),
    (errors.InvalidRange, InvalidRange),
    (errors.PreconditionFailed, PreconditionFailed),
    (errors.NotModified, NotModified),
    (errors.AccessDenied, AccessDenied),
    (errors.InvalidInput, InvalidArgument),
]


def from_auth(exc: AuthError) -> S3Error:
    return S3Error(exc.message, code=exc.code, status=exc.status, **exc.extra)


def from_domain(exc: errors.CumuloError) -> S3Error | None:
    for kind, s3 in _DOMAIN:
        if isinstance(exc, kind):
            if kind is errors.InvalidName and "bytes" not in exc.message:
                return InvalidArgument(exc.message)
            fields: dict[str, Any] = {_camel(k): v for k, v in exc.details.items()}
            generic = {errors.InvalidInput, errors.InvalidName}
            return s3(exc.message if kind in generic else None, **fields)
    return None


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
