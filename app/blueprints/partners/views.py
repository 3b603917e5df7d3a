"""Partner orders: place one for a customer, list them, resend the setup link."""

from flask import abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.partners import bp
from app.blueprints.partners.forms import PartnerOrderForm
from app.blueprints.partners.links import setup_link_for
from app.models.base import utcnow
from app.services import partner_orders, plan_catalog
from app.services.locks import Busy
from app.services.partner_orders import OrderRequest, PartnerOrderError
from app.web import form_status, render

ORDER_STATE_LABELS = {
    "placed": _l("Waiting for the start date"),
    "setup_sent": _l("Setup link sent"),
    "in_setup": _l("Being set up"),
    "provisioned": _l("Provisioned"),
    "canceled": _l("Canceled"),
}


def _may_order():
    if not partner_orders.may_place_orders(current_user):
        abort(403)


@bp.route("/orders")
@login_required
def orders():
    _may_order()
    return render("partners/orders.html", orders=partner_orders.orders_for(current_user),
                  state_labels=ORDER_STATE_LABELS)


@bp.route("/orders/new", methods=["GET", "POST"])
@login_required
def new_order():
    _may_order()
    operator = current_user.organization.kind != "partner"
    form = PartnerOrderForm(plan_catalog.plans_on_sale(), plan_catalog.add_ons_on_sale(),
                            partner_orders.partner_organizations() if operator else None)
    if form.validate_on_submit():
        request = OrderRequest(
            plan_code=form.plan.data, cycle=form.cycle.data, licenses=form.licenses.data,
            add_on_codes=tuple(form.add_ons.data or ()), customer_name=form.customer_name.data,
            requested_start_on=form.requested_start_on.data, contact_email=form.contact_email.data,
            partner_name=form.partner_name.data if operator else "",
            partner_organization_id=(form.partner_organization_id.data or None) if operator else None,
        )
        try:
            order = partner_orders.place_order(current_user, request, utcnow().date())
        except PartnerOrderError as error:
            getattr(form, error.field or "", form.plan).errors.append(error.message)
        else:
            flash(_l("Order %(code)s has been placed. %(email)s gets the setup link on the start date.",
                     code=order.code, email=order.contact_email), "success")
            return redirect(url_for("partners.orders"))
    return render("partners/new_order.html", form=form, status=form_status(form))


@bp.route("/orders/<int:order_id>/resend", methods=["POST"])
@login_required
def resend(order_id):
    _may_order()
    order = partner_orders.order_visible_to(current_user, order_id)
    if order is None:
        abort(404)
    try:
        partner_orders.resend_setup_link(order, setup_link_for)
    except (PartnerOrderError, Busy) as error:
        flash(error.message, "error")
    else:
        flash(_l("A new setup link has been sent to %(email)s.", email=order.contact_email), "success")
    return redirect(url_for("partners.orders"))
