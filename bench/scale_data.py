"""Demo data scaled up for the load benchmark: many sessions, registrations and invitations.

Rows go in with bulk INSERTs in the demo training company (Nordic Training Academy), spread
over every session it has, so the pages the benchmark drives sit among realistic volumes.
"""

import hashlib
from datetime import timedelta

from sqlalchemy import insert, select

from app.extensions import db
from app.models import Invitation, Order, Organization, Registration, TrainingSession, User
from app.models.base import utcnow

BATCH = 5000


def scale_up(sessions, registrations, invitations, now=None):
    """Add `sessions` sessions to the demo company, then `registrations` paid registrations and
    `invitations` personal links spread evenly over all of its sessions."""
    now = now or utcnow()
    organization = db.session.execute(
        select(Organization).where(Organization.subdomain == "nordic-training")
    ).scalar_one()
    host = db.session.execute(select(User).where(User.email == "host@example.com")).scalar_one()
    _insert(TrainingSession, (_session_row(organization, host, number, number - sessions // 2, now)
                              for number in range(sessions)))
    session_ids = db.session.scalars(
        select(TrainingSession.id).where(TrainingSession.organization_id == organization.id)
    ).all()
    _insert(Order, (_order_row(organization, session_ids, number, now) for number in range(registrations)))
    orders = db.session.execute(
        select(Order.id, Order.session_id).where(Order.code.like("B-%")).order_by(Order.id)
    ).all()
    _insert(Registration, (_registration_row(order_id, session_id, number, now)
                           for number, (order_id, session_id) in enumerate(orders)))
    _insert(Invitation, (_invitation_row(session_ids, number, now) for number in range(invitations)))
    db.session.commit()


def _insert(model, rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            db.session.execute(insert(model), batch)
            batch = []
    if batch:
        db.session.execute(insert(model), batch)


def _session_row(organization, host, number, steps_from_now, now):
    paid = number % 3 != 0
    return {
        "organization_id": organization.id, "host_id": host.id, "slug": f"bench-{number}",
        "title": f"Benchmark course {number}", "description": "A session made by bench/scale_data.py.",
        # Half in the past, half ahead, nine hours apart: lists page through both.
        "starts_at": now + timedelta(hours=steps_from_now * 9), "timezone": "Europe/Stockholm",
        "duration_min": 60, "capacity": 200, "fee_minor": 49000 if paid else 0, "currency": "SEK",
        "state": "scheduled", "access_mode": "registration", "created_at": now,
    }


def _order_row(organization, session_ids, number, now):
    return {
        "organization_id": organization.id, "session_id": session_ids[number % len(session_ids)],
        "purpose": "registration", "code": f"B-{number:08d}", "buyer_name": f"Attendee {number}",
        "buyer_email": f"attendee{number}@example.com", "locale": "sv", "currency": "SEK",
        "subtotal_minor": 49000, "discount_minor": 0, "tax_minor": 0, "total_minor": 49000,
        "refunded_minor": 0, "state": "paid", "created_at": now, "paid_at": now,
    }


def _registration_row(order_id, session_id, number, now):
    return {
        "session_id": session_id, "order_id": order_id, "name": f"Attendee {number}",
        "email": f"attendee{number}@example.com", "locale": "sv", "state": "confirmed",
        "created_at": now, "confirmed_at": now,
    }


def _invitation_row(session_ids, number, now):
    return {
        "session_id": session_ids[number % len(session_ids)], "name": f"Guest {number}",
        "email": f"guest{number}@example.com",
        "token_hash": hashlib.sha256(f"bench-invitation-{number}".encode()).hexdigest(),
        "created_at": now,
    }
