"""The Estimated session cost page (pay-per-use): live estimate, Change, Schedule and pay."""

from flask import abort, current_app, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.cost import bp
from app.blueprints.cost.forms import EstimateForm
from app.services import commerce, session_costs
from app.services.order_links import make_order_token
from app.web import form_status, get_managed_session_or_404, render


def _context(session, form, settings):
    """The page's data: the estimate for valid numbers, none for invalid ones."""
    estimate = None
    previous = session_costs.latest_paid(session)
    already_paid = session_costs.net_paid_minor(session)
    numbers = (form.duration_min, form.computers, form.teleconference_computers)
    if not any(f.errors for f in numbers) and all(f.data is not None for f in numbers):
        estimate = session_costs.estimate_for(settings, form.duration_min.data, form.computers.data,
                                              form.teleconference_computers.data)
        form.shown_total.data = max(0, estimate.total_minor - already_paid)
    return dict(session=session, form=form, estimate=estimate, previous=previous,
                already_paid=already_paid, currency=session.currency)


def _session_and_settings(session_id):
    session = get_managed_session_or_404(session_id)
    settings = commerce.settings_for(session.organization)
    if not session_costs.needs_payment(settings):
        abort(404)  # pay-per-use is off for this site
    return session, settings


def _initial_form(session):
    previous = session_costs.latest_paid(session)
    return EstimateForm(
        formdata=None, duration_min=session.duration_min,
        computers=previous.computers if previous else session.capacity,
        teleconference_computers=previous.teleconference_computers if previous else 0,
    )


@bp.route("/sessions/<int:session_id>/cost")
@login_required
def estimate(session_id):
    session, settings = _session_and_settings(session_id)
    return render("cost/estimate.html", **_context(session, _initial_form(session), settings))


@bp.route("/sessions/<int:session_id>/cost/preview", methods=["POST"])
@login_required
def preview(session_id):
    """The live estimate: htmx posts the numbers as they change; errors keep the old figures out."""
    session, settings = _session_and_settings(session_id)
    form = EstimateForm()
    form.validate_on_submit()
    return render("cost/estimate.html", "cost/_estimate.html", status=form_status(form),
                  **_context(session, form, settings))


@bp.route("/sessions/<int:session_id>/cost", methods=["POST"])
@login_required
def pay(session_id):
    """Schedule: freeze the estimate the page showed and go to payment information."""
    session, settings = _session_and_settings(session_id)
    form = EstimateForm()
    if form.validate_on_submit():
        try:
            order = session_costs.open_estimate(
                session, current_user, settings, form.duration_min.data, form.computers.data,
                form.teleconference_computers.data, form.shown_total.data,
            )
        except session_costs.CostError as error:
            form.form_errors.append(error.message)
        else:
            if order is None:
                flash(_l("Nothing more to pay: the session is scheduled."), "success")
                return redirect(url_for("scheduling.my_sessions"))
            token = make_order_token(order, current_app.config["SECRET_KEY"])
            return redirect(url_for("checkout.payment", token=token))
    return render("cost/estimate.html", status=422, **_context(session, form, settings))
