"""The organisation's subscription: licenses, auto-renewal, phone numbers, its orders; and the
"Your site is being set up" banner on every page while provisioning runs."""

from flask import flash, g, redirect, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_login import current_user
from sqlalchemy import select

from app.blueprints.plans import bp
from app.blueprints.plans.forms import AddLicensesForm, AutoRenewForm, PortingForm, ReduceLicensesForm
from app.blueprints.plans.views import _int_or_none, _pay
from app.extensions import db
from app.models import Order
from app.services import subscriptions
from app.services.locks import Busy
from app.services.plan_admin import SUBSCRIPTION_STATE_LABELS
from app.services.reports import ORDER_STATE_LABELS
from app.services.subscriptions import PlanError
from app.web import admin_required, render, wants_fragment


@bp.app_context_processor
def plan_of_my_organization():
    """`plan_state()`: the state of the reader's organisation's plan (None: free), looked up
    once per request; while it is "provisioning" every page shows the set-up banner."""

    def plan_state():
        if not current_user.is_authenticated:
            return None
        if "plan_state" not in g:
            g.plan_state = subscriptions.live_subscription_state(current_user.organization_id)
        return g.plan_state

    return {"plan_state": plan_state}


def _subscription():
    return subscriptions.live_subscription(current_user.organization_id)


def _render(subscription, status=200, add_form=None, reduce_form=None, porting_form=None):
    orders = db.session.scalars(
        select(Order).where(Order.subscription_id == subscription.id).order_by(Order.id.desc())
    ).all() if subscription else []
    add_form = add_form or AddLicensesForm(formdata=None)
    quote = _quote(subscription, add_form.licenses.data) if subscription and subscription.current_period_end else None
    if quote is not None:
        add_form.shown_total.data, add_form.shown_total.raw_data = str(quote), []
    return render(
        "plans/subscription.html", status=status, subscription=subscription, orders=orders, quote=quote,
        licensed_users=subscriptions.licensed_users(current_user.organization_id),
        auto_renew_form=AutoRenewForm(formdata=None, auto_renew=subscription.auto_renew if subscription else False),
        add_form=add_form,
        reduce_form=reduce_form or ReduceLicensesForm(
            formdata=None, licenses=(subscription.licenses_at_renewal or subscription.licenses) if subscription else 1
        ),
        porting_form=porting_form or PortingForm(formdata=None),
        subscription_states=SUBSCRIPTION_STATE_LABELS, order_states=ORDER_STATE_LABELS,
    )


def _quote(subscription, added):
    if not isinstance(added, int) or added < 1:
        return None
    return subscriptions.license_top_up_quote(subscription, added)


@bp.route("/subscription")
@admin_required
def subscription():
    return _render(_subscription())


def _live_or_redirect():
    subscription = _subscription()
    if subscription is None or subscription.state == "pending":
        return None
    return subscription


@bp.route("/subscription/auto-renew", methods=["POST"])
@admin_required
def set_auto_renew():
    subscription = _live_or_redirect()
    form = AutoRenewForm()
    if subscription is None or not form.validate_on_submit():
        return redirect(url_for("plans.subscription"))
    try:
        subscriptions.set_auto_renew(subscription, form.auto_renew.data)
    except (PlanError, Busy) as error:
        flash(error.message, "error")
    else:
        flash(_l("Automatic renewal is on.") if form.auto_renew.data else
              _l("Automatic renewal is off: the plan ends with the current period."), "success")
    return redirect(url_for("plans.subscription"))


@bp.route("/subscription/licenses/quote", methods=["POST"])
@admin_required
def license_quote():
    """The prorated price of more licenses, updated as the buyer types (htmx)."""
    subscription = _live_or_redirect()
    if subscription is None:
        return redirect(url_for("plans.subscription"))
    form = AddLicensesForm()
    form.validate_on_submit()
    quote = _quote(subscription, form.licenses.data) if not form.errors else None
    if quote is not None:
        form.shown_total.data, form.shown_total.raw_data = str(quote), []
    return render("plans/_license_quote.html", "plans/_license_quote.html",
                  status=422 if form.errors else 200, add_form=form, quote=quote, subscription=subscription)


@bp.route("/subscription/licenses", methods=["POST"])
@admin_required
def add_licenses():
    subscription = _live_or_redirect()
    if subscription is None:
        return redirect(url_for("plans.subscription"))
    form = AddLicensesForm()
    if not form.validate_on_submit():
        return _render(subscription, status=422, add_form=form)
    if not form.shown_total.data:  # the price was not shown yet (no JavaScript): show it first
        return _render(subscription, add_form=form)
    try:
        order = subscriptions.order_licenses(
            subscription, current_user, form.licenses.data, _int_or_none(form.shown_total.data), str(get_locale())
        )
    except (PlanError, Busy) as error:
        form.licenses.errors = [*form.licenses.errors, error.message]
        return _render(_subscription(), status=422, add_form=form)
    return _pay(order)


@bp.route("/subscription/licenses/reduce", methods=["POST"])
@admin_required
def reduce_licenses():
    subscription = _live_or_redirect()
    if subscription is None:
        return redirect(url_for("plans.subscription"))
    form = ReduceLicensesForm()
    if form.validate_on_submit():
        try:
            subscriptions.reduce_licenses_at_renewal(subscription, form.licenses.data)
        except (PlanError, Busy) as error:
            form.licenses.errors = [*form.licenses.errors, error.message]
    if form.errors:
        return _render(_subscription(), status=422, reduce_form=form)
    flash(lazy_ngettext("From the next renewal your plan has %(num)d license.",
                        "From the next renewal your plan has %(num)d licenses.", form.licenses.data), "success")
    return redirect(url_for("plans.subscription"))


@bp.route("/subscription/porting", methods=["POST"])
@admin_required
def request_porting():
    subscription = _live_or_redirect()
    if subscription is None:
        return redirect(url_for("plans.subscription"))
    form = PortingForm()
    if form.validate_on_submit():
        try:
            numbers = subscriptions.parse_phone_numbers(form.porting_numbers.data)
            subscriptions.request_porting(subscription, numbers)
        except (PlanError, Busy) as error:
            form.porting_numbers.errors = [*form.porting_numbers.errors, error.message]
    if form.errors:
        return _render(_subscription(), status=422, porting_form=form)
    flash(_l("Your porting request is recorded."), "success")
    if wants_fragment():
        return _render(_subscription())
    return redirect(url_for("plans.subscription"))
