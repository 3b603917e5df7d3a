"""E-commerce: a site's settings, registrations with seat holds, orders, payments, refunds, coupons.

Money is always an int of minor units plus an ISO 4217 code. States (see services/orders.py):
  Registration  held -> confirmed | expired | canceled;  confirmed -> canceled | refunded
  Order         pending -> paid | expired | canceled | review;  paid -> partially_refunded -> refunded
  Payment       created -> approved -> captured | failed | canceled
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Organization, User
from app.models.base import Base, UTCDateTime, utcnow
from app.models.training import TrainingSession

LIVE_REGISTRATION_STATES = ("held", "confirmed")


class CommerceSettings(Base):
    """A site's e-commerce switches and payment set-up. Absent row = everything off."""

    __tablename__ = "commerce_settings"
    __table_args__ = (CheckConstraint("hold_minutes BETWEEN 1 AND 1440", name="hold_minutes"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    fee_based: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    pay_per_use: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    coupons: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    paypal_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    bank_transfer_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    paypal_base_url: Mapped[str] = mapped_column(String(200), default="", server_default="")  # "" = config
    paypal_client_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    paypal_client_secret: Mapped[str] = mapped_column(String(200), default="", server_default="")
    paypal_webhook_id: Mapped[str] = mapped_column(String(100), default="", server_default="")
    bank_transfer_details: Mapped[str] = mapped_column(Text, default="", server_default="")  # IBAN, BIC …
    hold_minutes: Mapped[int] = mapped_column(Integer, default=15, server_default="15")  # seat hold
    # Pay-per-use rates in minor units per minute (fractions allowed: 0.35 = a third of a cent).
    person_minute_rate: Mapped[Decimal] = mapped_column(
        Numeric(12, 4), default=Decimal(0), server_default="0"
    )
    teleconference_minute_rate: Mapped[Decimal] = mapped_column(
        Numeric(12, 4), default=Decimal(0), server_default="0"
    )
    minimum_charge_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # What happens when a session used less than its host paid: "refund" or "credit".
    settlement_mode: Mapped[str] = mapped_column(String(10), default="refund", server_default="refund")
    # Attendee lifecycle (services/cancellations.py, waitlist.py, reminders.py).
    # The site's default cancellation policy: JSON list of tiers, see services/cancellation_policy.py.
    cancellation_policy: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    waitlist_offer_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    reminder_hours: Mapped[str] = mapped_column(String(40), default="24,1", server_default="24,1")
    # Invoices: the seller's legal details and tax rules (services/invoicing.py, tax.py).
    legal_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    legal_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    legal_country: Mapped[str] = mapped_column(String(2), default="", server_default="")  # ISO 3166
    legal_vat_id: Mapped[str] = mapped_column(String(40), default="", server_default="")
    invoice_prefix: Mapped[str] = mapped_column(String(20), default="", server_default="")
    prices_include_tax: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))

    organization: Mapped[Organization] = relationship()

    @property
    def fee_based_active(self):
        return self.enabled and self.fee_based

    @property
    def coupons_active(self):
        return self.enabled and self.coupons


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'paid', 'partially_refunded', 'refunded', 'expired', 'canceled', 'review')",
            name="state",
        ),
        CheckConstraint("purpose IN ('registration', 'pay_per_use', 'subscription', 'partner')", name="purpose"),
        CheckConstraint(
            "subtotal_minor >= 0 AND discount_minor >= 0 AND tax_minor >= 0 AND tax_deducted_minor >= 0 "
            "AND discount_minor <= subtotal_minor",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "total_minor = subtotal_minor - discount_minor + tax_minor - tax_deducted_minor",
            name="total_adds_up",
        ),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20), unique=True)  # shown to people; bank reference
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_email: Mapped[str] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(8))  # the buyer's, for mail
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(Integer)  # frozen when the order is made
    discount_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # added on top
    total_minor: Mapped[int] = mapped_column(Integer)
    # Tax contained in the total when the site's prices include tax (not added on top).
    included_tax_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Tax contained in a price that a zero-rated buyer (reverse charge, exempt) does not pay.
    tax_deducted_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # "standard" | "exempt" (exemption reference) | "reverse_charge" (EU business, VAT ID) | "none"
    tax_treatment: Mapped[str] = mapped_column(String(20), default="none", server_default="none")
    tax_rate_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 2500 = 25 %
    # The buyer's invoice details, all optional.
    buyer_company: Mapped[str] = mapped_column(String(200), default="", server_default="")
    buyer_address: Mapped[str] = mapped_column(Text, default="", server_default="")
    buyer_country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    buyer_vat_id: Mapped[str] = mapped_column(String(40), default="", server_default="")
    tax_exemption_reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    refunded_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    coupon_id: Mapped[int | None] = mapped_column(ForeignKey("coupons.id"), index=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    # What a subscription order pays for ("purchase", "renewal:2027-01-01", "licenses:…"): a
    # renewal run that is repeated finds the order it made before instead of charging again.
    billing_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending", index=True)
    review_reason: Mapped[str | None] = mapped_column(Text)  # why a payment needs a person's look
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # unpaid after this: expired
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    organization: Mapped[Organization] = relationship()
    session: Mapped[TrainingSession | None] = relationship()
    coupon: Mapped["Coupon | None"] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")
    payments: Mapped[list["Payment"]] = relationship(back_populates="order", order_by="Payment.id")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="order", order_by="Refund.id")
    registration: Mapped["Registration | None"] = relationship(back_populates="order", uselist=False)
    subscription: Mapped["Subscription | None"] = relationship()  # noqa: F821 (app.models.plans)

    @property
    def refundable_minor(self):
        return self.total_minor - self.refunded_minor

    @property
    def saves_payment_method(self):
        """A plan bought through PayPal renews on the same PayPal account, saved at purchase."""
        return (
            self.subscription is not None
            and self.subscription.payment_method == "paypal"
            and (self.billing_key or "").endswith(":purchase")
        )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0 AND unit_price_minor >= 0", name="positive"),
        CheckConstraint("total_minor = quantity * unit_price_minor", name="total_adds_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))  # snapshot of what was bought
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_minor: Mapped[int] = mapped_column(Integer)  # snapshot of the price
    total_minor: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="lines")


