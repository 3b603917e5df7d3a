"""Pay-per-use: rates, estimated session costs, usage corrections.

Revision ID: 0005_pay_per_use
Revises: 0004_rooms
Create Date: 2026-11-22 00:41:25.487474

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_pay_per_use'
down_revision = '0004_rooms'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('session_costs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('computers', sa.Integer(), nullable=False),
    sa.Column('teleconference_computers', sa.Integer(), nullable=False),
    sa.Column('person_rate', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('teleconference_rate', sa.Numeric(precision=12, scale=4), nullable=False),
    sa.Column('minimum_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('already_paid_minor', sa.Integer(), server_default='0', nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), server_default='open', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actual_person_minutes', sa.Integer(), nullable=True),
    sa.Column('actual_teleconference_minutes', sa.Integer(), nullable=True),
    sa.Column('actual_total_minor', sa.Integer(), nullable=True),
    sa.Column('settlement', sa.String(length=10), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'paid', 'settled')", name=op.f('ck_session_costs_state')),
    sa.CheckConstraint('duration_min > 0 AND computers >= 0 AND teleconference_computers >= 0', name=op.f('ck_session_costs_counts')),
    sa.CheckConstraint('total_minor >= 0', name=op.f('ck_session_costs_total_not_negative')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_session_costs_department_id_departments')),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_session_costs_host_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_session_costs_order_id_orders')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_session_costs_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_costs')),
    sa.UniqueConstraint('order_id', name=op.f('uq_session_costs_order_id'))
    )
    with op.batch_alter_table('session_costs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_costs_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_costs_host_id'), ['host_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_costs_session_id'), ['session_id'], unique=False)

    op.create_table('usage_corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cost_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('person_minutes', sa.Integer(), nullable=False),
    sa.Column('teleconference_minutes', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cost_id'], ['session_costs.id'], name=op.f('fk_usage_corrections_cost_id_session_costs')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_usage_corrections_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_corrections'))
    )
    with op.batch_alter_table('usage_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_corrections_cost_id'), ['cost_id'], unique=False)

    with op.batch_alter_table('commerce_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person_minute_rate', sa.Numeric(precision=12, scale=4), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('teleconference_minute_rate', sa.Numeric(precision=12, scale=4), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('minimum_charge_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('settlement_mode', sa.String(length=10), server_default='refund', nullable=False))



def downgrade():
    with op.batch_alter_table('commerce_settings', schema=None) as batch_op:
        batch_op.drop_column('settlement_mode')
        batch_op.drop_column('minimum_charge_minor')
        batch_op.drop_column('teleconference_minute_rate')
        batch_op.drop_column('person_minute_rate')

    with op.batch_alter_table('usage_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_corrections_cost_id'))

    op.drop_table('usage_corrections')
    with op.batch_alter_table('session_costs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_costs_session_id'))
        batch_op.drop_index(batch_op.f('ix_session_costs_host_id'))
        batch_op.drop_index(batch_op.f('ix_session_costs_department_id'))

    op.drop_table('session_costs')
