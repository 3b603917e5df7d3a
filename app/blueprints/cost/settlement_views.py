"""Settling a pay-per-use session after it ended: the estimate beside the actual usage, the
difference refunded, credited or shown as owed (never charged), and the audit trail."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app.blueprints.cost import bp
from app.blueprints.cost.settlement_forms import SettlementForm
from app.extensions import db
from app.models import Attendance
from app.models.base import utcnow
from app.models.pay_per_use import UsageCorrection
from app.services import checkout, session_costs
from app.services.locks import Busy
from app.services.payments import provider_for_order
from app.web import get_managed_session_or_404, render

# Stored on the refunds a settlement makes (data, not shown text).
SETTLEMENT_REASON = "pay-per-use settlement"

OUTCOME_LABELS = {
    "refunded": _l("Refunded"),
    "credited": _l("Credited to the host"),
    "owed": _l("Owed by the host (not charged)"),
    "even": _l("Even"),
}

OUTCOME_MESSAGES = {
    "refunded": _l("The session is settled and the difference has been refunded."),
    "credited": _l("The session is settled and the difference is kept as a credit for the host."),
    "owed": _l("The session is settled. It used more than was paid: the rest is shown as owed and is not charged."),
    "even": _l("The session is settled. It used what was paid."),
}


def _session_and_cost(session_id):
    """The session (host or admin only) and its paid estimate; 404 without one."""
    session = get_managed_session_or_404(session_id)
    cost = session_costs.latest_paid(session)
    if cost is None:
        abort(404)
    return session, cost


def _people_joined(session):
    return db.session.scalar(
        select(func.count(func.distinct(func.coalesce(Attendance.email, Attendance.name))))
        .where(Attendance.session_id == session.id)
    ) or 0


def _money(session, cost):
    """What came in and went back for this session's estimates, split into settlement refunds
    and other ones (from the orders page) so the page adds up."""
    orders = session_costs.paid_orders(session)
    refunds = [r for order in orders for r in order.refunds if r.state == "succeeded"]
    by_settlement = sum(r.amount_minor for r in refunds if r.reason == SETTLEMENT_REASON)
    other = sum(r.amount_minor for r in refunds if r.reason != SETTLEMENT_REASON)
    paid = sum(order.total_minor for order in orders)
    money = dict(paid_minor=paid, refunded_before_minor=other, settlement_refund_minor=by_settlement,
                 difference_minor=None)
    if cost.actual_total_minor is not None:
        money["difference_minor"] = paid - other - cost.actual_total_minor
    return money


def _context(session, cost, form, measured, error=None):
    ended = utcnow() >= session.ends_at
    corrections = db.session.scalars(
        select(UsageCorrection).where(UsageCorrection.cost_id == cost.id)
        .order_by(UsageCorrection.created_at, UsageCorrection.id)
    ).all()
    return dict(
        session=session, cost=cost, form=form, measured=measured, ended=ended,
        canceled=session.state == "canceled",
        can_settle=cost.state == "paid" and ended and session.state != "canceled",
        people_joined=_people_joined(session), corrections=corrections,
        money=_money(session, cost), outcome_labels=OUTCOME_LABELS, currency=cost.currency,
        error=error,
    )


@bp.route("/sessions/<int:session_id>/cost/settlement", methods=["GET", "POST"])
@login_required
def settlement(session_id):
    session, cost = _session_and_cost(session_id)
    measured = session_costs.measured_person_minutes(session)
    if request.method == "GET":
        form = SettlementForm(formdata=None, measured=measured, person_minutes=measured,
                              teleconference_minutes=0)
        return render("cost/settlement.html", **_context(session, cost, form, measured))

    form = SettlementForm(measured=measured)
    refusal = None
    if cost.state != "paid":
        refusal = _l("This session is already settled. It cannot be settled twice.")
    elif session.state == "canceled":
        refusal = _l("This session was canceled: it is not settled.")
    elif utcnow() < session.ends_at:
        refusal = _l("You can settle once the session has ended.")
    if refusal is not None:
        return render("cost/settlement.html", status=409,
                      **_context(session, cost, form, measured, error=refusal))
    if not form.validate_on_submit():
        return render("cost/settlement.html", status=422, **_context(session, cost, form, measured))

    try:
        session_costs.settle(
            cost, form.person_minutes.data, form.teleconference_minutes.data, current_user,
            form.reason.data or "",
            refund=lambda order, amount: checkout.refund_order(
                order, amount, provider_for_order(order), current_user, SETTLEMENT_REASON
            ),
        )
    except session_costs.CostError as error:
        if error.field:
            getattr(form, error.field).errors.append(error.message)
            status = 422
        else:  # settled by someone else a moment ago
            form.form_errors.append(error.message)
            status = 409
        db.session.refresh(cost)
        return render("cost/settlement.html", status=status, **_context(session, cost, form, measured))
    except (checkout.CheckoutError, Busy) as error:
        db.session.refresh(cost)
        message = _l("%(problem)s The session is not settled yet: try again later.", problem=error.message)
        return render("cost/settlement.html", status=502,
                      **_context(session, cost, form, measured, error=message))
    flash(OUTCOME_MESSAGES[cost.settlement], "success")
    return redirect(url_for("cost.settlement", session_id=session.id))
