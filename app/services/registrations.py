"""Registering for a session: a seat is held while the attendee pays, and never sold twice.

Two counts of taken seats:
- `live_seats_taken`: confirmed seats and live holds, the seats people actually have. A
  waitlist offer being accepted, a late payment re-taking its seat and a capacity change
  count against this.
- `public_seats_taken`: those plus open waitlist offers. A seat offered to the next person
  in the queue is kept for them while the offer is open, so a public registration (and the
  public page's "seats left") counts against this: nobody jumps the queue.
"""

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import Order, OrderLine, Payment, Registration, TrainingSession
from app.models.base import utcnow
from app.services import tax
from app.services.accounts import normalize_email
from app.services.locks import lock_row
from app.services.errors import ServiceError

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed by people


class RegistrationError(ServiceError):
    """A registration cannot be made."""


def new_order_code():
    return "L-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def live_seats_taken(session_id, now):
    """Confirmed seats, plus holds that have not run out or whose payment is still with the
    provider (the buyer may have paid: reconcile decides before the seat goes to someone else)."""
    payment_in_flight = Order.payments.any(Payment.state.in_(("created", "approved")))
    return db.session.scalar(
        select(func.count(Registration.id))
        .join(Order, Registration.order_id == Order.id)
        .where(
            Registration.session_id == session_id,
            or_(
                Registration.state == "confirmed",
                and_(
                    Registration.state == "held",
                    or_(Registration.hold_expires_at > now, payment_in_flight),
                ),
            ),
        )
    )


def open_offers(session_id, now):
    """Waitlist offers not yet taken nor run out: each keeps a seat for its person."""
    from app.models.lifecycle import WaitlistEntry

    return db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.session_id == session_id,
            WaitlistEntry.state == "offered",
            WaitlistEntry.offer_expires_at > now,
        )
    )


def public_seats_taken(session_id, now):
    """Seats nobody else may register for: live seats plus open waitlist offers."""
    return live_seats_taken(session_id, now) + open_offers(session_id, now)


def seats_left(session, now=None):
    """Seats the public can still register for (open waitlist offers keep theirs)."""
    return max(0, session.capacity - public_seats_taken(session.id, now or utcnow()))


def is_open_for_registration(session, now):
    return session.state == "scheduled" and session.starts_at > now


def has_live_registration(session_id, email):
    return bool(db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.session_id == session_id,
            Registration.email == email,
            Registration.state.in_(("held", "confirmed")),
        )
    ))


def register(session, name, email, locale, hold_minutes, now=None, timezone=None):
    """Hold a seat and create the order for it, in one transaction.

    Seats freed since (run-out holds) go to the waitlist first; open waitlist offers count as
    taken, so a registration never takes a seat kept for the next person in the queue."""
    from app.services import waitlist  # the waitlist builds on this module

    now = now or utcnow()
    email = normalize_email(email)
    session = lock_row(TrainingSession, session.id)
    if not is_open_for_registration(session, now):
        db.session.rollback()
        raise RegistrationError(_l("Registration for this session is closed."))
    expire_stale_holds(now, session_id=session.id)
    if has_live_registration(session.id, email):
        db.session.rollback()
        raise RegistrationError(
            _l("This email address is already registered for this session."), "email"
        )
    waitlist.fill_free_seats(session, now)
    if public_seats_taken(session.id, now) >= session.capacity:
        db.session.commit()  # keep the run-out holds let go and the offers made to the queue
        raise RegistrationError(_l("Sorry, this session is full."))
    order = hold_seat(session, name, email, locale, hold_minutes, now, timezone)
    waitlist.leave_on_registering(session, email, now)
    db.session.commit()
    return order


def hold_seat(session, name, email, locale, hold_minutes, now, timezone=None):
    """Create the held registration and its pending order (in the caller's transaction).

    The caller holds the session's row lock and has counted the seat; `email` is normalised.
    The hold lasts `hold_minutes` (the site's setting); a free session's order totals 0."""
    hold_until = now + timedelta(minutes=hold_minutes)
    order = Order(
        organization_id=session.organization_id,
        session=session,
        purpose="registration",
        code=new_order_code(),
        buyer_name=name.strip(),
        buyer_email=email,
        locale=locale,
        currency=session.currency,
        subtotal_minor=session.fee_minor,
        discount_minor=0,
        tax_minor=0,
        total_minor=session.fee_minor,
        state="pending",
        expires_at=hold_until,
    )
    order.lines.append(
        OrderLine(
            description=session.title,
            quantity=1,
            unit_price_minor=session.fee_minor,
            total_minor=session.fee_minor,
        )
    )
    tax.apply_to_order(order)
    registration = Registration(
        session=session, order=order, name=name.strip(), email=email, locale=locale,
        timezone=timezone, state="held", hold_expires_at=hold_until,
    )
    db.session.add_all([order, registration])
    return order


def expire_stale_holds(now, session_id=None):
    """Let holds that ran out go: the order expires and its coupon use is given back.

    Orders with a payment still in the provider's hands are left to `reconcile`, which first
    asks the provider whether the buyer paid. Runs inside the caller's transaction.

    Each hold is let go under its row lock, so a registration (which holds the session's
    lock) and a reconciliation (which does not) never both give back the same coupon use:
    a hold locked by the other is skipped, and one the other has let go no longer matches.

    With `session_id`, the caller holds that session's lock and offers the freed seats to the
    waitlist itself. Without, the freed seats are offered here to each session's waitlist
    when its lock is free at once (`claim_row`, never waiting: this runs holding the
    registrations' locks); a session busy right now is filled by `flask waitlist run`.
    """
    from app.services.checkout import release_coupon  # checkout builds on this module

    query = (
        select(Registration)
        .join(Order, Registration.order_id == Order.id)
        .where(
            Registration.state == "held",
            Registration.hold_expires_at <= now,
            Order.state == "pending",
            ~Order.payments.any(Payment.state.in_(("created", "approved"))),
        )
        .with_for_update(skip_locked=True, of=Registration)
    )
    if session_id is not None:
        query = query.where(Registration.session_id == session_id)
    expired = db.session.scalars(query).all()
    for registration in expired:
        registration.state = "expired"
        registration.order.state = "expired"
        release_coupon(registration.order)
    if session_id is None and expired:
        _offer_freed_seats({registration.session_id for registration in expired}, now)
    return len(expired)


def _offer_freed_seats(session_ids, now):
    from app.services import waitlist
    from app.services.claims import claim_row

    db.session.flush()  # on SQLite this transaction has the write lock from here on
    for session_id in sorted(session_ids):
        session = claim_row(TrainingSession, session_id)
        if session is not None:
            waitlist.fill_free_seats(session, now)
