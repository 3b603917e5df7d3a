"""Pay-per-use sessions: the host sees the Estimated session cost, pays, and the session is
scheduled; after it ends, actual usage settles the difference (refunded, credited or owed)."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import Attendance, Order, OrderLine
from app.models.base import utcnow
from app.models.pay_per_use import SessionCost, UsageCorrection
from app.services import pay_per_use
from app.services.pricing import round_half_up
from app.services.registrations import new_order_code
from app.services.errors import ServiceError


# Orders whose money came in (some of it may have gone back out again).
PAID_ORDER_STATES = ("paid", "partially_refunded", "refunded")


class CostError(ServiceError):
    """An estimate or settlement cannot be made as asked."""


def needs_payment(settings):
    """Hosts pay before scheduling when the site has pay-per-use on."""
    return settings.enabled and settings.pay_per_use


def estimate_for(settings, duration_min, computers, teleconference_computers):
    """The estimate at the site's current rates (raises ValueError for nonsense counts)."""
    return pay_per_use.estimate(
        duration_min, computers, teleconference_computers, settings.person_minute_rate,
        settings.teleconference_minute_rate, settings.minimum_charge_minor,
    )


def latest_paid(session):
    return db.session.scalars(
        select(SessionCost)
        .where(SessionCost.session_id == session.id, SessionCost.state.in_(("paid", "settled")))
        .order_by(SessionCost.id.desc())
    ).first()


def open_estimate(session, host, settings, duration_min, computers, teleconference_computers,
                  shown_total_minor):
    """Freeze the estimate the host saw and make the order to pay it (only the difference to
    what an earlier estimate of this session already paid). Returns the order, or None when
    nothing is due and the session is scheduled at once."""
    estimate = estimate_for(settings, duration_min, computers, teleconference_computers)
    already = net_paid_minor(session)
    due = max(0, estimate.total_minor - already)
    if shown_total_minor != due:
        raise CostError(_l("The estimate has changed. Please check it and confirm again."))
    for stale in db.session.scalars(
        select(SessionCost).where(SessionCost.session_id == session.id, SessionCost.state == "open")
    ):
        db.session.delete(stale)
    cost = SessionCost(
        session=session, host=host, department_id=host.department_id,
        duration_min=duration_min, computers=computers,
        teleconference_computers=teleconference_computers, person_rate=estimate.person_rate,
        teleconference_rate=estimate.teleconference_rate, minimum_minor=estimate.minimum_minor,
        currency=session.currency, total_minor=estimate.total_minor, already_paid_minor=already,
        state="open",
    )
    session.duration_min = duration_min
    db.session.add(cost)
    if due == 0:
        _mark_cost_paid(cost, utcnow())
        db.session.commit()
        return None
    order = Order(
        organization_id=session.organization_id, session=session, purpose="pay_per_use",
        code=new_order_code(), buyer_name=host.name, buyer_email=host.email,
        locale=host.locale or session.organization.locale, currency=session.currency,
        subtotal_minor=due, discount_minor=0, tax_minor=0, total_minor=due, state="pending",
    )
    order.lines.append(OrderLine(
        description=str(_l("Estimated session cost: %(title)s", title=session.title))[:300],
        quantity=1, unit_price_minor=due, total_minor=due,
    ))
    cost.order = order
    db.session.add(order)
    db.session.commit()
    return order


def mark_order_paid(order, now):
    """Called when a pay-per-use order is paid (inside the checkout's transaction)."""
    cost = db.session.scalars(select(SessionCost).where(SessionCost.order_id == order.id)).first()
    if cost is not None:
        _mark_cost_paid(cost, now)


def _mark_cost_paid(cost, now):
    cost.state = "paid"
    cost.paid_at = now
    if cost.session.state in ("draft", "awaiting_payment"):
        cost.session.state = "scheduled"


# Settlement ---------------------------------------------------------------------------------


