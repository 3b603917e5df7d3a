"""Demo data so that a freshly started portal shows something real."""

from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import CommerceSettings, Coupon, Department, Organization, TrainingSession, User
from app.models.base import utcnow
from app.services.accounts import hash_password

DEMO_PASSWORD = "lectern-demo"
DEMO_LOGINS = (("admin", "admin@example.com"), ("host", "host@example.com"))

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


def load(now=None):
    """Create the demo organisation with the accounts in DEMO_LOGINS."""
    now = now or utcnow()
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
    people = [
        User(email=email, name=name, role=role, department=department, organization=organization,
             password_hash=password_hash, timezone="Europe/Stockholm")
        for (role, email), name, department in zip(
            DEMO_LOGINS, ("Astrid Admin", "Henrik Host"), (support, sales)
        )
    ]
    host = people[1]
    db.session.add_all([organization, sales, support, *people])
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
        )
    )
    db.session.flush()
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
