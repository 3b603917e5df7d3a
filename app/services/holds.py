"""The seat hold while an attendee pays: how long is left, and one extension on request.

WCAG 2.2.1 (timing adjustable): a person who needs more time than the hold gives can ask for
it once, before it runs out, and gets the site's full hold time again from that moment.
"""

from datetime import timedelta

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import TrainingSession
from app.models.base import utcnow
from app.services.errors import ServiceError
from app.services.locks import lock_row


class HoldError(ServiceError):
    """The hold cannot be extended."""


def seconds_left(order, now):
    if order.expires_at is None:
        return None
    return max(0, int((order.expires_at - now).total_seconds()))


def can_extend(order, now):
    """A held seat, not yet extended, whose hold has not run out and whose payment has not
    started at the provider (the hold of a bank transfer runs for days already)."""
    registration = order.registration
    return (
        registration is not None
        and registration.state == "held"
        and not registration.hold_extended
        and order.state == "pending"
        and order.expires_at is not None
        and order.expires_at > now
        and not any(p.state in ("created", "approved") for p in order.payments)
    )


def extend_hold(order, hold_minutes, now=None):
    """Hold the seat for `hold_minutes` more from now, once. One transaction."""
    now = now or utcnow()
    if order.session_id is not None:
        lock_row(TrainingSession, order.session_id)
    db.session.refresh(order)
    if not can_extend(order, now):
        db.session.rollback()
        raise HoldError(_l("The hold on your seat can no longer be extended."))
    until = max(order.expires_at, now + timedelta(minutes=hold_minutes))
    order.expires_at = until
    order.registration.hold_expires_at = until
    order.registration.hold_extended = True
    db.session.commit()
    return order
