"""A full session with people on its waitlist, and the offer links they are emailed."""

import re

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, Registration, TrainingSession
from app.models.lifecycle import WaitlistEntry
from app.services import commerce, waitlist
from app.services.locks import lock_row
from tests import commerce_factories, factories

OFFER_LINK = re.compile(r"http://localhost/w/([A-Za-z0-9_-]+)")


def full_session(capacity=2, fee_minor=4900, **fields):
    """A session on a site taking fees, every seat sold; the buyers' registrations."""
    host = factories.make_user(role="host")
    commerce.update_settings(host.organization, enabled=True, fee_based=True, hold_minutes=15)
    session = factories.make_session(host=host, capacity=capacity, fee_minor=fee_minor, currency="EUR", **fields)
    sold = [commerce_factories.make_sale(session, subtotal=fee_minor) for _ in range(capacity)]
    return session, [order.registration for order in sold]


def join(session, *names, now=None):
    return [waitlist.join(session, name, f"{name.lower()}@example.com", "en", now=now) for name in names]


def free_a_seat(registration, now):
    """What a cancellation does: the seat is given up, and offered to the queue at once."""
    session = lock_row(TrainingSession, registration.session_id)
    db.session.get(Registration, registration.id).state = "canceled"
    offered = waitlist.fill_free_seats(session, now)
    db.session.commit()
    return offered


def offer_token(email):
    """The token in the newest offer emailed to this address."""
    message = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == email, OutboxMessage.template == "waitlist_offer")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert message is not None, f"no offer was emailed to {email}"
    return OFFER_LINK.search(message.body_text).group(1)


def entry(entry_id):
    db.session.expire_all()
    return db.session.get(WaitlistEntry, entry_id)


def states(session_id):
    db.session.expire_all()
    return [(e.name, e.state) for e in waitlist.queue(session_id)]
