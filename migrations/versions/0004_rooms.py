"""Closed rooms: personal links, attendance, subscriber lists, invitation campaigns, senders.

Revision ID: 0004_rooms
Revises: 0003_commerce
Create Date: 2026-11-22 00:20:26.770670

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_rooms'
down_revision = '0003_commerce'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subscriber_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_subscriber_lists_organization_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriber_lists')),
    sa.UniqueConstraint('organization_id', 'name', name=op.f('uq_subscriber_lists_organization_id'))
    )
    with op.batch_alter_table('subscriber_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriber_lists_organization_id'), ['organization_id'], unique=False)

    op.create_table('subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=8), server_default='en', nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['subscriber_lists.id'], name=op.f('fk_subscribers_list_id_subscriber_lists')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscribers')),
    sa.UniqueConstraint('list_id', 'email', name=op.f('uq_subscribers_list_id'))
    )
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscribers_list_id'), ['list_id'], unique=False)

    op.create_table('invitation_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_invitation_campaigns_created_by_id_users')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_invitation_campaigns_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_campaigns'))
    )
    with op.batch_alter_table('invitation_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_campaigns_session_id'), ['session_id'], unique=False)

    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=True),
    sa.Column('campaign_id', sa.Integer(), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['invitation_campaigns.id'], name=op.f('fk_invitations_campaign_id_invitation_campaigns')),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_invitations_outbox_message_id_outbox_messages')),
    sa.ForeignKeyConstraint(['registration_id'], ['registrations.id'], name=op.f('fk_invitations_registration_id_registrations')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_invitations_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_invitations_session_created', ['session_id', 'created_at'], unique=False)

    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('via', sa.String(length=20), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_attendances_invitation_id_invitations')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_attendances_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances'))
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index('ix_attendances_session_joined', ['session_id', 'joined_at'], unique=False)

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_name', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('sender_email', sa.String(length=254), server_default='', nullable=False))
        batch_op.add_column(sa.Column('signature', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender', sa.String(length=300), nullable=True))

    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('room_password_hash', sa.String(length=255), nullable=True))



def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_column('room_password_hash')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('sender')

    with op.batch_alter_table('organizations', schema=None) as batch_op:
        batch_op.drop_column('signature')
        batch_op.drop_column('sender_email')
        batch_op.drop_column('sender_name')

    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index('ix_attendances_session_joined')

    op.drop_table('attendances')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_session_created')
        batch_op.drop_index(batch_op.f('ix_invitations_registration_id'))
        batch_op.drop_index(batch_op.f('ix_invitations_campaign_id'))

    op.drop_table('invitations')
    with op.batch_alter_table('invitation_campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_campaigns_session_id'))

    op.drop_table('invitation_campaigns')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscribers_list_id'))

    op.drop_table('subscribers')
    with op.batch_alter_table('subscriber_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriber_lists_organization_id'))

    op.drop_table('subscriber_lists')
