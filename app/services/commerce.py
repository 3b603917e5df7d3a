"""A site's e-commerce settings: off unless its administrator switches them on."""

from decimal import Decimal

from app.extensions import db
from app.models import CommerceSettings

EDITABLE = (
    "enabled", "fee_based", "pay_per_use", "coupons", "paypal_enabled", "bank_transfer_enabled",
    "paypal_base_url", "paypal_client_id", "paypal_client_secret", "paypal_webhook_id",
    "bank_transfer_details", "hold_minutes", "person_minute_rate", "teleconference_minute_rate",
    "minimum_charge_minor", "settlement_mode",
    # The attendee lifecycle: the default cancellation policy (JSON, services/cancellation_policy.py),
    # how long a waitlist offer stays open, and when reminders go out ("24,1": hours before).
    "cancellation_policy", "waitlist_offer_hours", "reminder_hours",
)


def settings_for(organization):
    """The organisation's settings; an unsaved all-off default when it has none yet."""
    settings = db.session.get(CommerceSettings, organization.id)
    if settings is None:
        settings = CommerceSettings(
            organization_id=organization.id, enabled=False, fee_based=False, pay_per_use=False,
            coupons=False, paypal_enabled=False, bank_transfer_enabled=False, paypal_base_url="",
            paypal_client_id="", paypal_client_secret="", paypal_webhook_id="",  # "": not set  # nosec B106
            bank_transfer_details="", hold_minutes=15, person_minute_rate=Decimal(0),
            teleconference_minute_rate=Decimal(0), minimum_charge_minor=0, settlement_mode="refund",
            cancellation_policy="[]", waitlist_offer_hours=24, reminder_hours="24,1",
            legal_name="", legal_address="", legal_country="", legal_vat_id="", invoice_prefix="",
            prices_include_tax=True,
        )
    return settings


def update_settings(organization, **values):
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise ValueError(f"not an e-commerce setting: {sorted(unknown)}")
    settings = settings_for(organization)
    for name, value in values.items():
        setattr(settings, name, value)
    db.session.add(settings)
    db.session.commit()
    return settings


def payment_methods(settings):
    """The methods a buyer may choose, in the order they are offered."""
    methods = []
    if settings.paypal_enabled:
        methods += ["paypal", "card"]  # both through PayPal; card fields are PayPal's own page
    if settings.bank_transfer_enabled:
        methods.append("bank_transfer")
    return methods
