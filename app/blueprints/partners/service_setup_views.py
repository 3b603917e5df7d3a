"""Service setup after the wizard, ending with Provision.

  GET  /partners/orders/<id>/service             the settings page; once provisioned, the "done" page
  POST /partners/orders/<id>/service             *Check availability* without JavaScript: the page
                                                 again with the result, nothing saved
  GET  /partners/orders/<id>/service/subdomain   *Check availability* with htmx: the result alone
  POST /partners/orders/<id>/provision           Provision: all settings at once, then the done page
"""

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from app.blueprints.partners import bp
from app.blueprints.partners.service_setup_forms import ServiceSetupForm
from app.blueprints.plans.forms import CYCLE_LABELS
from app.extensions import db
from app.models import PartnerOrder
from app.services import partner_provisioning, plan_pricing, subscriptions
from app.services.locks import Busy
from app.services.partner_provisioning import ProvisionError
from app.web import render


def _order_or_404(order_id, manage=False):
    """The order, if the signed-in user may see it (`manage`: change it); others do not exist."""
    order = db.session.get(PartnerOrder, order_id)
    if order is None or order.state not in partner_provisioning.SETUP_STATES or order.customer is None \
            or order.subscription is None or not partner_provisioning.may_view(current_user, order):
        abort(404)
    if manage and not partner_provisioning.may_manage(current_user, order):
        abort(403)  # the operator's administrators look, but do not provision for the customer
    return order


def _render_setup(order, form, status=200, check=None, error=None):
    subscription = order.subscription
    lines = partner_provisioning.billing_lines(subscription)
    return render(
        "partners/service_setup.html", status=status, order=order, subscription=subscription, form=form,
        check=check, error=error, lines=lines, total_minor=plan_pricing.total(lines),
        cycle_labels=CYCLE_LABELS,
        may_manage=partner_provisioning.may_manage(current_user, order),
        site_domain=current_app.config["SITE_DOMAIN"],
    )


def _render_done(order):
    return render(
        "partners/service_provisioned.html", order=order, subscription=order.subscription,
        invoice=partner_provisioning.first_invoice(order), site_domain=current_app.config["SITE_DOMAIN"],
    )


@bp.route("/orders/<int:order_id>/service", methods=["GET", "POST"])
@login_required
def service_setup(order_id):
    order = _order_or_404(order_id)
    if order.state == "provisioned":
        if request.method == "POST":
            return redirect(url_for(".service_setup", order_id=order.id))
        return _render_done(order)
    if request.method == "GET":
        return _render_setup(order, ServiceSetupForm.for_order(order))
    # *Check availability* without JavaScript (and Enter in a field): the page again, with the
    # site URL checked and everything typed kept; nothing is saved.
    form = ServiceSetupForm()
    form.subdomain.validate(form)
    problem = " ".join(map(str, form.subdomain.errors)) or subscriptions.subdomain_unavailable(
        form.subdomain.data, order.customer_organization_id)
    form.subdomain.errors = []
    return _render_setup(order, form, check=_check_result(form.subdomain.data, problem))


def _check_result(subdomain, problem):
    return {"subdomain": subdomain, "problem": problem}


@bp.route("/orders/<int:order_id>/service/subdomain")
@login_required
def check_subdomain(order_id):
    """*Check availability* (htmx): whether the site URL is free for this customer."""
    order = _order_or_404(order_id)
    subdomain = (request.args.get("subdomain") or "").strip().lower()
    problem = subscriptions.subdomain_unavailable(subdomain, order.customer_organization_id)
    return render("partners/_service_subdomain_status.html", "partners/_service_subdomain_status.html",
                  check=_check_result(subdomain, problem), form=None, site_domain=current_app.config["SITE_DOMAIN"])


@bp.route("/orders/<int:order_id>/provision", methods=["POST"])
@login_required
def provision(order_id):
    order = _order_or_404(order_id, manage=True)
    done = redirect(url_for(".service_setup", order_id=order.id))
    if order.state == "provisioned":
        return done  # a second click after the first finished
    form = ServiceSetupForm()
    if not form.validate_on_submit():
        _check_subdomain_too(form, order)
        return _render_setup(order, form, status=422)
    try:
        partner_provisioning.provision(order.id, form.settings())
    except ProvisionError as refusal:
        shown = _add_error(form, refusal.message, refusal.field)
        db.session.refresh(order)
        return _render_setup(order, form, status=422, error=None if shown else refusal.message)
    except Busy as busy:
        return _render_setup(order, form, status=422, error=busy.message)
    return done


def _check_subdomain_too(form, order):
    """With other fields wrong, say at once whether the site URL is free as well."""
    if form.subdomain.errors:
        return
    problem = subscriptions.subdomain_unavailable(form.subdomain.data, order.customer_organization_id)
    if problem:
        _add_error(form, problem, "subdomain")


def _add_error(form, message, field):
    """Show a refusal on its field; False when it is about no field of the form."""
    target = getattr(form, field or "", None)
    if target is None or not hasattr(target, "errors"):
        return False
    target.errors = [*target.errors, message]
    return True
