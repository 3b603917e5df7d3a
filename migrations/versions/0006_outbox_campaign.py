"""Outbox messages know the invitation campaign they belong to.

Revision ID: 0006_outbox_campaign
Revises: 0005_pay_per_use
Create Date: 2026-11-22 01:24:52.788374

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_outbox_campaign'
down_revision = '0005_pay_per_use'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_messages_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_messages_campaign_id_invitation_campaigns'), 'invitation_campaigns', ['campaign_id'], ['id'])



def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_messages_campaign_id_invitation_campaigns'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_campaign_id'))
        batch_op.drop_column('campaign_id')

