"""Hosts schedule, edit and cancel training sessions."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, Refund, Registration, TrainingSession
from app.models.base import utcnow
from app.services import checkout, confirmations, waitlist
from app.services.invitations import revoke_for_registration
from app.services.locks import Busy, lock_row
from app.services.registrations import live_seats_taken
from app.services.errors import ServiceError

PAID_STATES = ("paid", "partially_refunded", "refunded")
SESSIONS_PER_PAGE = 25


class SchedulingError(ServiceError):
    """A session cannot be scheduled or changed as asked."""


def can_schedule(user):
    return user.role in ("admin", "host")


def can_manage(user, session):
    """The session's host, or an administrator of its organisation."""
    if session.organization_id != user.organization_id:
        return False
    return user.is_admin or session.host_id == user.id


def make_slug(title):
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60] or "session"
    return f"{base}-{secrets.token_hex(3)}"


def local_to_utc(day, time_of_day, zone):
    return datetime.combine(day, time_of_day, tzinfo=ZoneInfo(zone)).astimezone(ZoneInfo("UTC"))


def schedule(host, *, title, description, day, time_of_day, timezone, duration_min, capacity,
             fee_minor, access_mode, meeting_url, cancellation_policy=None, awaiting_payment=False,
             now=None):
    """A new session: scheduled, or (pay-per-use) awaiting its host's payment."""
    starts_at = local_to_utc(day, time_of_day, timezone)
    if starts_at <= (now or utcnow()):
        raise SchedulingError(_l("Choose a start time in the future."), "day")
    session = TrainingSession(
        organization_id=host.organization_id, host=host, slug=make_slug(title), title=title.strip(),
        description=description.strip(), starts_at=starts_at, timezone=timezone,
        duration_min=duration_min, capacity=capacity, fee_minor=fee_minor,
        currency=host.organization.currency, access_mode=access_mode, meeting_url=meeting_url,
        cancellation_policy=cancellation_policy,
        state="awaiting_payment" if awaiting_payment else "scheduled",
    )
    db.session.add(session)
    db.session.commit()
    return session


_UNCHANGED = object()


def update(session, *, title, description, day, time_of_day, timezone, duration_min, capacity,
           fee_minor, access_mode, meeting_url, cancellation_policy=_UNCHANGED, now=None):
    """Change a session. Orders already made keep the fee they were made with.
    `cancellation_policy`: the session's own policy as JSON text (services/cancellation_policy.py),
    None for the site's default; left as it is when not given."""
    now = now or utcnow()
    session = lock_row(TrainingSession, session.id)
    if session.state not in ("draft", "awaiting_payment", "scheduled"):
        db.session.rollback()
        raise SchedulingError(_l("This session can no longer be changed."))
    taken = live_seats_taken(session.id, now)
    if capacity < taken:
        db.session.rollback()
        raise SchedulingError(
            _l("%(taken)d seats are already taken; the capacity cannot be lower.", taken=taken),
            "capacity",
        )
    session.title = title.strip()
    session.description = description.strip()
    session.starts_at = local_to_utc(day, time_of_day, timezone)
    session.timezone = timezone
    session.duration_min = duration_min
    session.capacity = capacity
    session.fee_minor = fee_minor
    session.access_mode = access_mode
    session.meeting_url = meeting_url
    if cancellation_policy is not _UNCHANGED:
        session.cancellation_policy = cancellation_policy
    waitlist.fill_free_seats(session, now)  # a larger capacity: the queue gets the new seats
    db.session.commit()
    return session


SESSION_CANCELED = "session canceled"  # the reason of the refunds a canceled session owes


@dataclass(frozen=True)
class RefundProgress:
    total: int  # refunds the canceled session owes its paid attendees
    pending: int  # of which not yet done (being retried)

    @property
    def done(self):
        return self.total - self.pending


