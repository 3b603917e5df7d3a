"""Registering for a session: a seat is held while the attendee pays, and never sold twice."""

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import Order, OrderLine, Payment, Registration, TrainingSession
from app.models.base import utcnow
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


def seats_left(session, now=None):
    return max(0, session.capacity - live_seats_taken(session.id, now or utcnow()))


def is_open_for_registration(session, now):
    return session.state == "scheduled" and session.starts_at > now


def register(session, name, email, locale, hold_minutes, now=None):
    """Hold a seat and create the order for it, in one transaction."""
    now = now or utcnow()
    email = normalize_email(email)
    session = lock_row(TrainingSession, session.id)
    if not is_open_for_registration(session, now):
        db.session.rollback()
        raise RegistrationError(_l("Registration for this session is closed."))
    expire_stale_holds(now, session_id=session.id)
    already = db.session.scalar(
        select(func.count(Registration.id)).where(
            Registration.session_id == session.id,
            Registration.email == email,
            Registration.state.in_(("held", "confirmed")),
        )
    )
    if already:
        db.session.rollback()
        raise RegistrationError(
            _l("This email address is already registered for this session."), "email"
        )
    if live_seats_taken(session.id, now) >= session.capacity:
        db.session.rollback()
        raise RegistrationError(_l("Sorry, this session is full."))
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
    registration = Registration(
        session=session, order=order, name=name.strip(), email=email, locale=locale,
        state="held", hold_expires_at=hold_until,
    )
    db.session.add_all([order, registration])
    db.session.commit()
    return order


def expire_stale_holds(now, session_id=None):
    """Let holds that ran out go: the order expires and its coupon use is given back.

    Orders with a payment still in the provider's hands are left to `reconcile`, which first
    asks the provider whether the buyer paid. Runs inside the caller's transaction.

    Each hold is let go under its row lock, so a registration (which holds the session's
    lock) and a reconciliation (which does not) never both give back the same coupon use:
    a hold locked by the other is skipped, and one the other has let go no longer matches.
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
    return len(expired)
