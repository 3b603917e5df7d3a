"""Attendees cancel their own registration from the one-time link in their confirmation email.

The link's token (256 bits) exists only in that email; we keep its SHA-256. Cancelling locks the
training session, then the order, so two clicks on the link (or two tabs) cancel once: the
second finds the registration canceled and refunds nothing. The refund the policy gives is
recorded in the same transaction as the cancellation, with `retry_until_done`, and carried out
through the provider after the commit: if the provider fails, the refund stays pending and
`flask payments reconcile` tries again until it is done, so it is never lost.
"""

import secrets
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Order, Refund, Registration, TrainingSession
from app.models.base import utcnow
from app.services import cancellation_policy, checkout, confirmations, waitlist
from app.services.commerce import settings_for
from app.services.errors import ServiceError
from app.services.invitations import hash_token, revoke_for_registration
from app.services.locks import Busy, lock_row
from app.services.mail import queue_mail

ATTENDEE_CANCELED = "canceled by the attendee"  # the Refund's reason


class CancellationError(ServiceError):
    """The registration cannot be canceled by its attendee (now)."""


@dataclass(frozen=True)
class Cancellation:
    registration: Registration
    refund: Refund | None  # the refund owed by the cancellation; None: nothing to give back
    already: bool = False  # the link had been used (or the registration canceled) before

    @property
    def refund_state(self):
        """None (no refund), "succeeded", or "pending" (recorded, will be retried)."""
        if self.refund is None:
            return None
        return "succeeded" if self.refund.state == "succeeded" else "pending"


def new_cancel_link(registration):
    """Make the registration's one-time cancel link (inside the caller's transaction) and return
    its URL; None when the session's policy offers no self-service cancellation."""
    from app.web import external_url

    session = registration.session
    if not cancellation_policy.policy_for(session, settings_for(session.organization)):
        return None
    token = secrets.token_urlsafe(32)
    registration.cancel_token_hash = hash_token(token)
    return external_url("cancellations.cancel", token=token)


def registration_for_token(token):
    if not token or len(token) > 100:
        return None
    return db.session.execute(
        select(Registration).where(Registration.cancel_token_hash == hash_token(token))
    ).scalar_one_or_none()


def terms(registration, now=None):
    """(tiers, quote): the session's policy and what cancelling at `now` would give."""
    session = registration.session
    tiers = cancellation_policy.policy_for(session, settings_for(session.organization))
    return tiers, cancellation_policy.quote(tiers, registration.order, session, now or utcnow())


def latest_refund(registration):
    """The newest refund of the registration's order (the attendee's own cancellation, or the
    host's canceling the session), for the page the link opens; None if there is none."""
    return db.session.scalars(
        select(Refund)
        .where(Refund.order_id == registration.order_id, Refund.state != "failed")
        .order_by(Refund.id.desc())
    ).first()


def cancel_by_token(token, provider_for_order, now=None):
    """Cancel the registration whose link this is, refund what the policy gives, free the seat.

    Raises CancellationError (translated) when the link is unknown, the registration is not a
    confirmed one, or the deadline has passed; Busy when the session is locked too long.
    """
    now = now or utcnow()
    registration = registration_for_token(token)
    if registration is None:
        raise CancellationError(_l("This cancellation link is not valid."))
    session = lock_row(TrainingSession, registration.session_id)
    order = lock_row(Order, registration.order_id)
    db.session.refresh(registration)
    if registration.state in ("canceled", "refunded"):
        db.session.rollback()
        return Cancellation(registration, latest_refund(registration), already=True)
    if registration.state != "confirmed" or session.state != "scheduled":
        db.session.rollback()
        raise CancellationError(_l("This registration can no longer be canceled here."))
    tiers, quote = terms(registration, now)
    if not quote.allowed:
        db.session.rollback()
        raise CancellationError(_l(
            "The deadline for cancelling this registration yourself has passed. Please contact "
            "the organiser."
        ))
    registration.state = "canceled"
    registration.canceled_at = now
    revoke_for_registration(registration)
    refund = checkout.record_owed_refund(order, quote.refund_minor, ATTENDEE_CANCELED)
    _queue_canceled_notice(registration, refund)
    waitlist.fill_free_seats(session, now)  # the freed seat goes to the head of the queue
    db.session.commit()
    if refund is not None:
        try:
            checkout.carry_out_refund(refund, provider_for_order(order))
        except (checkout.CheckoutError, Busy):
            pass  # it stays pending and is retried: reconcile carries it out later
        db.session.refresh(refund)
    return Cancellation(registration, refund)


def _queue_canceled_notice(registration, refund):
    session = registration.session
    queue_mail(
        registration.email,
        registration.locale,
        "registration_canceled",
        subject=_l("Registration canceled: %(title)s", title=session.title),
        registration=registration,
        session=session,
        order=registration.order,
        when=confirmations.session_time(session, registration.locale, registration.timezone),
        refund_minor=refund.amount_minor if refund else 0,
        order_url=confirmations.order_url(registration.order),
    )


def refunds_being_retried(order_ids):
    """{order id: its pending refund owed by a cancellation}, for the administrator's orders page."""
    if not order_ids:
        return {}
    refunds = db.session.scalars(
        select(Refund)
        .where(Refund.order_id.in_(order_ids), Refund.state == "pending", Refund.retry_until_done)
        .order_by(Refund.id)
    ).all()
    return {refund.order_id: refund for refund in refunds}
