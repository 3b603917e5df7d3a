"""Payment information page, coupon box, hand-off to the provider, return and receipt."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from babel.numbers import format_percent
from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.blueprints.checkout import bp
from app.blueprints.checkout.forms import BillingDetailsForm, CouponForm, ExtendHoldForm, PaymentForm
from app.extensions import limiter
from app.models.base import utcnow
from app.services import billing_details, checkout, commerce, holds, invoice_pdf, invoicing
from app.services.checkout import payment_for_provider_order
from app.services.locks import Busy
from app.services.order_links import order_for_token
from app.services.payments import provider_for_order
from app.security import allow_form_action
from app.web import external_url, form_status, render, wants_fragment


@bp.app_template_filter("tax_rate")
def tax_rate(rate_bp):
    """2500 -> '25%' ('25 %' in French), in the reader's language."""
    return format_percent(Decimal(rate_bp) / 10000, locale=get_locale(), decimal_quantization=False)


@bp.app_template_filter("document_title")
def document_title(invoice):
    """'Invoice', 'Receipt' or 'Credit note', as printed on the document."""
    return invoice_pdf.title_of(invoice)


def _order_or_404(token):
    order = order_for_token(token, current_app.config["SECRET_KEY"])
    if order is None:
        abort(404)
    return order


def _methods(order, settings):
    return commerce.payment_methods(settings) if order.total_minor else []


PAYPAL_CHECKOUT_ORIGINS = ("https://www.paypal.com", "https://www.sandbox.paypal.com")


def _allow_paypal_pages(settings):
    """The Pay button's post is answered with a redirect to PayPal: the CSP must allow it."""
    api = urlsplit(settings.paypal_base_url or current_app.config["PAYPAL_BASE_URL"])
    allow_form_action(*PAYPAL_CHECKOUT_ORIGINS, f"{api.scheme}://{api.netloc}")


def _render_payment(token, order, coupon_form=None, payment_form=None, status=200, billing_form=None):
    settings = commerce.settings_for(order.organization)
    if settings.paypal_enabled:
        _allow_paypal_pages(settings)
    payment_form = payment_form or PaymentForm(_methods(order, settings))
    payment_form.shown_total.data = order.total_minor
    payment_form.shown_total.raw_data = []  # else WTForms echoes the stale total that was posted
    now = utcnow()
    return render(
        "checkout/payment.html", "checkout/_summary.html", status=status, token=token, order=order,
        settings=settings, coupon_form=coupon_form or CouponForm(formdata=None),
        payment_form=payment_form, payable=checkout.is_payable(order, now),
        hold_seconds_left=holds.seconds_left(order, now), can_extend_hold=holds.can_extend(order, now),
        extend_form=ExtendHoldForm(formdata=None), hold_minutes=settings.hold_minutes,
        billing_form=billing_form or BillingDetailsForm.for_order(order),
    )


@bp.route("/checkout/<token>")
def payment(token):
    order = _order_or_404(token)
    if order.state != "pending":
        return redirect(url_for("checkout.receipt", token=token))
    return _render_payment(token, order)


def _coupon_limit():
    return current_app.config["RATELIMIT_COUPON"]


@bp.route("/checkout/<token>/coupon", methods=["POST"])
@limiter.limit(_coupon_limit)
def apply_coupon(token):
    order = _order_or_404(token)
    settings = commerce.settings_for(order.organization)
    if not settings.coupons_active:
        abort(404)
    form = CouponForm()
    if form.validate_on_submit():
        try:
            checkout.apply_coupon(order, form.code.data, settings.coupons_active)
        except (checkout.CheckoutError, Busy) as error:
            form.code.errors.append(error.message)
    if not form.errors and not wants_fragment():
        return redirect(url_for("checkout.payment", token=token))
    return _render_payment(token, order, coupon_form=form, status=form_status(form))


