"""The metadata tables, as the application uses them.

Alembic migrations (`migrations/versions/`) create and evolve them; a test compares a
migrated database against this module, so the two cannot drift.

Object and container names compare byte-wise (SQLite's BINARY collation; "C" on
PostgreSQL) so listings come out in the byte order Swift and S3 clients expect.
Times are UNIX seconds as floats. JSON documents are stored as text.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import BigInteger, TypeEngine

metadata = MetaData()


def name_type(length: int) -> TypeEngine[str]:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


ID = String(32)

organizations = Table(
    "organizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

environments = Table(
    "environments",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "organization_id",
        ID,
        ForeignKey("organizations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", String(64), nullable=False),
    Column("project_id", ID, nullable=False, unique=True),
    Column("project_name", String(130), nullable=False, unique=True),
    # Next service-username number: monotonic, so a re-added member never gets
    # an old username back.
    Column("next_serial", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("organization_id", "name", name="uq_environments_org_name"),
)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("email", String(254)),
    Column("password_hash", Text),
    Column("is_admin", Boolean, nullable=False),
    Column("disabled", Boolean, nullable=False),
    # The object-storage secret (Swift/Keystone password and S3 secret key),
    # encrypted: S3 needs it back to check signatures.
    Column("secret_enc", Text, nullable=False),
    Column("secret_generation", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    # Portal language ("en", "es"); NULL follows the browser's Accept-Language.
    Column("language", String(8)),
)

memberships = Table(
    "memberships",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "environment_id",
        ID,
        ForeignKey("environments.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role", String(16), nullable=False),
    Column("username", String(160), nullable=False, unique=True),
    Column("access_key", String(40), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("user_id", "environment_id", name="uq_memberships_user_env"),
)

ec2_credentials = Table(
    "ec2_credentials",
    metadata,
    Column("access", String(40), primary_key=True),
    Column(
        "membership_id",
        ID,
        ForeignKey("memberships.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("secret_enc", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

revocations = Table(
    "revocations",
    metadata,
    Column("audit_id", String(32), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
)

accounts = Table(
    "accounts",
    metadata,
    Column("project_id", ID, primary_key=True),
    Column("metadata", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

containers = Table(
    "containers",
    metadata,
    Column("id", ID, primary_key=True),
    Column("project_id", ID, nullable=False),
    Column("name", name_type(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("metadata", Text, nullable=False),
    Column("object_count", BigInteger, nullable=False),
    Column("bytes_used", BigInteger, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_containers_project_name"),
)

objects = Table(
    "objects",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "container_id",
        ID,
        ForeignKey("containers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", name_type(1024), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("content_type", String(256), nullable=False),
    Column("last_modified", Float, nullable=False),
    Column("metadata", Text, nullable=False),
    # JSON list of [blob id, size]: the object's bytes, in order.
    Column("segments", Text, nullable=False),
    # A small object's bytes, held in the row instead of a blob (segments is then
    # empty): one commit makes bytes and row durable together.
    Column("data", LargeBinary),
    Column("delete_at", Float),
    Column("manifest_kind", String(8)),
    Column("manifest", Text),
    UniqueConstraint("container_id", "name", name="uq_objects_container_name"),
    Index("ix_objects_delete_at", "delete_at"),
)

# S3 multipart uploads in progress; their parts' blobs become the object's
# segments on completion.
uploads = Table(
    "uploads",
    metadata,
    Column("id", ID, primary_key=True),
    Column(
        "container_id",
        ID,
        ForeignKey("containers.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", name_type(1024), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("content_type", String(256), nullable=False),
    Column("metadata", Text, nullable=False),
    Column("checksum_algorithm", String(16)),
    Column("principal", String(160), nullable=False),
    Index("ix_uploads_container_name", "container_id", "name", "id"),
)

parts = Table(
    "parts",
    metadata,
    Column("upload_id", ID, ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),
    Column("blob", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("etag", String(64), nullable=False),
    Column("checksum", String(128)),
    Column("last_modified", Float, nullable=False),
)

# --- the portal (migration 0003) ----------------------------------------------

# Portal REST API keys: the secret is random and long, so a SHA-256 digest is enough.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("last_used_ip", String(64)),
    Column("revoked_at", Float),
    Index("ix_api_keys_user_id", "user_id"),
)

# Server-side portal sessions, keyed by the SHA-256 of the cookie's token, so signing
# out (or a password change, or disabling the user) ends them at once.
portal_sessions = Table(
    "portal_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_portal_sessions_user_id", "user_id"),
    Index("ix_portal_sessions_expires_at", "expires_at"),
)

# One-time set-password links, keyed by the SHA-256 of the link's token.
invitations = Table(
    "invitations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Index("ix_invitations_user_id", "user_id"),
)

# The activity log. No foreign keys: history outlives the users and environments
# it names, so it keeps their names as text.
activity = Table(
    "activity",
    metadata,
    Column("id", ID, primary_key=True),
    Column("at", Float, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("actor_id", ID),
    Column("subject_id", ID),
    Column("action", String(40), nullable=False),
    Column("target", String(300), nullable=False),
    Column("organization_id", ID),
    Column("ip", String(64), nullable=False),
    Index("ix_activity_at", "at"),
    Index("ix_activity_actor_id", "actor_id"),
    Index("ix_activity_subject_id", "subject_id"),
    Index("ix_activity_organization_id", "organization_id"),
)

# The cluster's own keys (token keys, secret-encryption keys), shared by every node on
# this database, each wrapped by the cluster key (`identity/keys.py`). `position` is
# Keystone's key number for token keys (0 staged, highest primary) and the order,
# newest highest, for secret keys.
cluster_keys = Table(
    "cluster_keys",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)

# One row (id 1): the MAC of a known value under the cluster key, which tells a node
# with the wrong key before it unwraps anything, and the generation of the key set,
# bumped by every change to it (a rotation), which processes poll once a second.
cluster = Table(
    "cluster",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("key_check", LargeBinary, nullable=False),
    Column("key_generation", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Failed logins, shared by every process and node on this database, so the allowed
# attempts do not multiply with workers. One fixed-window counter per throttle key
# (scope and name, `identity/service.py`): the first failure opens a window of
# `lockout_seconds`, which closes at `expires_at`; expired rows are swept on failures.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(96), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)
