"""E-commerce: settings, orders, payments, refunds, registrations, coupons.

Revision ID: 0003_commerce
Revises: 0002_outbox_and_sessions
Create Date: 2026-11-21 23:48:51.538344

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_commerce'
down_revision = '0002_outbox_and_sessions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('commerce_settings',
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('fee_based', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('pay_per_use', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('coupons', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('paypal_enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('bank_transfer_enabled', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('paypal_base_url', sa.String(length=200), server_default='', nullable=False),
    sa.Column('paypal_client_id', sa.String(length=200), server_default='', nullable=False),
    sa.Column('paypal_client_secret', sa.String(length=200), server_default='', nullable=False),
    sa.Column('paypal_webhook_id', sa.String(length=100), server_default='', nullable=False),
    sa.Column('bank_transfer_details', sa.Text(), server_default='', nullable=False),
    sa.Column('hold_minutes', sa.Integer(), server_default='15', nullable=False),
    sa.CheckConstraint('hold_minutes BETWEEN 1 AND 1440', name=op.f('ck_commerce_settings_hold_minutes')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_commerce_settings_organization_id_organizations')),
    sa.PrimaryKeyConstraint('organization_id', name=op.f('pk_commerce_settings'))
    )
    op.create_table('coupons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('used_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'percent' AND value BETWEEN 1 AND 100) OR (kind = 'fixed' AND value > 0) OR (kind = 'free' AND value = 0)", name=op.f('ck_coupons_value_fits_kind')),
    sa.CheckConstraint("kind IN ('percent', 'fixed', 'free')", name=op.f('ck_coupons_kind')),
    sa.CheckConstraint('used_count >= 0 AND (max_uses IS NULL OR used_count <= max_uses)', name=op.f('ck_coupons_uses_within_limit')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_coupons_organization_id_organizations')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_coupons_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('organization_id', 'code', name=op.f('uq_coupons_organization_id'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupons_organization_id'), ['organization_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('subtotal_minor', sa.Integer(), nullable=False),
    sa.Column('discount_minor', sa.Integer(), server_default='0', nullable=False),
    sa.Column('tax_minor', sa.Integer(), server_default='0', nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('refunded_minor', sa.Integer(), server_default='0', nullable=False),
    sa.Column('coupon_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('registration', 'pay_per_use', 'subscription', 'partner')", name=op.f('ck_orders_purpose')),
    sa.CheckConstraint("state IN ('pending', 'paid', 'partially_refunded', 'refunded', 'expired', 'canceled', 'review')", name=op.f('ck_orders_state')),
    sa.CheckConstraint('refunded_minor >= 0 AND refunded_minor <= total_minor', name=op.f('ck_orders_refund_within_total')),
    sa.CheckConstraint('subtotal_minor >= 0 AND discount_minor >= 0 AND tax_minor >= 0 AND discount_minor <= subtotal_minor', name=op.f('ck_orders_amounts_not_negative')),
    sa.CheckConstraint('total_minor = subtotal_minor - discount_minor + tax_minor', name=op.f('ck_orders_total_adds_up')),
    sa.ForeignKeyConstraint(['coupon_id'], ['coupons.id'], name=op.f('fk_orders_coupon_id_coupons')),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_orders_organization_id_organizations')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_orders_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('code', name=op.f('uq_orders_code'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_coupon_id'), ['coupon_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_state'), ['state'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0 AND unit_price_minor >= 0', name=op.f('ck_order_lines_positive')),
    sa.CheckConstraint('total_minor = quantity * unit_price_minor', name=op.f('ck_order_lines_total_adds_up')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_order_id'), ['order_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=20), nullable=False),
    sa.Column('method', sa.String(length=20), server_default='', nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='created', nullable=False),
    sa.Column('provider_order_id', sa.String(length=64), nullable=True),
    sa.Column('capture_id', sa.String(length=64), nullable=True),
    sa.Column('events', sa.Text(), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('captured_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("provider IN ('paypal', 'bank_transfer', 'free')", name=op.f('ck_payments_provider')),
    sa.CheckConstraint("state IN ('created', 'approved', 'captured', 'failed', 'canceled')", name=op.f('ck_payments_state')),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_payments_amount_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('capture_id', name=op.f('uq_payments_capture_id')),
    sa.UniqueConstraint('provider_order_id', name=op.f('uq_payments_provider_order_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_state'), ['state'], unique=False)

    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='held', nullable=False),
    sa.Column('hold_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('canceled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('held', 'confirmed', 'expired', 'canceled', 'refunded')", name=op.f('ck_registrations_state')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_registrations_order_id_orders')),
    sa.ForeignKeyConstraint(['session_id'], ['training_sessions.id'], name=op.f('fk_registrations_session_id_training_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('order_id', name=op.f('uq_registrations_order_id'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index('ix_registrations_session_state', ['session_id', 'state'], unique=False)
        batch_op.create_index('uq_registrations_live_email', ['session_id', 'email'], unique=True, sqlite_where=sa.text("state IN ('held', 'confirmed')"), postgresql_where=sa.text("state IN ('held', 'confirmed')"))

    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), server_default='pending', nullable=False),
    sa.Column('provider_refund_id', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=300), server_default='', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name=op.f('ck_refunds_state')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_refunds_created_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.Text(), server_default='[]', nullable=False))

    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_mode', sa.String(length=20), server_default='registration', nullable=False))
        batch_op.add_column(sa.Column('meeting_url', sa.String(length=500), server_default='', nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_training_sessions_access_mode'),
            "access_mode IN ('registration', 'open', 'password', 'unique_link')",
        )



def downgrade():
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_training_sessions_access_mode'), type_='check')
        batch_op.drop_column('meeting_url')
        batch_op.drop_column('access_mode')

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('attachments')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_registrations_live_email', sqlite_where=sa.text("state IN ('held', 'confirmed')"), postgresql_where=sa.text("state IN ('held', 'confirmed')"))
        batch_op.drop_index('ix_registrations_session_state')

    op.drop_table('registrations')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_state'))
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))

    op.drop_table('payments')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_order_id'))

    op.drop_table('order_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_state'))
        batch_op.drop_index(batch_op.f('ix_orders_session_id'))
        batch_op.drop_index(batch_op.f('ix_orders_organization_id'))
        batch_op.drop_index(batch_op.f('ix_orders_created_at'))
        batch_op.drop_index(batch_op.f('ix_orders_coupon_id'))

    op.drop_table('orders')
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupons_organization_id'))

    op.drop_table('coupons')
    op.drop_table('commerce_settings')