def measured_person_minutes(session):
    """Person-minutes from the join gate: each person from their first join to the end."""
    first_joins = db.session.execute(
        select(func.coalesce(Attendance.email, Attendance.name), func.min(Attendance.joined_at))
        .where(Attendance.session_id == session.id)
        .group_by(func.coalesce(Attendance.email, Attendance.name))
    ).all()
    total = 0
    for _, joined in first_joins:
        start = max(joined, session.starts_at)
        total += max(0, min(session.duration_min, int((session.ends_at - start).total_seconds() // 60)))
    return total


def net_paid_minor(session):
    """What the host has paid for this session so far, net of refunds."""
    return sum(order.total_minor - order.refunded_minor for order in paid_orders(session))


def paid_orders(session):
    """The orders that paid this session's estimates (refunded since or not), newest first."""
    return db.session.scalars(
        select(Order)
        .join(SessionCost, SessionCost.order_id == Order.id)
        .where(SessionCost.session_id == session.id, SessionCost.state.in_(("paid", "settled")),
               Order.state.in_(PAID_ORDER_STATES))
        .order_by(Order.id.desc())
    ).all()


def settle(cost, person_minutes, teleconference_minutes, by_user, reason, refund):
    """Settle a paid estimate on actual usage. `refund(order, amount)` gives money back through
    the provider; the site's setting decides whether the difference is refunded or credited.
    More used than paid is recorded as owed, never charged.

    The difference is what the session's orders paid (net of refunds already made) minus the
    actual cost, so an estimate changed after payment (several orders, or none for a lowered
    one) settles on the money that really came in; refunds go to the newest order first.
    The estimate is claimed with a conditional UPDATE before any money moves, so a double
    submission cannot settle or refund twice. If a refund fails, the settlement is undone
    (the correction stays in the audit trail) and the error propagates: settling again
    refunds what is left."""
    if min(person_minutes, teleconference_minutes) < 0:
        raise CostError(_l("Enter the minutes as whole numbers of zero or more."), "person_minutes")
    claimed = db.session.execute(
        update(SessionCost)
        .where(SessionCost.id == cost.id, SessionCost.state == "paid")
        .values(state="settled", settled_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise CostError(_l("Only a paid estimate can be settled, once."))
    db.session.refresh(cost)
    db.session.add(UsageCorrection(cost_id=cost.id, user_id=by_user.id, person_minutes=person_minutes,
                                   teleconference_minutes=teleconference_minutes, reason=reason[:300]))
    actual = round_half_up(
        cost.person_rate * person_minutes + cost.teleconference_rate * teleconference_minutes
    )
    actual = max(actual, cost.minimum_minor)
    cost.actual_person_minutes = person_minutes
    cost.actual_teleconference_minutes = teleconference_minutes
    cost.actual_total_minor = actual
    orders = paid_orders(cost.session)
    difference = sum(order.refundable_minor for order in orders) - actual
    from app.services.commerce import settings_for

    refunding = difference > 0 and settings_for(cost.session.organization).settlement_mode == "refund"
    if refunding:
        cost.settlement = "refunded"
    else:
        cost.settlement = "credited" if difference > 0 else "owed" if difference < 0 else "even"
    db.session.commit()
    if refunding:
        left = difference
        try:
            for order in orders:
                amount = min(left, order.refundable_minor)
                if amount > 0:
                    refund(order, amount)
                    left -= amount
        except Exception:
            db.session.rollback()
            _undo_settlement(cost)
            raise
    return difference


def _undo_settlement(cost):
    cost.state = "paid"
    cost.settlement = None
    cost.settled_at = None
    cost.actual_person_minutes = cost.actual_teleconference_minutes = cost.actual_total_minor = None
    db.session.commit()


# Department spend -----------------------------------------------------------------------------


def spend_by_department_and_host(organization, day_from, day_to):
    """Pay-per-use spend (what the estimates' orders charged, net of refunds) per department
    and host, for estimates paid in [day_from, day_to] in the organisation's time zone.

    Grouped by department and host ids (two people may share a name); `sessions` counts
    distinct sessions (a re-estimated session has several estimates); an estimate that needed
    no payment (lowered after paying) adds nothing rather than a negative amount."""
    from app.models import Department, User

    zone = ZoneInfo(organization.timezone)
    start = datetime.combine(day_from, time.min, tzinfo=zone)
    end = datetime.combine(day_to, time.max, tzinfo=zone)
    paid = func.coalesce(Order.total_minor, 0)
    refunded = func.coalesce(Order.refunded_minor, 0)
    rows = db.session.execute(
        select(Department.id, Department.name, User.id, User.name, SessionCost.currency,
               func.count(func.distinct(SessionCost.session_id)), func.sum(paid), func.sum(refunded))
        .join(User, SessionCost.host_id == User.id)
        .outerjoin(Department, SessionCost.department_id == Department.id)
        .outerjoin(Order, SessionCost.order_id == Order.id)
        .where(User.organization_id == organization.id, SessionCost.state.in_(("paid", "settled")),
               SessionCost.paid_at >= start, SessionCost.paid_at <= end)
        .group_by(Department.id, Department.name, User.id, User.name, SessionCost.currency)
        .order_by(Department.name, User.name, User.id, SessionCost.currency)
    ).all()
    return [
        {"department_id": department_id, "department": department, "host_id": host_id,
         "host": host, "currency": currency, "sessions": count, "paid_minor": int(paid_sum),
         "refunded_minor": int(refunded_sum), "net_minor": int(paid_sum) - int(refunded_sum)}
        for department_id, department, host_id, host, currency, count, paid_sum, refunded_sum in rows
    ]
