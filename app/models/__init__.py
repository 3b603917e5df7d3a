"""All models, imported here so Alembic and the app see the whole schema."""

from app.models.accounts import ROLES, Department, Organization, User
from app.models.base import Base
from app.models.commerce import (
    CommerceSettings,
    Coupon,
    Order,
    OrderLine,
    Payment,
    Refund,
    Registration,
)
from app.models.invoicing import Invoice, InvoiceCounter, TaxRate
from app.models.lifecycle import ReminderDelivery, WaitlistEntry
from app.models.outbox import OutboxMessage
from app.models.partners import PartnerOrder
from app.models.pay_per_use import SessionCost, UsageCorrection
from app.models.plans import (
    AddOn,
    Feature,
    LegalPage,
    PhoneNumber,
    Plan,
    PlanFeature,
    PortingRequest,
    ProvisioningJob,
    SalesRequest,
    Subscription,
    SubscriptionAddOn,
)
from app.models.rooms import Attendance, Invitation, InvitationCampaign, Subscriber, SubscriberList
from app.models.training import TrainingSession

__all__ = [
    "AddOn",
    "Feature",
    "LegalPage",
    "PhoneNumber",
    "Plan",
    "PlanFeature",
    "PortingRequest",
    "ProvisioningJob",
    "SalesRequest",
    "Subscription",
    "SubscriptionAddOn",
    "ROLES",
    "Attendance",
    "Base",
    "CommerceSettings",
    "Coupon",
    "Department",
    "Invitation",
    "Invoice",
    "InvoiceCounter",
    "TaxRate",
    "ReminderDelivery",
    "WaitlistEntry",
    "InvitationCampaign",
    "Order",
    "OrderLine",
    "Organization",
    "OutboxMessage",
    "PartnerOrder",
    "Payment",
    "Refund",
    "Registration",
    "SessionCost",
    "Subscriber",
    "SubscriberList",
    "TrainingSession",
    "UsageCorrection",
    "User",
]
