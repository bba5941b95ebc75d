"""Plain records passed between the stores, the services and the front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"
    READ_ONLY = "read-only"

    @property
    def can_write(self) -> bool:
        return self is not Role.READ_ONLY

    @property
    def keystone_roles(self) -> list[str]:
        """Keystone's implied roles: admin ⊃ member ⊃ reader."""
        return {
            Role.ADMIN: ["admin", "member", "reader"],
            Role.MEMBER: ["member", "reader"],
            Role.READ_ONLY: ["reader"],
        }[self]


@dataclass(frozen=True)
class User:
    id: str
    login: str
    email: str | None
    is_admin: bool
    disabled: bool
    secret_generation: int
    created_at: float


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: float


@dataclass(frozen=True)
class Environment:
    id: str
    organization_id: str
    name: str
    project_id: str
    project_name: str
    created_at: float


@dataclass(frozen=True)
class Membership:
    """A user in an environment: its own service username and S3 access key."""

    id: str
    user_id: str
    environment_id: str
    role: Role
    username: str
    access_key: str
    created_at: float


@dataclass(frozen=True)
class Ec2Credential:
    access: str
    membership_id: str
    project_id: str
    secret: str
    created_at: float


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, once authenticated: one membership of one user."""

    user_id: str
    membership_id: str
    username: str
    project_id: str
    project_name: str
    role: Role
    secret_generation: int


@dataclass(frozen=True)
class Container:
    id: str
    project_id: str
    name: str
    created_at: float
    object_count: int
    bytes_used: int
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """A run of bytes of an object: held by one blob, or (a small object's only
    segment) inline in its metadata row, as `data`, with no blob."""

    blob: str
    size: int
    data: bytes | None = None


@dataclass(frozen=True)
class ObjectRecord:
    id: str
    container_id: str
    name: str
    size: int
    etag: str
    content_type: str
    last_modified: float
    metadata: dict[str, str]
    segments: tuple[Segment, ...]
    # Stored response headers beyond user metadata (content-disposition,
    # content-encoding, cache-control, expires), lowercase names.
    headers: dict[str, str] = field(default_factory=dict)
    # Verified integrity checksums by S3 algorithm name ("CRC32", "SHA256"...),
    # base64 as S3 shows them; for multipart objects the composite "...-N" form,
    # with each part's under "parts".
    checksums: dict[str, str] = field(default_factory=dict)
    delete_at: float | None = None
    # "slo" for a static large object manifest, "dlo" for a dynamic one (its
    # prefix in `manifest`), None for plain bytes.
    manifest_kind: str | None = None
    manifest: str | None = None

    @property
    def blobs(self) -> list[str]:
        """The blob ids holding its bytes (none for inline bytes)."""
        return [s.blob for s in self.segments if s.data is None]


@dataclass(frozen=True)
class Account:
    project_id: str
    metadata: dict[str, str]
    container_count: int
    object_count: int
    bytes_used: int
    created_at: float


@dataclass(frozen=True)
class Upload:
    """A multipart upload in progress."""

    id: str
    container_id: str
    name: str
    created_at: float
    content_type: str
    metadata: dict[str, str]
    headers: dict[str, str]
    checksum_algorithm: str | None
    principal: str


@dataclass(frozen=True)
class Part:
    number: int
    blob: str
    size: int
    etag: str
    checksum: str | None
    last_modified: float


@dataclass(frozen=True)
class ListEntry:
    """One row of a container listing: an object, or a common prefix ("subdir")."""

    name: str
    size: int = 0
    etag: str = ""
    content_type: str = ""
    last_modified: float = 0.0
    is_prefix: bool = False


# --- the portal ----------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    """A portal REST API key; its secret is shown once and kept only as a digest."""

    id: str
    user_id: str
    name: str
    created_at: float
    last_used_at: float | None
    last_used_ip: str | None
    revoked_at: float | None


@dataclass(frozen=True)
class ActivityEvent:
    id: str
    at: float
    actor: str
    actor_id: str | None
    subject_id: str | None
    action: str
    target: str
    organization_id: str | None
    ip: str
