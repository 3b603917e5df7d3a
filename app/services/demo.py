"""Demo data so that a freshly started portal shows something real."""

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AddOn,
    CommerceSettings,
    Coupon,
    Department,
    Feature,
    LegalPage,
    Organization,
    Plan,
    PlanFeature,
    TaxRate,
    TrainingSession,
    User,
)
from app.models.base import utcnow
from app.services.accounts import hash_password

DEMO_PASSWORD = "lectern-demo"  # published in the README for the demo logins  # nosec B105
DEMO_LOGINS = (
    ("admin", "admin@example.com"),  # Nordic Training Academy, a customer on the free service
    ("host", "host@example.com"),
    ("operator", "operator@example.com"),  # an administrator of Lectern Cloud, which runs the portal
    ("partner", "partner@example.com"),  # Baltic Learning Partners, who order plans for customers
)

DEMO_SESSIONS = (
    # title, days from now, hour (Stockholm), minutes, seats, fee in öre, description
    ("Project management fundamentals", 3, 9, 90, 25, 49000,
     "A practical introduction to planning, estimating and tracking projects."),
    ("Presenting online with confidence", 5, 14, 60, 40, 0,
     "Free taster: voice, camera and slides for trainers who teach online."),
    ("Data protection for HR teams", 8, 10, 120, 30, 125000,
     "What GDPR asks of HR departments, with worked cases and a checklist."),
    ("Spreadsheet skills: pivot tables", 12, 13, 75, 20, 39500,
     "Summarise and explore data with pivot tables, step by step."),
)


def has_users():
    return db.session.execute(select(User.id).limit(1)).first() is not None


def is_loaded():
    return db.session.execute(
        select(Organization.id).where(Organization.subdomain == "nordic-training")
    ).first() is not None


# The plans on sale, in EUR: code, name, summary, monthly and annual price per license (cents).
DEMO_PLANS = (
    ("starter", "Starter", "For trainers who run a few sessions a week.", 1200, 12000),
    ("business", "Business", "For training teams with paid courses and attendees who dial in.", 2500, 25000),
    ("enterprise", "Enterprise", "For organisations with large audiences and single sign-on.", 4500, 45000),
)
# Rows of the comparison: feature, then what Starter, Business and Enterprise offer of it
# (None: not included, "": included, else a short text).
DEMO_FEATURES = (
    ("Meeting length", ("24 hours", "30 hours", "30 hours")),
    ("Attendees per meeting", ("100", "200", "1000")),
    ("Cloud recording", (None, "10 GB", "Unlimited")),
    ("Personal links for attendees", ("", "", "")),
    ("Paid sessions and coupons", ("", "", "")),
    ("Toll-free dial-in numbers", (None, "", "")),
    ("Single sign-on", (None, None, "")),
)
SAMPLE_NOTE = "Sample text: the operator of this portal should replace it with its own.\n\n"
DEMO_LEGAL_PAGES = {
    "terms": SAMPLE_NOTE + (
        "Lectern Cloud provides online training rooms to organisations that buy a plan. "
        "A plan renews at the end of each period unless its buyer switches renewal off. "
        "Prices are per license per period; licenses added during a period are charged for "
        "the rest of it.\n\nWe may change these terms with 30 days' notice by email."
    ),
    "privacy": SAMPLE_NOTE + (
        "We keep the names and email addresses of account holders and attendees to run "
        "sessions and send invitations, and the billing details of buyers to invoice them. "
        "We do not sell personal data. Write to privacy@example.com to see or delete yours."
    ),
    "emergency": SAMPLE_NOTE + (
        "Dial-in numbers and callback are for joining training sessions. They cannot be used "
        "to call emergency services, and no location is passed on. In an emergency, use "
        "another phone."
    ),
}


