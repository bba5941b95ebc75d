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
