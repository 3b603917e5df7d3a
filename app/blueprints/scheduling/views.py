"""Hosts' sessions (/sessions) and the public session page with registration (/s/<slug>)."""

from datetime import time
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale, get_timezone, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.blueprints.scheduling import bp
from app.blueprints.scheduling.forms import (
    CancelSessionForm,
    RefundForm,
    RegisterForm,
    SessionForm,
)
from app.extensions import db
from app.i18n import attendee_timezone
from app.models import Order, TrainingSession
from app.models.base import utcnow
from app.services import (
    cancellation_policy,
    checkout,
    commerce,
    registrations,
    reports,
    scheduling,
    session_costs,
)
from app.services.locks import Busy
from app.services.money import AmountError, amount_error_message, parse_major_amount, to_major
from app.services.order_links import make_order_token
from app.services.payments import provider_for_order
from app.web import csv_attachment, form_status, get_managed_session_or_404, render


def _require_scheduler():
    if not scheduling.can_schedule(current_user):
        abort(403)


def _settings():
    return commerce.settings_for(current_user.organization)


def _session_values(form, currency):
    """The form's fields as the scheduling service takes them; None if the fee is not valid."""
    fee_minor = 0
    if "fee" in form and form.fee.data and form.fee.data.strip():
        try:
            fee_minor = parse_major_amount(form.fee.data, currency)
        except AmountError as error:
            form.fee.errors.append(amount_error_message(error, currency))
            return None
    policy = None  # the site's default
    if form.cancellation_choice.data == "own":
        try:
            policy = cancellation_policy.serialise(
                cancellation_policy.parse_text(form.cancellation_tiers.data, currency))
        except cancellation_policy.PolicyError as error:
            form.cancellation_tiers.errors.append(error.message)
            return None
    return dict(cancellation_policy=policy,
        title=form.title.data, description=form.description.data or "", day=form.day.data,
        time_of_day=form.time_of_day.data, timezone=form.timezone.data,
        duration_min=form.duration_min.data, capacity=form.capacity.data, fee_minor=fee_minor,
        access_mode=form.access_mode.data, meeting_url=form.meeting_url.data or "",
    )


@bp.route("/sessions/")
@login_required
def my_sessions():
    _require_scheduler()
    past = request.args.get("past") == "1"
    today = scheduling.local_to_utc(utcnow().astimezone(get_timezone()).date(), time(0), str(get_timezone()))
    results, rows = scheduling.my_sessions_page(
        current_user, past, request.args.get("page", 1, type=int), today
    )
    return render("scheduling/list.html", results=results, rows=rows, past=past,
                  pay_per_use=session_costs.needs_payment(_settings()))


@bp.route("/sessions/new", methods=["GET", "POST"])
@login_required
def new_session():
    _require_scheduler()
    fee_enabled = _settings().fee_based_active
    form = SessionForm(fee_enabled=fee_enabled, timezone=str(get_timezone()),
                       duration_min=current_user.organization.default_duration_min)
    if form.validate_on_submit():
        values = _session_values(form, current_user.organization.currency)
        if values is not None:
            pay_first = session_costs.needs_payment(_settings())
            try:
                session = scheduling.schedule(current_user, awaiting_payment=pay_first, **values)
            except scheduling.SchedulingError as error:
                getattr(form, error.field).errors.append(error.message)
            else:
                if pay_first:  # pay-per-use: the Estimated session cost page comes first
                    return redirect(url_for("cost.estimate", session_id=session.id))
                flash(_l("The session has been scheduled."), "success")
                return redirect(url_for("scheduling.public_page", slug=session.slug))
    return render("scheduling/edit.html", form=form, session=None, status=form_status(form),
                  currency=current_user.organization.currency)


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit_session(session_id):
    session = get_managed_session_or_404(session_id)
    fee_enabled = _settings().fee_based_active
    form = SessionForm(fee_enabled=fee_enabled, obj=session)
    if not form.is_submitted():
        local = session.starts_at.astimezone(ZoneInfo(session.timezone))
        form.day.data, form.time_of_day.data = local.date(), local.time()
        if "fee" in form and session.fee_minor:
            form.fee.data = str(to_major(session.fee_minor, session.currency))
        if session.cancellation_policy is not None:
            form.cancellation_choice.data = "own"
            form.cancellation_tiers.data = cancellation_policy.to_text(
                cancellation_policy.read(session.cancellation_policy), session.currency)
    if form.validate_on_submit():
        values = _session_values(form, session.currency)
        if values is not None:
            if "fee" not in form:
                values["fee_minor"] = session.fee_minor
            try:
                scheduling.update(session, **values)
            except scheduling.SchedulingError as error:
                (getattr(form, error.field).errors if error.field else form.form_errors).append(
                    error.message
                )
            else:
                if session_costs.needs_payment(_settings()):  # the estimate may have changed
                    return redirect(url_for("cost.estimate", session_id=session.id))
                flash(_l("The session has been saved."), "success")
                return redirect(url_for("scheduling.my_sessions"))
    return render("scheduling/edit.html", form=form, session=session, status=form_status(form),
                  cancel_form=CancelSessionForm(), currency=session.currency,
                  refund_progress=scheduling.refund_progress(session))