def load(now=None):
    """Create the demo organisations: a training company with the admin and host of
    DEMO_LOGINS, the operator of the portal with its plan catalogue and legal pages, and a
    partner who orders plans for customers."""
    now = now or utcnow()
    logins = dict(DEMO_LOGINS)
    organization = Organization(
        name="Nordic Training Academy",
        subdomain="nordic-training",
        locale="sv",
        timezone="Europe/Stockholm",
        currency="SEK",
    )
    sales = Department(organization=organization, name="Sales")
    support = Department(organization=organization, name="Customer support")
    password_hash = hash_password(DEMO_PASSWORD)
    admin = User(email=logins["admin"], name="Astrid Admin", role="admin", department=support,
                 organization=organization, password_hash=password_hash, timezone="Europe/Stockholm")
    host = User(email=logins["host"], name="Henrik Host", role="host", department=sales,
                organization=organization, password_hash=password_hash, timezone="Europe/Stockholm")
    db.session.add_all([organization, sales, support, admin, host])
    _load_operator(logins["operator"], password_hash)
    partner = Organization(name="Baltic Learning Partners", subdomain="baltic-partners", kind="partner",
                           locale="en", timezone="Europe/Riga", currency="EUR")
    db.session.add_all([partner, User(email=logins["partner"], name="Paula Partner", role="admin",
                                      organization=partner, password_hash=password_hash)])
    # Fee-based training with bank transfer and coupons, so a paid registration works at once;
    # PayPal needs the site's own credentials (Administration → E-commerce).
    db.session.add(
        CommerceSettings(
            organization=organization, enabled=True, fee_based=True, coupons=True,
            bank_transfer_enabled=True, hold_minutes=15,
            # Pay-per-use is off, with rates ready (öre a minute) for an admin to switch it on.
            person_minute_rate=Decimal("0.35"), teleconference_minute_rate=Decimal("1.5"),
            settlement_mode="refund", minimum_charge_minor=0,
            bank_transfer_details="Nordic Training Academy AB\nIBAN SE45 5000 0000 0583 9825 7466\nBIC ESSESESS",
            # Free cancellation until a week before, half back until two days before.
            cancellation_policy='[{"hours_before": 168, "refund_percent": 100}, '
                                '{"hours_before": 48, "refund_percent": 50}]',
            waitlist_offer_hours=24, reminder_hours="24,1",
            legal_name="Nordic Training Academy AB", legal_address="Kungsgatan 1\n111 43 Stockholm",
            legal_country="SE", legal_vat_id="SE556677889901", invoice_prefix="NTA-",
            prices_include_tax=True,
        )
    )
    db.session.flush()
    db.session.add(TaxRate(organization_id=organization.id, country="", rate_bp=2500))  # Swedish VAT
    db.session.add(Coupon(organization_id=organization.id, code="WELCOME10", kind="percent", value=10))
    stockholm = ZoneInfo("Europe/Stockholm")
    today = now.astimezone(stockholm).date()
    for number, (title, days, hour, minutes, seats, fee, description) in enumerate(DEMO_SESSIONS, 1):
        db.session.add(
            TrainingSession(
                organization=organization,
                host=host,
                slug=f"demo-{number}",
                title=title,
                description=description,
                starts_at=datetime.combine(
                    today + timedelta(days=days), time(hour), tzinfo=stockholm
                ).astimezone(timezone.utc),
                timezone="Europe/Stockholm",
                duration_min=minutes,
                capacity=seats,
                fee_minor=fee,
                currency="SEK",
            )
        )
    db.session.commit()


def _load_operator(email, password_hash):
    """Lectern Cloud runs the portal: its administrator manages plans and legal pages."""
    operator = Organization(name="Lectern Cloud", subdomain="lectern-cloud", is_operator=True,
                            locale="en", timezone="Europe/Stockholm", currency="EUR")
    db.session.add_all([
        operator,
        User(email=email, name="Olivia Operator", role="admin", organization=operator,
             password_hash=password_hash),
    ])
    plans = [
        Plan(code=code, name=name, summary=summary, monthly_price_minor=monthly,
             annual_price_minor=annual, currency="EUR", position=position)
        for position, (code, name, summary, monthly, annual) in enumerate(DEMO_PLANS, 1)
    ]
    for position, (name, offers) in enumerate(DEMO_FEATURES, 1):
        feature = Feature(name=name, position=position)
        for plan, value in zip(plans, offers):
            if value is not None:
                plan.features.append(PlanFeature(feature=feature, value=value))
    db.session.add_all(plans)
    db.session.add(AddOn(
        code="callback", name="Callback", currency="EUR", monthly_price_minor=900,
        annual_price_minor=9000, position=1,
        summary="Attendees are called at their phone, so they avoid toll charges.",
    ))
    db.session.add_all(LegalPage(slug=slug, body=body) for slug, body in DEMO_LEGAL_PAGES.items())
