"""Protocol-neutral errors raised by the services and stores.

They carry no HTTP status: each front end (Keystone, Swift, S3, portal) maps them
to its own wire form in one place. Anything not mapped there is an internal error
that shows the client only the request id.
"""

from __future__ import annotations


class CumuloError(Exception):
    """Base of every error a service may raise on purpose."""

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__doc__ or self.__class__.__name__)
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.details = details


# --- input -----------------------------------------------------------------


class InvalidInput(CumuloError):
    """The request is malformed."""


class InvalidName(InvalidInput):
    """The name is not acceptable."""


class EntityTooLarge(InvalidInput):
    """The entity is larger than allowed."""


class EntityTooSmall(InvalidInput):
    """A part is smaller than the minimum allowed."""


class InvalidPart(InvalidInput):
    """A listed part was not uploaded, or its ETag does not match."""


class InvalidPartOrder(InvalidInput):
    """The parts are not listed in ascending order."""


class BadDigest(InvalidInput):
    """The body does not match the digest the client sent."""


class IncompleteBody(InvalidInput):
    """The body ended before its declared length."""


class InvalidRange(CumuloError):
    """The requested range cannot be satisfied."""


class PreconditionFailed(CumuloError):
    """A precondition given in the request was not met."""


class NotModified(CumuloError):
    """The object was not modified since the given time or ETag."""


# --- identity --------------------------------------------------------------


class Unauthenticated(CumuloError):
    """The credentials could not be verified."""


class TooManyAttempts(Unauthenticated):
    """Too many failed attempts; try again later."""


class AccessDenied(CumuloError):
    """The credentials do not allow this operation."""


class NotFound(CumuloError):
    """The entity does not exist."""


class Conflict(CumuloError):
    """The entity exists already or is in a conflicting state."""


class OrganizationNotFound(NotFound):
    """No such organization."""


class EnvironmentNotFound(NotFound):
    """No such environment."""


class UserNotFound(NotFound):
    """No such user."""


class MembershipNotFound(NotFound):
    """The user is not a member of this environment."""


class CredentialNotFound(NotFound):
    """No such credential."""


class TokenNotFound(NotFound):
    """The token is invalid, expired or revoked."""


# --- objects ---------------------------------------------------------------


class NoSuchContainer(NotFound):
    """The container does not exist."""


class NoSuchObject(NotFound):
    """The object does not exist."""


class NoSuchUpload(NotFound):
    """The multipart upload does not exist."""


class ContainerNotEmpty(Conflict):
    """The container is not empty."""


class ContainerExists(Conflict):
    """The container exists already."""


class BrokenLargeObject(Conflict):
    """A large object's segments are missing or nest too deep."""


# --- the server's own faults -----------------------------------------------


class StorageFault(CumuloError):
    """An object's stored bytes could not be read.

    Not the client's doing: front ends answer 500 with their own error body and log
    the message (which names the blob) with the request, without a traceback."""


class ObjectChanged(StorageFault):
    """The object was replaced or deleted while its bytes were being opened."""


class BlobMissing(StorageFault):
    """An object's blob is not in the blob store."""

    def __init__(self, blob: str) -> None:
        super().__init__(f"blob {blob} is missing")
        self.blob = blob  # an attribute, not a detail: details reach error bodies


# The metadata database cannot be reached. Not the client's doing and not a bug:
# front ends answer 503 with their own error body; the store has logged the cause
# already (one rate-limited line). The docstring is the message clients see.
class Unavailable(CumuloError):
    """The service is unavailable for a moment; try again shortly."""


# --- deployment ------------------------------------------------------------


class DataDirMissing(CumuloError):
    """The node's data dir (and the keys in it) is not there."""


class ClusterKeyMissing(DataDirMissing):
    """The cluster key (which unwraps the shared token and secret keys) is not at hand."""


class ClusterKeyInvalid(CumuloError):
    """The cluster key file does not hold a usable key."""


class ClusterKeyMismatch(CumuloError):
    """The cluster key is not the one the metadata database was set up with."""


class ClusterNotSetUp(CumuloError):
    """The metadata database holds no keys yet: `cumulo serve` sets them up."""
