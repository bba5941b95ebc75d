"""The portal: API keys, sessions, invitations, the activity log, user language.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.String(32)


def _user_fk() -> sa.Column[str]:
    return sa.Column("user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(8)))
    op.create_table(
        "api_keys",
        sa.Column("id", ID, primary_key=True),
        _user_fk(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float),
        sa.Column("last_used_ip", sa.String(64)),
        sa.Column("revoked_at", sa.Float),
    )
    op.create_index("ix_api_keys_user_id", "api_keys", ["user_id"])
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        _user_fk(),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_portal_sessions_user_id", "portal_sessions", ["user_id"])
    op.create_index("ix_portal_sessions_expires_at", "portal_sessions", ["expires_at"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.String(64), primary_key=True),
        _user_fk(),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_invitations_user_id", "invitations", ["user_id"])
    op.create_table(
        "activity",
        sa.Column("id", ID, primary_key=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("actor_id", ID),
        sa.Column("subject_id", ID),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("organization_id", ID),
        sa.Column("ip", sa.String(64), nullable=False),
    )
    for column in ("at", "actor_id", "subject_id", "organization_id"):
        op.create_index(f"ix_activity_{column}", "activity", [column])


def downgrade() -> None:
    for table in ("activity", "invitations", "portal_sessions", "api_keys"):
        op.drop_table(table)
    op.drop_column("users", "language")