@bp.route("/sessions/<int:session_id>/cancel", methods=["POST"])
@login_required
def cancel_session(session_id):
    session = get_managed_session_or_404(session_id)
    form = CancelSessionForm()
    if session.state != "canceled" and not form.validate_on_submit():
        flash(_l("Tick the box to confirm."), "error")
        return redirect(url_for("scheduling.edit_session", session_id=session.id))
    # Once canceled, the same button carries on with the refunds an interruption left.
    try:
        progress = scheduling.cancel(session, provider_for_order, current_user)
    except Busy as error:
        flash(error.message, "error")
        return redirect(url_for("scheduling.edit_session", session_id=session.id))
    if progress.pending:
        flash(ngettext(
            "The session is canceled and the attendees emailed. %(num)d of %(total)d refunds is still "
            "being processed and will be retried automatically.",
            "The session is canceled and the attendees emailed. %(num)d of %(total)d refunds are still "
            "being processed and will be retried automatically.",
            progress.pending, total=progress.total), "error")
    else:
        flash(_l("The session is canceled. Attendees have been emailed and refunded."), "success")
    return redirect(url_for("scheduling.session_orders", session_id=session.id))


@bp.route("/sessions/<int:session_id>/orders")
@login_required
def session_orders(session_id):
    session = get_managed_session_or_404(session_id)
    orders = db.session.scalars(
        select(Order).where(Order.session_id == session.id).order_by(Order.created_at.desc())
    ).all()
    return render("scheduling/orders.html", session=session, orders=orders,
                  state_labels=reports.ORDER_STATE_LABELS, refund_form=RefundForm(),
                  refund_progress=scheduling.refund_progress(session))


@bp.route("/sessions/<int:session_id>/orders.csv")
@login_required
def session_orders_csv(session_id):
    """The session's orders as CSV, for its host as much as for administrators."""
    session = get_managed_session_or_404(session_id)
    orders = reports.filtered_orders(session.organization, reports.OrderFilter(session_id=session.id))
    return csv_attachment(reports.orders_csv(orders, session.organization.timezone),
                          f"orders-{session.slug}.csv")


@bp.route("/sessions/<int:session_id>/orders/<int:order_id>/refund", methods=["POST"])
@login_required
def refund(session_id, order_id):
    session = get_managed_session_or_404(session_id)
    order = db.session.get(Order, order_id)
    if order is None or order.session_id != session.id:
        abort(404)
    form = RefundForm()
    if form.validate_on_submit():
        try:
            amount = parse_major_amount(form.amount.data, order.currency)
            checkout.refund_order(order, amount, provider_for_order(order), current_user,
                                  form.reason.data or "")
        except AmountError as error:
            flash(amount_error_message(error, order.currency), "error")
        except (checkout.CheckoutError, Busy) as error:
            flash(error.message, "error")
        else:
            flash(_l("The refund has been made and the attendee emailed."), "success")
    else:
        flash(_l("Enter an amount such as 50 or 49.50."), "error")
    return redirect(url_for("scheduling.session_orders", session_id=session.id))


@bp.route("/sessions/<int:session_id>/orders/<int:order_id>/mark-paid", methods=["POST"])
@login_required
def mark_paid(session_id, order_id):
    session = get_managed_session_or_404(session_id)
    order = db.session.get(Order, order_id)
    if order is None or order.session_id != session.id or not current_user.is_admin:
        abort(404)
    try:
        checkout.mark_bank_transfer_paid(order)
    except (checkout.CheckoutError, Busy) as error:
        flash(error.message, "error")
    else:
        flash(_l("Order %(code)s is marked as paid.", code=order.code), "success")
    return redirect(url_for("scheduling.session_orders", session_id=session.id))


# Public ------------------------------------------------------------------------------------


def public_session_or_404(slug):
    session = db.session.execute(
        select(TrainingSession)
        .options(joinedload(TrainingSession.host), joinedload(TrainingSession.organization))
        .where(TrainingSession.slug == slug)
    ).scalar_one_or_none()
    if session is None or session.state == "draft":
        abort(404)
    return session


@bp.route("/s/<slug>")
def public_page(slug):
    return render_public_page(public_session_or_404(slug))


def render_public_page(session, waitlist_form=None, status=200):
    """The public page; when the session is full, with the waitlist form (the waitlist
    blueprint renders it again with the form's errors)."""
    from app.blueprints.waitlist.forms import JoinWaitlistForm

    now = utcnow()
    # Kept for the whole render: the policy text reads the settings again, from the identity map.
    settings = commerce.settings_for(session.organization)
    takes_registrations = not session.is_paid or settings.fee_based_active
    return render(
        "scheduling/public.html", session=session, seats_left=registrations.seats_left(session, now),
        is_open=takes_registrations and registrations.is_open_for_registration(session, now),
        waitlist_form=waitlist_form or JoinWaitlistForm(formdata=None), status=status, settings=settings,
    )


@bp.route("/s/<slug>/register", methods=["GET", "POST"])
def register(slug):
    session = public_session_or_404(slug)
    settings = commerce.settings_for(session.organization)
    if session.is_paid and not settings.fee_based_active:
        abort(404)  # fee-based training switched off: paid sessions take no registrations
    if not registrations.is_open_for_registration(session, utcnow()):
        return redirect(url_for("scheduling.public_page", slug=slug))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            order = registrations.register(
                session, form.name.data, form.email.data, str(get_locale()), settings.hold_minutes,
                timezone=attendee_timezone(),
            )
        except registrations.RegistrationError as error:
            (getattr(form, error.field).errors if error.field else form.form_errors).append(
                error.message
            )
        except Busy as error:
            form.form_errors.append(error.message)
        else:
            token = make_order_token(order, current_app.config["SECRET_KEY"])
            return redirect(url_for("checkout.payment", token=token))
    return render("scheduling/register.html", form=form, session=session,
                  seats_left=registrations.seats_left(session), status=form_status(form))
