"""Buyers' pages: Plans and pricing, cart, checkout, order status, subscription."""

from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.blueprints.plans import bp
from app.blueprints.plans.forms import AccountLookupForm, CartForm, CheckoutForm, SalesRequestForm
from app.extensions import db, limiter
from app.models import Order
from app.models.base import utcnow
from app.security import allow_form_action
from app.services import checkout, plan_catalog, plan_pricing, sales, subscriptions
from app.services.accounts import find_user_by_email
from app.services.locks import Busy
from app.services.payments import operator_paypal
from app.services.subscriptions import PlanError
from app.web import admin_required, external_url, form_status, render, wants_fragment

CART_KEY = "plan_cart"
PAYPAL_CHECKOUT_ORIGINS = ("https://www.paypal.com", "https://www.sandbox.paypal.com")


# Plans and pricing ---------------------------------------------------------------------------


@bp.route("/")
def pricing():
    plans = plan_catalog.plans_on_sale()
    return render(
        "plans/pricing.html", plans=plans, comparison=plan_catalog.comparison(plans),
        add_ons=plan_catalog.add_ons_on_sale(), saving=plan_pricing.annual_saving_percent,
    )


@bp.route("/cart", methods=["POST"])
def start_cart():
    """*Buy now* on a plan: a fresh cart with that plan."""
    plan = plan_catalog.plan_on_sale(request.form.get("plan"))
    if plan is None:
        flash(_l("This plan is no longer on sale. Please choose another plan."), "error")
        return redirect(url_for("plans.pricing"))
    session[CART_KEY] = subscriptions.new_cart(plan.code, session.get(CART_KEY, {}).get("revision", 0))
    return redirect(url_for("plans.cart"))


def _cart():
    return session.get(CART_KEY) or {}


def _render_cart(form=None, error=None, status=200):
    cart = _cart()
    try:
        priced = subscriptions.price_cart(cart)
    except PlanError as problem:
        priced, error = None, error or problem.message
    add_ons = plan_catalog.add_ons_on_sale()
    if form is None:
        form = CartForm(add_ons, formdata=None, data={
            "cycle": cart.get("cycle", "annual"), "licenses": cart.get("licenses", 1),
            "add_ons": cart.get("add_ons", []),
        })
    return render("plans/cart.html", "plans/_cart.html", status=status, form=form, priced=priced,
                  error=error, add_ons=add_ons, tax_exempt=_tax_exempt())


def _tax_exempt():
    return current_user.is_authenticated and current_user.organization.tax_exempt


@bp.route("/cart")
def cart():
    if not _cart():
        return redirect(url_for("plans.pricing"))
    return _render_cart()


@bp.route("/cart/update", methods=["POST"])
def update_cart():
    """The cart form posts here on every change (htmx) or with its Update button."""
    if not _cart():
        return redirect(url_for("plans.pricing"))
    form = CartForm(plan_catalog.add_ons_on_sale())
    if not form.validate_on_submit():
        return _render_cart(form, status=422)
    changed = subscriptions.changed_cart(_cart(), form.cycle.data, form.licenses.data, form.add_ons.data or [])
    try:
        subscriptions.price_cart(changed)
    except PlanError as problem:
        getattr(form, problem.field, form.licenses).errors.append(problem.message)
        return _render_cart(form, status=422)
    session[CART_KEY] = changed
    if wants_fragment():
        return _render_cart(form)
    return redirect(url_for("plans.cart"))


# Contact sales (tax-exempt organisations) ----------------------------------------------------


@bp.route("/contact-sales", methods=["GET", "POST"])
def contact_sales():
    form = SalesRequestForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data = current_user.name
        form.email.data = current_user.email
        form.organization_name.data = current_user.organization.name
    if form.validate_on_submit():
        sales.record_request(
            form.name.data, form.email.data, form.organization_name.data, form.message.data,
            cart=_cart_summary(), organization=current_user.organization if current_user.is_authenticated else None,
            sales_email=current_app.config["SALES_EMAIL"],
        )
        return render("plans/sales_thanks.html")
    return render("plans/contact_sales.html", form=form, status=form_status(form))


def _cart_summary():
    try:
        return sales.describe_cart(subscriptions.price_cart(_cart()))
    except PlanError:
        return ""


# Checkout ------------------------------------------------------------------------------------


def _lookup_limit():
    return current_app.config["RATELIMIT_ACCOUNT_LOOKUP"]


@bp.route("/checkout", methods=["GET", "POST"])
def checkout_page():
    if not _cart():
        flash(_l("Your cart is empty. Choose a plan first."), "info")
        return redirect(url_for("plans.pricing"))
    if not current_user.is_authenticated:
        return render("plans/account_lookup.html", form=AccountLookupForm(formdata=None))
    problem = subscriptions.may_buy(current_user)
    if problem:
        return render("plans/cannot_buy.html", problem=problem, status=403)
    if current_user.organization.tax_exempt:
        return redirect(url_for("plans.contact_sales"))
    existing = subscriptions.live_subscription(current_user.organization_id)
    if existing is not None and existing.state != "pending":
        flash(_l("Your organisation already has a plan. Manage it on the Subscription page."), "info")
        return redirect(url_for("plans.subscription"))
    form = CheckoutForm()
    if request.method == "GET":
        form.site_subdomain.data = subscriptions.suggest_subdomain(
            current_user.email, current_user.organization_id, fallback=current_user.organization.subdomain
        )
    elif form.validate_on_submit():
        return _place_order(form)
    return _render_checkout(form, status=form_status(form) if request.method == "POST" else 200)


