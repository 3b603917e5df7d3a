"""Paid plans: the catalogue the operator manages, and the subscriptions organisations buy.

Prices are per license per billing period (plans) or per subscription per period (add-ons),
in minor units of the catalogue's currency. A subscription snapshots the prices it was sold
at; renewals charge the snapshot.
  Subscription  pending -> provisioning -> active -> past_due -> active | canceled
                pending -> canceled (payment never arrived)
  ProvisioningJob  pending -> done  (steps done are recorded one by one, so a crash resumes)
"""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Organization, User
from app.models.base import Base, UTCDateTime, utcnow

CYCLES = ("monthly", "annual")
LIVE_SUBSCRIPTION_STATES = ("pending", "provisioning", "active", "past_due")
CALLING_PLANS = ("computer_audio", "toll", "toll_free")
LEGAL_PAGES = ("terms", "privacy", "emergency")


class Plan(Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("monthly_price_minor >= 0 AND annual_price_minor >= 0", name="prices"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # in URLs: /plans/cart?plan=business
    name: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(String(300), default="", server_default="")
    monthly_price_minor: Mapped[int] = mapped_column(Integer)  # per license per month
    annual_price_minor: Mapped[int] = mapped_column(Integer)  # per license per year
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    features: Mapped[list["PlanFeature"]] = relationship(
        back_populates="plan", cascade="all, delete-orphan"
    )


class Feature(Base):
    """A row of the feature comparison table."""

    __tablename__ = "features"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PlanFeature(Base):
    """What a plan offers of a feature: "" for included, else a short text ("100 attendees").
    A plan without the row does not have the feature."""

    __tablename__ = "plan_features"
    __table_args__ = (UniqueConstraint("plan_id", "feature_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    feature_id: Mapped[int] = mapped_column(ForeignKey("features.id", ondelete="CASCADE"))
    value: Mapped[str] = mapped_column(String(80), default="", server_default="")

    plan: Mapped[Plan] = relationship(back_populates="features")
    feature: Mapped[Feature] = relationship()


class AddOn(Base):
    __tablename__ = "add_ons"
    __table_args__ = (
        CheckConstraint("monthly_price_minor >= 0 AND annual_price_minor >= 0", name="prices"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    summary: Mapped[str] = mapped_column(String(300), default="", server_default="")
    monthly_price_minor: Mapped[int] = mapped_column(Integer)  # per subscription per month
    annual_price_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'provisioning', 'active', 'past_due', 'canceled')", name="state"
        ),
        CheckConstraint("cycle IN ('monthly', 'annual')", name="cycle"),
        CheckConstraint("payment_method IN ('paypal', 'bank_transfer')", name="payment_method"),
        CheckConstraint(
            "licenses > 0 AND (licenses_at_renewal IS NULL OR licenses_at_renewal > 0)",
            name="licenses_positive",
        ),
        CheckConstraint("license_price_minor >= 0", name="price_not_negative"),
        CheckConstraint("new_numbers >= 0", name="new_numbers_not_negative"),
        CheckConstraint(
            "calling_plan IN ('computer_audio', 'toll', 'toll_free')", name="calling_plan"
        ),
        # One live subscription per organisation.
        Index(
            "uq_subscriptions_live_organization",
            "organization_id",
            unique=True,
            sqlite_where=text("state IN ('pending', 'provisioning', 'active', 'past_due')"),
            postgresql_where=text("state IN ('pending', 'provisioning', 'active', 'past_due')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    cycle: Mapped[str] = mapped_column(String(10))
    licenses: Mapped[int] = mapped_column(Integer)
    licenses_at_renewal: Mapped[int | None] = mapped_column(Integer)  # a reduction waiting for renewal
    license_price_minor: Mapped[int] = mapped_column(Integer)  # snapshot, per license per period
    currency: Mapped[str] = mapped_column(String(3))
    auto_renew: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    payment_method: Mapped[str] = mapped_column(String(20))
    paypal_vault_id: Mapped[str | None] = mapped_column(String(64))  # PayPal's saved payment method
    state: Mapped[str] = mapped_column(String(12), default="pending", server_default="pending", index=True)
    site_subdomain: Mapped[str] = mapped_column(String(63))  # applied to the organisation by provisioning
    billing_address: Mapped[str] = mapped_column(Text)
    service_address: Mapped[str] = mapped_column(Text)
    calling_plan: Mapped[str] = mapped_column(String(20))
    new_numbers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # dial-in numbers bought
    terms_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Periods end on this day of the month (or the month's last day), from the purchase on.
    billing_anchor_day: Mapped[int | None] = mapped_column(Integer)
    current_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    renewal_notice_for: Mapped[datetime | None] = mapped_column(UTCDateTime())  # period end announced
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship()
    plan: Mapped[Plan] = relationship()
    buyer: Mapped[User] = relationship()
    add_ons: Mapped[list["SubscriptionAddOn"]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", order_by="SubscriptionAddOn.id"
    )
    phone_numbers: Mapped[list["PhoneNumber"]] = relationship(order_by="PhoneNumber.id")
    porting_requests: Mapped[list["PortingRequest"]] = relationship(order_by="PortingRequest.id")


class SubscriptionAddOn(Base):
    __tablename__ = "subscription_add_ons"
    __table_args__ = (
        UniqueConstraint("subscription_id", "add_on_id"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    add_on_id: Mapped[int] = mapped_column(ForeignKey("add_ons.id"))
    price_minor: Mapped[int] = mapped_column(Integer)  # snapshot, per period

    subscription: Mapped[Subscription] = relationship(back_populates="add_ons")
    add_on: Mapped[AddOn] = relationship()


class PhoneNumber(Base):
    """A new dial-in number, ready as soon as the purchase is paid."""

    __tablename__ = "phone_numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # E.164
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PortingRequest(Base):
    """Existing numbers to move to the site: never done sooner than 21 days after the request."""

    __tablename__ = "porting_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    numbers: Mapped[str] = mapped_column(Text)  # E.164, one per line
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    earliest_completion_on: Mapped[date] = mapped_column(Date)


class ProvisioningJob(Base):
    __tablename__ = "provisioning_jobs"
    __table_args__ = (CheckConstraint("state IN ('pending', 'done')", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending", index=True)
    steps_done: Mapped[str] = mapped_column(Text, default="", server_default="")  # names, one per line
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    subscription: Mapped[Subscription] = relationship()


class SalesRequest(Base):
    """A buyer who cannot use the self-service checkout (tax-exempt) asks sales to call."""

    __tablename__ = "sales_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    organization_name: Mapped[str] = mapped_column(String(200))
    cart: Mapped[str] = mapped_column(Text, default="", server_default="")  # what they wanted, readable
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LegalPage(Base):
    """Terms of use, privacy policy, emergency-calling policy: written by the operator."""

    __tablename__ = "legal_pages"
    __table_args__ = (CheckConstraint("slug IN ('terms', 'privacy', 'emergency')", name="slug"),)

    slug: Mapped[str] = mapped_column(String(20), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