def cancel(session, provider_for_order, by_user, now=None):
    """Cancel the session, its holds and registrations, and refund every paid order in full.

    One transaction cancels everything and records every refund owed (pending, retried until
    done), so an interruption after it loses none. The refunds are then carried out one by one;
    a provider that fails leaves its refund pending for `reconcile`. Running this again carries
    on with what is left and never refunds an order twice. Returns the RefundProgress.
    """
    now = now or utcnow()
    session = lock_row(TrainingSession, session.id)
    session.state = "canceled"
    owed = []  # the paid orders of the registrations canceled now (not of attendees who left before)
    for registration in db.session.scalars(
        select(Registration).where(
            Registration.session_id == session.id, Registration.state.in_(("held", "confirmed"))
        ).order_by(Registration.id)
    ).all():
        if registration.state == "confirmed":
            confirmations.queue_session_canceled(registration)
        registration.state = "canceled"
        registration.canceled_at = now
        revoke_for_registration(registration)
        if registration.order.state == "pending":
            registration.order.state = "canceled"
            checkout.release_coupon(registration.order)
        elif registration.order.state in ("paid", "partially_refunded"):
            owed.append(registration.order)
    owed += db.session.scalars(  # the host's own pay-per-use payment for the session
        select(Order).where(
            Order.session_id == session.id, Order.purpose != "registration",
            Order.state.in_(("paid", "partially_refunded")),
        ).order_by(Order.id)
    ).all()
    for order in owed:
        checkout.record_owed_refund(order, order.refundable_minor, SESSION_CANCELED, by_user)
    waitlist.close_for_canceled_session(session, now)
    db.session.commit()
    carry_on_refunds(session, provider_for_order)
    return refund_progress(session)


def _session_refunds(session):
    return (
        select(Refund)
        .join(Order, Refund.order_id == Order.id)
        .where(Order.session_id == session.id, Refund.reason == SESSION_CANCELED)
    )


def carry_on_refunds(session, provider_for_order):
    """Carry out, one by one, the canceled session's refunds that are not done yet. Each is
    recorded under the order's locks with the provider's idempotency key, so running this
    twice at once (or with reconcile) still refunds once. Returns how many succeeded now."""
    done = 0
    pending = db.session.scalars(
        _session_refunds(session).where(Refund.state == "pending").order_by(Refund.id)
    ).all()
    for refund in pending:
        try:
            checkout.carry_out_refund(refund, provider_for_order(refund.order))
        except (checkout.CheckoutError, Busy):
            continue  # it stays pending: reconcile (or the host) tries again later
        done += 1
    return done


def refund_progress(session):
    """How far the canceled session's refunds are: for the host's pages."""
    refunds = db.session.scalars(_session_refunds(session)).all()
    return RefundProgress(len(refunds), sum(1 for r in refunds if r.state == "pending"))


def my_sessions_page(user, past, page, today_starts_at, per_page=SESSIONS_PER_PAGE):
    """One page of the sessions a user manages, each with seats sold and revenue: from today
    on, soonest first; or, with `past`, those before today, latest first."""
    query = select(TrainingSession).where(TrainingSession.organization_id == user.organization_id)
    if not user.is_admin:
        query = query.where(TrainingSession.host_id == user.id)
    if past:
        query = query.where(TrainingSession.starts_at < today_starts_at).order_by(
            TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    else:
        query = query.where(TrainingSession.starts_at >= today_starts_at).order_by(
            TrainingSession.starts_at, TrainingSession.id)
    results = db.paginate(query, page=max(page, 1), per_page=per_page, max_per_page=per_page,
                          error_out=False)
    sales = _sales_by_session([session.id for session in results.items])
    rows = [(session, *sales.get(session.id, (0, 0))) for session in results.items]
    return results, rows


def _sales_by_session(session_ids):
    """{session id: (seats sold, revenue in minor units)} from attendees' orders, in one query
    whose subqueries use the per-session indexes (a join would read every registration)."""
    if not session_ids:
        return {}
    sold = (
        select(func.count(Registration.id))
        .where(Registration.session_id == TrainingSession.id, Registration.state == "confirmed")
        .scalar_subquery()
    )
    revenue = (
        select(func.coalesce(func.sum(Order.total_minor - Order.refunded_minor), 0))
        .where(Order.session_id == TrainingSession.id, Order.purpose == "registration",
               Order.state.in_(PAID_STATES))
        .scalar_subquery()
    )
    query = select(TrainingSession.id, sold, revenue).where(TrainingSession.id.in_(session_ids))
    return {session_id: (sold, revenue) for session_id, sold, revenue in db.session.execute(query)}
