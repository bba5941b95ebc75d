"""Initial schema: identity (organizations, environments, users, memberships,
EC2 credentials, revocations) and objects (accounts, containers, objects).

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _name(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "environments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "organization_id",
            sa.String(32),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("project_id", sa.String(32), nullable=False, unique=True),
        sa.Column("project_name", sa.String(130), nullable=False, unique=True),
        sa.Column("next_serial", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("organization_id", "name", name="uq_environments_org_name"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("login", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(254)),
        sa.Column("password_hash", sa.Text),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("secret_generation", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "user_id",
            sa.String(32),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "environment_id",
            sa.String(32),
            sa.ForeignKey("environments.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("username", sa.String(160), nullable=False, unique=True),
        sa.Column("access_key", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("user_id", "environment_id", name="uq_memberships_user_env"),
    )
    op.create_table(
        "ec2_credentials",
        sa.Column("access", sa.String(40), primary_key=True),
        sa.Column(
            "membership_id",
            sa.String(32),
            sa.ForeignKey("memberships.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("secret_enc", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_ec2_credentials_membership_id", "ec2_credentials", ["membership_id"])
    op.create_table(
        "revocations",
        sa.Column("audit_id", sa.String(32), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_revocations_expires_at", "revocations", ["expires_at"])
    op.create_table(
        "accounts",
        sa.Column("project_id", sa.String(32), primary_key=True),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "containers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("name", _name(256), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("object_count", sa.BigInteger, nullable=False),
        sa.Column("bytes_used", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_containers_project_name"),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "container_id",
            sa.String(32),
            sa.ForeignKey("containers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", _name(1024), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(256), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("segments", sa.Text, nullable=False),
        sa.Column("delete_at", sa.Float),
        sa.Column("manifest_kind", sa.String(8)),
        sa.Column("manifest", sa.Text),
        sa.UniqueConstraint("container_id", "name", name="uq_objects_container_name"),
    )
    op.create_index("ix_objects_delete_at", "objects", ["delete_at"])


def downgrade() -> None:
    for table in (
        "objects",
        "containers",
        "accounts",
        "revocations",
        "ec2_credentials",
        "memberships",
        "users",
        "environments",
        "organizations",
    ):
        op.drop_table(table)
