"""S3 multipart uploads and their parts.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name = sa.String(1024).with_variant(sa.String(1024, collation="C"), "postgresql")
    op.create_table(
        "uploads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "container_id",
            sa.String(32),
            sa.ForeignKey("containers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", name, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("content_type", sa.String(256), nullable=False),
        sa.Column("metadata", sa.Text, nullable=False),
        sa.Column("checksum_algorithm", sa.String(16)),
        sa.Column("principal", sa.String(160), nullable=False),
    )
    op.create_index("ix_uploads_container_name", "uploads", ["container_id", "name", "id"])
    op.create_table(
        "parts",
        sa.Column(
            "upload_id",
            sa.String(32),
            sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("blob", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("checksum", sa.String(128)),
        sa.Column("last_modified", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("parts")
    op.drop_table("uploads")
