"""Partner orders: a partner buys a plan for a customer, whose contact then sets it up.

  PartnerOrder  placed -> setup_sent -> in_setup -> provisioned;  placed | setup_sent -> canceled
  placed:      waiting for its requested start date (`flask partners dispatch`)
  setup_sent:  the provisioning contact has the "Set up now" link
  in_setup:    the setup wizard is done: the customer's organisation and pending subscription exist
  provisioned: Provision was pressed: the subscription is active and billing has started
The `escalated` flag is set once, when setup has not started a day after the start date.
"""

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Organization, User
from app.models.base import Base, UTCDateTime, utcnow
from app.models.plans import Plan, Subscription

PARTNER_ORDER_STATES = ("placed", "setup_sent", "in_setup", "provisioned", "canceled")


class PartnerOrder(Base):
    __tablename__ = "partner_orders"
    __table_args__ = (
        CheckConstraint(
            "state IN ('placed', 'setup_sent', 'in_setup', 'provisioned', 'canceled')", name="state"
        ),
        CheckConstraint("cycle IN ('monthly', 'annual')", name="cycle"),
        CheckConstraint("licenses > 0", name="licenses_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)  # shown to people
    # The partner's organisation on the portal; None until the first order's wizard creates it
    # (the operator's sales desk places a new partner's first order).
    partner_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    partner_name: Mapped[str] = mapped_column(String(200))
    placed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    cycle: Mapped[str] = mapped_column(String(10))
    licenses: Mapped[int] = mapped_column(Integer)
    add_on_codes: Mapped[str] = mapped_column(Text, default="", server_default="")  # one per line
    customer_name: Mapped[str] = mapped_column(String(200))
    requested_start_on: Mapped[date] = mapped_column(Date, index=True)
    contact_email: Mapped[str] = mapped_column(String(254))  # the provisioning contact; may be an alias
    state: Mapped[str] = mapped_column(String(12), default="placed", server_default="placed", index=True)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    setup_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who finished the wizard, and whether the partner may manage the customer's site afterwards.
    set_up_by_email: Mapped[str | None] = mapped_column(String(254))
    partner_manages: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    customer_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), unique=True)
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    set_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    provisioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    partner: Mapped[Organization | None] = relationship(foreign_keys=[partner_organization_id])
    placed_by: Mapped[User] = relationship()
    plan: Mapped[Plan] = relationship()
    customer: Mapped[Organization | None] = relationship(foreign_keys=[customer_organization_id])
    subscription: Mapped[Subscription | None] = relationship()

    @property
    def add_on_code_list(self):
        return [code for code in self.add_on_codes.split() if code]
