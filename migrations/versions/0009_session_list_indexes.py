"""Indexes for paging through an organisation's or a host's sessions by start time

Revision ID: 0009_session_list_indexes
Revises: 0008_partners
Create Date: 2026-11-22 08:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009_session_list_indexes'
down_revision = '0008_partners'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_training_sessions_organization_starts', ['organization_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_training_sessions_host_starts', ['host_id', 'starts_at'], unique=False)
        # The new indexes lead with these columns, so they serve the old lookups too.
        batch_op.drop_index('ix_training_sessions_organization_id')
        batch_op.drop_index('ix_training_sessions_host_id')


def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_training_sessions_host_id', ['host_id'], unique=False)
        batch_op.create_index('ix_training_sessions_organization_id', ['organization_id'], unique=False)
        batch_op.drop_index('ix_training_sessions_host_starts')
        batch_op.drop_index('ix_training_sessions_organization_starts')