@bp.route("/checkout/<token>/coupon/remove", methods=["POST"])
def remove_coupon(token):
    order = _order_or_404(token)
    checkout.remove_coupon(order)
    if wants_fragment():
        return _render_payment(token, order)
    return redirect(url_for("checkout.payment", token=token))


@bp.route("/checkout/<token>/hold/extend", methods=["POST"])
def extend_hold(token):
    order = _order_or_404(token)
    if not order.session_id:
        abort(404)
    form = ExtendHoldForm()
    if form.validate_on_submit():
        try:
            holds.extend_hold(order, commerce.settings_for(order.organization).hold_minutes)
        except (holds.HoldError, Busy) as error:
            flash(error.message, "error")
    if wants_fragment():
        return _render_payment(token, order)
    return redirect(url_for("checkout.payment", token=token))


@bp.route("/checkout/<token>/billing", methods=["POST"])
def billing(token):
    """The buyer's invoice details: they may change the tax, so the total is shown again."""
    order = _order_or_404(token)
    form = BillingDetailsForm()
    if form.validate_on_submit():
        try:
            billing_details.set_billing_details(order, **form.details())
        except (checkout.CheckoutError, Busy) as error:
            field = getattr(form, getattr(error, "field", None) or "", None)
            (field.errors if field is not None else form.form_errors).append(error.message)
    if not form.errors and not wants_fragment():
        flash(_l("Your invoice details have been saved."), "success")
        return redirect(url_for("checkout.payment", token=token))
    return _render_payment(token, order, billing_form=form, status=form_status(form))


@bp.route("/checkout/<token>/pay", methods=["POST"])
def pay(token):
    order = _order_or_404(token)
    settings = commerce.settings_for(order.organization)
    form = PaymentForm(_methods(order, settings))
    if not form.validate_on_submit():
        return _render_payment(token, order, payment_form=form, status=422)
    method = form.method.data if "method" in form else ""
    try:
        approval_url = checkout.begin_payment(
            order, method, form.shown_total.data,
            provider=provider_for_order(order) if method in ("paypal", "card") else None,
            return_url=external_url("checkout.provider_return", token=token),
            cancel_url=external_url("checkout.provider_cancel", token=token),
            bank_transfer_hold=timedelta(days=current_app.config["BANK_TRANSFER_HOLD_DAYS"]),
        )
    except (checkout.CheckoutError, Busy) as error:
        form.form_errors.append(error.message)
        return _render_payment(token, order, payment_form=form, status=422)
    return redirect(approval_url or url_for("checkout.receipt", token=token))


@bp.route("/checkout/<token>/paypal/return")
def provider_return(token):
    """PayPal sends the buyer back here after approving; we capture at once."""
    order = _order_or_404(token)
    payment = payment_for_provider_order(request.args.get("token", ""))
    if payment is None or payment.order_id != order.id:
        abort(404)
    checkout.complete_provider_payment(payment, provider_for_order(order))
    return redirect(url_for("checkout.receipt", token=token))


@bp.route("/checkout/<token>/paypal/cancel")
def provider_cancel(token):
    _order_or_404(token)
    flash(_l("The payment was canceled. Nothing was charged; you can choose again."), "info")
    return redirect(url_for("checkout.payment", token=token))


@bp.route("/checkout/<token>/receipt")
def receipt(token):
    order = _order_or_404(token)
    settings = commerce.settings_for(order.organization)
    return render("checkout/receipt.html", token=token, order=order, settings=settings,
                  documents=invoicing.documents_of(order.id))


@bp.route("/checkout/<token>/documents/<int:invoice_id>.pdf")
def document(token, invoice_id):
    """The order's invoice or a credit note as a PDF; only the documents of this link's order."""
    order = _order_or_404(token)
    invoice = invoicing.document_of_order(order.id, invoice_id)
    if invoice is None:
        abort(404)
    return pdf_download(invoice)


def pdf_download(invoice):
    response = Response(invoice_pdf.render(invoice), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice_pdf.filename(invoice)}"'
    return response