class Registration(Base):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint(
            "state IN ('held', 'confirmed', 'expired', 'canceled', 'refunded')", name="state"
        ),
        # One live registration per email per session.
        Index(
            "uq_registrations_live_email",
            "session_id",
            "email",
            unique=True,
            sqlite_where=text("state IN ('held', 'confirmed')"),
            postgresql_where=text("state IN ('held', 'confirmed')"),
        ),
        Index("ix_registrations_session_state", "session_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))  # lower-cased
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))  # the attendee's, for mail; None: the session's
    state: Mapped[str] = mapped_column(String(12), default="held", server_default="held")
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # for state held
    hold_extended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The one-time self-service cancel link of the confirmation email: its SHA-256, or None.
    cancel_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TrainingSession] = relationship()
    order: Mapped[Order] = relationship(back_populates="registration")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("provider IN ('paypal', 'bank_transfer', 'free')", name="provider"),
        CheckConstraint(
            "state IN ('created', 'approved', 'captured', 'failed', 'canceled')", name="state"
        ),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(20), default="", server_default="")  # paypal: wallet | card
    amount_minor: Mapped[int] = mapped_column(Integer)  # what we asked the provider for
    currency: Mapped[str] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12), default="created", server_default="created", index=True)
    provider_order_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # PayPal order id
    capture_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # PayPal capture id
    events: Mapped[str] = mapped_column(Text, default="", server_default="")  # provider answers, one JSON per line
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="payments")


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    amount_minor: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending")
    provider_refund_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # Refunds owed by a cancellation are retried when the provider fails, never dropped.
    retry_until_done: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Order] = relationship(back_populates="refunds")
    payment: Mapped[Payment | None] = relationship()
    created_by: Mapped[User | None] = relationship()


class Coupon(Base):
    __tablename__ = "coupons"
    __table_args__ = (
        UniqueConstraint("organization_id", "code"),
        CheckConstraint("kind IN ('percent', 'fixed', 'free')", name="kind"),
        CheckConstraint(
            "(kind = 'percent' AND value BETWEEN 1 AND 100) OR (kind = 'fixed' AND value > 0) "
            "OR (kind = 'free' AND value = 0)",
            name="value_fits_kind",
        ),
        CheckConstraint(
            "used_count >= 0 AND (max_uses IS NULL OR used_count <= max_uses)", name="uses_within_limit"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # stored upper-case: codes are case-insensitive
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(Integer, default=0)  # percent, or minor units for fixed
    currency: Mapped[str | None] = mapped_column(String(3))  # for fixed amounts
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    used_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # paid orders + live holds
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_id: Mapped[int | None] = mapped_column(ForeignKey("training_sessions.id"))  # only this one
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    session: Mapped[TrainingSession | None] = relationship()