def _render_checkout(form, status=200, error=None):
    try:
        priced = subscriptions.price_cart(_cart())
    except PlanError as problem:
        priced, error = None, error or problem.message
    if priced is not None:
        form.cart_revision.data, form.cart_revision.raw_data = str(priced.revision), []
        form.shown_total.data, form.shown_total.raw_data = str(priced.total_minor), []
    _allow_paypal_pages()
    return render("plans/checkout.html", form=form, priced=priced, error=error, status=status,
                  site_domain=current_app.config["SITE_DOMAIN"])


def _allow_paypal_pages():
    """Place order is answered with a redirect to PayPal: the CSP must allow it."""
    api = urlsplit(current_app.config["PAYPAL_BASE_URL"])
    allow_form_action(*PAYPAL_CHECKOUT_ORIGINS, f"{api.scheme}://{api.netloc}")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _place_order(form):
    try:
        porting = subscriptions.parse_phone_numbers(form.porting_numbers.data)
        details = subscriptions.CheckoutDetails(
            billing_address=form.billing_address.data,
            service_address=form.billing_address.data if form.service_same_as_billing.data
            else form.service_address.data,
            calling_plan=form.calling_plan.data, site_subdomain=form.site_subdomain.data,
            new_numbers=form.new_numbers.data or 0, porting_numbers=porting,
            renewal_payment=form.renewal_payment.data,
        )
        order = subscriptions.place_order(
            current_user, _cart(), _int_or_none(form.cart_revision.data), _int_or_none(form.shown_total.data),
            details, locale=str(get_locale()),
        )
    except PlanError as problem:
        field = getattr(form, problem.field or "", None)
        if field is not None and hasattr(field, "errors") and problem.field not in ("cart", "plan"):
            field.errors = [*field.errors, problem.message]
            return _render_checkout(form, status=422)
        return _render_checkout(form, status=422, error=problem.message)
    except Busy as busy:
        return _render_checkout(form, status=422, error=busy.message)
    session.pop(CART_KEY, None)
    return _pay(order)


def _pay(order):
    try:
        approval_url = checkout.begin_payment(
            order, "paypal", order.total_minor, provider=operator_paypal(current_app.config),
            return_url=external_url("plans.paypal_return", order_id=order.id),
            cancel_url=external_url("plans.paypal_cancel", order_id=order.id),
            bank_transfer_hold=timedelta(0),
        )
    except (checkout.CheckoutError, Busy) as error:
        flash(error.message, "error")
        return redirect(url_for("plans.order", order_id=order.id))
    return redirect(approval_url or url_for("plans.order", order_id=order.id))


@bp.route("/checkout/account", methods=["POST"])
@limiter.limit(_lookup_limit)
def account_lookup():
    """Account details: find the buyer's free account, then send them to sign in (or sign up)
    and back to the checkout, with the cart kept in their session."""
    form = AccountLookupForm()
    if not form.validate_on_submit():
        return render("plans/account_lookup.html", form=form, status=422)
    back = url_for("plans.checkout_page")
    found = find_user_by_email(form.email.data) is not None
    return render("plans/account_found.html", found=found, email=form.email.data, next=back)


@bp.route("/site-url")
@login_required
def check_site_url():
    """Live availability of a site URL (htmx, as the buyer types)."""
    subdomain = (request.args.get("site_subdomain") or "").strip().lower()
    problem = subscriptions.subdomain_unavailable(subdomain, current_user.organization_id)
    return render("plans/_site_url_status.html", "plans/_site_url_status.html", subdomain=subdomain,
                  problem=problem, site_domain=current_app.config["SITE_DOMAIN"])


# Orders ----------------------------------------------------------------------------------------


def _my_order_or_404(order_id):
    order = db.session.get(Order, order_id)
    if order is None or order.purpose != "subscription" or order.organization_id != current_user.organization_id:
        abort(404)
    return order


@bp.route("/orders/<int:order_id>")
@admin_required
def order(order_id):
    order = _my_order_or_404(order_id)
    _allow_paypal_pages()
    return render("plans/order.html", order=order, subscription=order.subscription,
                  payable=checkout.is_payable(order, utcnow()))


@bp.route("/orders/<int:order_id>/pay", methods=["POST"])
@admin_required
def pay_order(order_id):
    return _pay(_my_order_or_404(order_id))


@bp.route("/orders/<int:order_id>/paypal/return")
@admin_required
def paypal_return(order_id):
    order = _my_order_or_404(order_id)
    payment = checkout.payment_for_provider_order(request.args.get("token", ""))
    if payment is None or payment.order_id != order.id:
        abort(404)
    checkout.complete_provider_payment(payment, operator_paypal(current_app.config))
    return redirect(url_for("plans.order", order_id=order.id))


@bp.route("/orders/<int:order_id>/paypal/cancel")
@admin_required
def paypal_cancel(order_id):
    _my_order_or_404(order_id)
    flash(_l("The payment was canceled. Nothing was charged; you can choose again."), "info")
    return redirect(url_for("plans.order", order_id=order_id))
