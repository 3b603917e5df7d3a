"""Mail outbox and training sessions.

Revision ID: 0002_outbox_and_sessions
Revises: 0001_accounts
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_outbox_and_sessions"
down_revision = "0001_accounts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("template", sa.String(length=80), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="queued", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('queued', 'sent', 'failed')", name=op.f("ck_outbox_messages_state")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    op.create_index(
        "ix_outbox_messages_due", "outbox_messages", ["state", "next_attempt_at"], unique=False
    )
    op.create_table(
        "training_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("host_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("fee_minor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=20), server_default="scheduled", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('draft', 'awaiting_payment', 'scheduled', 'live', 'ended', 'canceled')",
            name=op.f("ck_training_sessions_state"),
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_training_sessions_capacity_positive")),
        sa.CheckConstraint("duration_min > 0", name=op.f("ck_training_sessions_duration_positive")),
        sa.CheckConstraint("fee_minor >= 0", name=op.f("ck_training_sessions_fee_not_negative")),
        sa.ForeignKeyConstraint(
            ["host_id"], ["users.id"], name=op.f("fk_training_sessions_host_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_training_sessions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_sessions")),
        sa.UniqueConstraint("slug", name=op.f("uq_training_sessions_slug")),
    )
    op.create_index(
        op.f("ix_training_sessions_host_id"), "training_sessions", ["host_id"], unique=False
    )
    op.create_index(
        op.f("ix_training_sessions_organization_id"),
        "training_sessions",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_training_sessions_starts_at"), "training_sessions", ["starts_at"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_training_sessions_starts_at"), table_name="training_sessions")
    op.drop_index(op.f("ix_training_sessions_organization_id"), table_name="training_sessions")
    op.drop_index(op.f("ix_training_sessions_host_id"), table_name="training_sessions")
    op.drop_table("training_sessions")
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.drop_table("outbox_messages")
