"""Swift's error responses, and the one mapping from domain errors to them.

Bodies and statuses follow Swift's proxy (swob): an HTML snippet built from the status
title and explanation, unless the operation gives its own text (as Swift's 400s and
412s do). Anything not mapped here is an internal error that shows only the request id.
"""

from __future__ import annotations

from cumulo import errors

# Swift's RESPONSE_REASONS: status -> (title, explanation); the default body is built
# from them, so clients and scripts that match on it see Swift's exact text.
REASONS: dict[int, tuple[str, str]] = {
    200: ("OK", ""),
    201: ("Created", ""),
    202: ("Accepted", "The request is accepted for processing."),
    204: ("No Content", ""),
    206: ("Partial Content", ""),
    304: ("Not Modified", ""),
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either malformed "
        "or otherwise incorrect.",
    ),
    401: (
        "Unauthorized",
        "This server could not verify that you are authorized to access the document "
        "you requested.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Length Required."),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    500: (
        "Internal Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    503: (
        "Service Unavailable",
        "The server is currently unavailable. Please try again at a later time.",
    ),
}

HTML = "text/html; charset=UTF-8"
TEXT = "text/plain; charset=utf-8"


def status_line(status: int) -> str:
    """`404 Not Found`: the form bulk and SLO-delete summaries report statuses in."""
    return f"{status} {REASONS.get(status, ('Unknown', ''))[0]}"


def default_body(status: int) -> bytes:
    title, explanation = REASONS.get(status, ("", ""))
    if not explanation:
        return b""
    return f"<html><h1>{title}</h1><p>{explanation}</p></html>".encode()


class SwiftError(Exception):
    """A response the handler chose to give: a status, an optional text body, headers."""

    def __init__(
        self, status: int, body: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {body or ''}")
        self.status = status
        self.body = default_body(status) if body is None else body.encode()
        self.headers = dict(headers or {})
        self.headers.setdefault("Content-Type", HTML)


def to_swift(exc: errors.CumuloError) -> SwiftError | None:
    """The Swift response for a domain error; None when it is not meant for clients."""
    if isinstance(exc, errors.StorageFault):
        return SwiftError(500)
    if isinstance(exc, errors.Unavailable):
        return SwiftError(503)
    if isinstance(exc, errors.InvalidRange):
        size = exc.details.get("size")
        headers = {"Content-Range": f"bytes */{size}"} if size is not None else {}
        return SwiftError(416, headers=headers)
    if isinstance(exc, errors.NotModified):
        return SwiftError(304)
    if isinstance(exc, errors.PreconditionFailed):
        return SwiftError(412)
    if isinstance(exc, errors.BadDigest):
        return SwiftError(422)
    if isinstance(exc, errors.EntityTooLarge):
        return SwiftError(413, "Your request is too large.")
    if isinstance(exc, errors.InvalidInput):
        return SwiftError(400, exc.message)
    if isinstance(exc, errors.Unauthenticated | errors.TokenNotFound):
        return SwiftError(401)
    if isinstance(exc, errors.AccessDenied):
        return SwiftError(403)
    if isinstance(exc, errors.NotFound):
        return SwiftError(404)
    if isinstance(exc, errors.Conflict):
        return SwiftError(409)
    return None
