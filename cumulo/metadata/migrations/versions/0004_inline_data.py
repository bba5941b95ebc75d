"""Small objects' bytes inline in their row.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("objects", sa.Column("data", sa.LargeBinary))


def downgrade() -> None:
    op.drop_column("objects", "data")
