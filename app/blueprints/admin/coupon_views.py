"""Coupons of the site: list, create, switch off and on, generate in bulk, export. Only while
the site has coupons switched on; otherwise none of these pages exist."""

from decimal import Decimal
from functools import wraps

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_percent, get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.commerce_forms import CouponForm, GenerateCouponsForm
from app.blueprints.admin.report_views import csv_download, page_number
from app.models import Coupon
from app.services import commerce
from app.services import coupons as coupon_service
from app.services.coupons import CouponRuleError
from app.services.money import format_money
from app.web import (
    admin_required,
    form_status,
    get_in_my_organization_or_404,
    render,
    wants_fragment,
)


def coupons_required(view):
    """Admins only (403), and only while the site has coupons switched on (else 404)."""

    @wraps(view)
    @admin_required
    def wrapped(*args, **kwargs):
        if not commerce.settings_for(current_user.organization).coupons_active:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


@bp.app_template_filter("coupon_value")
def coupon_value(coupon):
    """'20 %', 'SEK 50.00' or 'Free', in the reader's language."""
    if coupon.kind == "percent":
        return format_percent(Decimal(coupon.value) / 100)
    if coupon.kind == "fixed":
        return format_money(coupon.value, coupon.currency, str(get_locale()))
    return _l("Free")


def _show_error(form, error):
    field = getattr(form, error.field, None)
    (field.errors if field is not None else form.form_errors).append(error.message)


@bp.route("/coupons", methods=["GET", "POST"])
@coupons_required
def coupons():
    organization = current_user.organization
    form = CouponForm(organization)
    if form.validate_on_submit():
        try:
            coupon = coupon_service.create_coupon(
                organization, form.code.data, currency=organization.currency,
                max_uses=form.max_uses.data, **form.terms(),
            )
        except CouponRuleError as error:
            _show_error(form, error)
        else:
            flash(_l("The coupon %(code)s has been created.", code=coupon.code), "success")
            return redirect(url_for("admin.coupons"))
    return render(
        "admin/coupons.html", form=form, status=form_status(form),
        results=coupon_service.coupons_page(organization, page_number()),
    )


@bp.route("/coupons/<int:coupon_id>/active", methods=["POST"])
@coupons_required
def set_coupon_active(coupon_id):
    """Switch a coupon off or on (`active` = 0 or 1); htmx swaps just its row."""
    coupon = get_in_my_organization_or_404(Coupon, coupon_id)
    active = request.form.get("active")
    if active not in ("0", "1"):
        abort(400)
    coupon_service.set_coupon_active(current_user.organization, coupon, active == "1")
    if wants_fragment():
        return render_template("admin/_coupon_row.html", coupon=coupon, changed=True)
    if coupon.active:
        flash(_l("The coupon %(code)s can be used again.", code=coupon.code), "success")
    else:
        flash(_l("The coupon %(code)s has been disabled.", code=coupon.code), "success")
    return redirect(url_for("admin.coupons"))


@bp.route("/coupons/generate", methods=["GET", "POST"])
@coupons_required
def generate_coupons():
    """Make N one-use codes at once and hand them over as a CSV file."""
    organization = current_user.organization
    form = GenerateCouponsForm(organization)
    if form.validate_on_submit():
        try:
            made = coupon_service.generate_codes(
                organization, form.count.data, form.prefix.data, currency=organization.currency,
                **form.terms(),
            )
        except CouponRuleError as error:
            _show_error(form, error)
        else:
            flash(ngettext("%(num)d coupon code has been generated.",
                           "%(num)d coupon codes have been generated.", len(made)), "success")
            text = coupon_service.coupons_csv(made, organization.timezone)
            return csv_download(text, "coupons-generated", organization)
    return render("admin/coupon_generate.html", form=form, status=form_status(form))


@bp.route("/coupons.csv")
@coupons_required
def export_coupons():
    organization = current_user.organization
    text = coupon_service.coupons_csv(coupon_service.all_coupons(organization), organization.timezone)
    return csv_download(text, "coupons", organization)
