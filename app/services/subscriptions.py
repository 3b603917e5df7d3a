"""Buying a plan: the cart, placing the order, what paying for it does, and licenses.

A cart is a small dict kept in the buyer's session (it survives signing in):
  {"plan": "business", "cycle": "annual", "licenses": 3, "add_ons": ["callback"], "revision": 4}
Its revision grows with every change, so a checkout page from before a change made in another
tab is refused instead of buying something the buyer no longer sees.
"""

import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Order,
    OrderLine,
    Organization,
    PhoneNumber,
    PortingRequest,
    ProvisioningJob,
    Subscription,
    SubscriptionAddOn,
    User,
)
from app.models.base import utcnow
from app.models.plans import CALLING_PLANS, CYCLES, LIVE_SUBSCRIPTION_STATES
from app.services import plan_catalog, plan_pricing, subscription_mail
from app.services.locks import lock_row
from app.services.registrations import new_order_code
from app.services.errors import ServiceError

LICENSED_ROLES = ("admin", "host")  # they schedule and host; members and guests need none
SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")
RESERVED_SUBDOMAINS = {"www", "admin", "api", "app", "mail", "static", "lectern", "help", "status"}
FREE_MAIL_DOMAINS = {
    "gmail", "googlemail", "outlook", "hotmail", "live", "yahoo", "icloud", "me", "proton",
    "protonmail", "gmx", "web", "mail", "aol", "yandex", "example",
}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_NEW_NUMBERS = 20
RENEWAL_PAYMENTS = ("paypal", "bank_transfer")
ORDER_PAYABLE_FOR = timedelta(days=1)


class PlanError(ServiceError):
    """A cart, plan order or subscription change cannot go ahead."""


# The cart ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedCart:
    plan: object
    cycle: str
    licenses: int
    add_ons: list
    lines: list
    total_minor: int
    currency: str
    revision: int


def new_cart(plan_code, revision=0):
    return {"plan": plan_code, "cycle": "annual", "licenses": 1, "add_ons": [], "revision": revision + 1}


def changed_cart(cart, cycle, licenses, add_on_codes):
    """The cart with the buyer's choices, one revision on (validated when priced)."""
    return {
        "plan": cart.get("plan"), "cycle": cycle, "licenses": licenses,
        "add_ons": sorted(set(add_on_codes)), "revision": int(cart.get("revision", 0)) + 1,
    }


def price_cart(cart):
    """Check a cart against the catalogue and price it; PlanError names what is wrong."""
    if not cart:
        raise PlanError(_l("Your cart is empty. Choose a plan first."), "plan")
    plan = plan_catalog.plan_on_sale(cart.get("plan"))
    if plan is None:
        raise PlanError(_l("This plan is no longer on sale. Please choose another plan."), "plan")
    cycle = cart.get("cycle")
    if cycle not in CYCLES:
        raise PlanError(_l("Choose monthly or annual renewal."), "cycle")
    licenses = cart.get("licenses")
    if not isinstance(licenses, int) or isinstance(licenses, bool) or not 1 <= licenses <= plan_pricing.MAX_LICENSES:
        raise PlanError(
            _l("Enter a number of licenses between 1 and %(max)s.", max=plan_pricing.MAX_LICENSES),
            "licenses",
        )
    codes = cart.get("add_ons") or []
    add_ons = plan_catalog.add_ons_by_code(codes)
    if len(add_ons) != len(set(codes)):
        raise PlanError(_l("An add-on in your cart is no longer on sale. Please check your choice."),
                        "add_ons")
    if any(a.currency != plan.currency for a in add_ons.values()):
        raise PlanError(_l("An add-on in your cart is no longer on sale. Please check your choice."),
                        "add_ons")
    chosen = sorted(add_ons.values(), key=lambda a: (a.position, a.id))
    lines = plan_pricing.cart_lines(plan, cycle, licenses, chosen)
    return PricedCart(plan, cycle, licenses, chosen, lines, plan_pricing.total(lines), plan.currency,
                      int(cart.get("revision", 0)))


# Checkout ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutDetails:
    billing_address: str
    service_address: str
    calling_plan: str
    site_subdomain: str
    new_numbers: int = 0
    porting_numbers: list = field(default_factory=list)
    renewal_payment: str = "paypal"  # or "bank_transfer": renewals are invoiced


def live_subscription(organization_id):
    return db.session.scalars(
        select(Subscription).where(
            Subscription.organization_id == organization_id,
            Subscription.state.in_(LIVE_SUBSCRIPTION_STATES),
        )
    ).first()


def live_subscription_state(organization_id):
    return db.session.scalar(
        select(Subscription.state).where(
            Subscription.organization_id == organization_id,
            Subscription.state.in_(LIVE_SUBSCRIPTION_STATES),
        )
    )


def may_buy(user):
    """None when the user can buy a plan for their organisation, else why not."""
    if not user.is_admin:
        return _l("Only an administrator of your organisation can buy a plan.")
    if user.organization.is_operator:
        return _l("The organisation that runs this portal does not buy plans.")
    return None


def licensed_users(organization_id):
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.organization_id == organization_id, User.role.in_(LICENSED_ROLES)
        )
    )


def parse_phone_numbers(text):
    """E.164 numbers, one per line or separated by commas; PlanError for any that is not one."""
    numbers = [n.replace(" ", "").replace("-", "") for n in re.split(r"[\n,;]+", text or "")]
    numbers = [n for n in numbers if n]
    wrong = [n for n in numbers if not E164.match(n)]
    if wrong:
        raise PlanError(
            _l("Write each number in international form, like +46 8 123 456 78. Not valid: %(numbers)s",
               numbers=", ".join(wrong[:5])),
            "porting_numbers",
        )
    return list(dict.fromkeys(numbers))


def place_order(buyer, cart, shown_revision, shown_total_minor, details, locale, now=None):
    """Create the pending subscription and its order in one transaction; payment comes next."""
    now = now or utcnow()
    organization = lock_row(Organization, buyer.organization_id)
    problem = may_buy(buyer)
    if problem:
        _refuse(problem)
    if organization.tax_exempt:
        _refuse(_l("Tax-exempt organisations buy plans through our sales team."), "tax_exempt")
    if shown_revision != int((cart or {}).get("revision", -1)):
        _refuse(_l("Your cart was changed in another tab or window. Check it and place the order again."),
                "cart")
    try:
        priced = price_cart(cart)
    except PlanError:
        db.session.rollback()
        raise
    if shown_total_minor != priced.total_minor:
        _refuse(_l("The total has changed. Please check it and confirm again."), "cart")
    needed = licensed_users(organization.id)
    if priced.licenses < needed:
        _refuse(lazy_ngettext(
            "Your organisation has %(num)d host or administrator: buy at least %(num)d license.",
            "Your organisation has %(num)d hosts and administrators: buy at least %(num)d licenses.", needed,
        ), "licenses")
    if details.calling_plan not in CALLING_PLANS:
        _refuse(_l("Choose a calling plan."), "calling_plan")
    if details.renewal_payment not in RENEWAL_PAYMENTS:
        _refuse(_l("Choose how renewals are paid."), "renewal_payment")
    if not 0 <= details.new_numbers <= MAX_NEW_NUMBERS:
        _refuse(_l("Choose from 0 to %(max)s new phone numbers.", max=MAX_NEW_NUMBERS), "new_numbers")
    subdomain_problem = subdomain_unavailable(details.site_subdomain, organization.id)
    if subdomain_problem:
        _refuse(subdomain_problem, "site_subdomain")
    _cancel_unpaid_purchase(organization.id, now)

    subscription = Subscription(
        organization=organization, plan=priced.plan, buyer=buyer, cycle=priced.cycle,
        licenses=priced.licenses, license_price_minor=plan_pricing.license_price(priced.plan, priced.cycle),
        currency=priced.currency, auto_renew=True, payment_method=details.renewal_payment, state="pending",
        site_subdomain=details.site_subdomain, billing_address=details.billing_address.strip(),
        service_address=details.service_address.strip(), calling_plan=details.calling_plan,
        new_numbers=details.new_numbers, terms_accepted_at=now,
    )
    subscription.add_ons = [
        SubscriptionAddOn(add_on=a, price_minor=plan_pricing.add_on_price(a, priced.cycle))
        for a in priced.add_ons
    ]
    if details.porting_numbers:
        subscription.porting_requests.append(_porting_request(details.porting_numbers, now))
    db.session.add(subscription)
    db.session.flush()
    order = new_subscription_order(subscription, buyer, locale, priced.lines, f"subscription-{subscription.id}:purchase", now)
    db.session.commit()
    return order


def _refuse(message, field=None):
    db.session.rollback()
    raise PlanError(message, field)


def _cancel_unpaid_purchase(organization_id, now):
    """An earlier purchase that was never paid gives way to the new one."""
    earlier = live_subscription(organization_id)
    if earlier is None:
        return
    if earlier.state != "pending":
        _refuse(_l("Your organisation already has a plan. Manage it on the Subscription page."), "plan")
    for order in db.session.scalars(select(Order).where(Order.subscription_id == earlier.id)):
        if any(p.state == "approved" for p in order.payments):
            _refuse(_l("A payment for your earlier order is still being confirmed. Please try again in a few minutes."))
        if order.state == "pending":
            order.state = "canceled"
            for payment in order.payments:
                if payment.state == "created":
                    payment.state = "canceled"
    earlier.state = "canceled"
    earlier.canceled_at = now
    db.session.flush()


def _porting_request(numbers, now):
    from flask import current_app

    return PortingRequest(
        numbers="\n".join(numbers), requested_at=now,
        earliest_completion_on=(now + timedelta(days=current_app.config["PORTING_MIN_DAYS"])).date(),
    )


def new_subscription_order(subscription, buyer, locale, lines, billing_key, now, expires_in=ORDER_PAYABLE_FOR):
    subtotal = plan_pricing.total(lines)
    order = Order(
        organization_id=subscription.organization_id, subscription_id=subscription.id,
        purpose="subscription", code=new_order_code(), buyer_name=buyer.name, buyer_email=buyer.email,
        locale=locale, currency=subscription.currency, subtotal_minor=subtotal, discount_minor=0,
        tax_minor=0, total_minor=subtotal, state="pending", billing_key=billing_key,
        expires_at=now + expires_in,
    )
    order.lines = [
        OrderLine(description=line.description, quantity=line.quantity,
                  unit_price_minor=line.unit_price_minor, total_minor=line.total_minor)
        for line in lines
    ]
    db.session.add(order)
    return order


def subdomain_unavailable(subdomain, organization_id):
    """None when the site URL can be used by this organisation, else why not."""
    if not SUBDOMAIN.match(subdomain or "") or subdomain in RESERVED_SUBDOMAINS:
        return _l("Use 3 to 63 lower-case letters, digits and hyphens; a hyphen cannot come first or last.")
    taken = db.session.scalar(
        select(Organization.id).where(Organization.subdomain == subdomain, Organization.id != organization_id)
    ) or db.session.scalar(
        select(Subscription.id).where(
            Subscription.site_subdomain == subdomain,
            Subscription.organization_id != organization_id,
            Subscription.state.in_(LIVE_SUBSCRIPTION_STATES),
        )
    )
    return _l("This site URL is taken. Please choose another.") if taken else None


def suggest_subdomain(email, organization_id, fallback=""):
    """A free site URL from the account's email: the company part of the domain, or the
    name before the @ for public mail services; `fallback` (the site's current URL) when
    neither makes a usable one (admin@example.com)."""
    local, _, domain = (email or "").lower().partition("@")
    company = domain.split(".")[0]
    names = ([company] if company and company not in FREE_MAIL_DOMAINS else []) + [local, fallback]
    labels = [_as_label(name) for name in names if name]
    usable = [label for label in labels if SUBDOMAIN.match(label) and label not in RESERVED_SUBDOMAINS]
    return free_variant(usable[0] if usable else "site", organization_id)


def _as_label(name):
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:50]
    return f"{label}-site".strip("-") if len(label) < 3 else label


def free_variant(label, organization_id):
    """The label itself when it is free, else the first free label-2, label-3 …"""
    candidate, n = label, 1
    while subdomain_unavailable(candidate, organization_id):
        n += 1
        candidate = f"{label}-{n}"
    return candidate


# Paid ----------------------------------------------------------------------------------------


def order_paid(order, now, vault_id=""):
    """Called by the checkout service when a subscription order is paid, inside its transaction.
    Returns why the order needs a person's look instead, or None."""
    subscription = lock_row(Subscription, order.subscription_id)
    if vault_id:
        subscription.paypal_vault_id = vault_id
    _, kind, *details = order.billing_key.split(":")
    if kind == "purchase":
        if subscription.state in ("active", "past_due"):  # a partner's customer, provisioned first
            return None                                     # and invoiced: the invoice is paid
        if subscription.state != "pending":
            return f"paid for subscription {subscription.id}, which is {subscription.state}"
        _start_provisioning(subscription, now)
    elif kind == "licenses":
        if subscription.state not in ("provisioning", "active", "past_due"):
            return f"paid for licenses of subscription {subscription.id}, which is {subscription.state}"
        added = int(details[0])
        subscription.licenses += added
        if subscription.licenses_at_renewal:  # bought licenses stay after a scheduled reduction
            subscription.licenses_at_renewal += added
        subscription_mail.queue(subscription, "licenses_added", order=order)
    elif kind == "renewal":
        from app.services.renewals import renewal_paid

        renewal_paid(subscription, order, now)
    return None


def _start_provisioning(subscription, now):
    subscription.state = "provisioning"
    subscription.current_period_start = now
    subscription.billing_anchor_day = now.day
    subscription.current_period_end = plan_pricing.next_period_end(now, subscription.cycle, now.day)
    db.session.add(ProvisioningJob(subscription=subscription))
    allocate_numbers(subscription)
    subscription_mail.queue(subscription, "purchased")


def allocate_numbers(subscription):
    """New numbers come from the operator's block, the lowest free ones first."""
    from flask import current_app

    if not subscription.new_numbers:
        return
    first, block = current_app.config["PHONE_NUMBER_FIRST"], current_app.config["PHONE_NUMBER_BLOCK"]
    start = int(first[1:])
    taken = set(db.session.scalars(select(PhoneNumber.number)))
    free = (f"+{start + i}" for i in range(block) if f"+{start + i}" not in taken)
    for _ in range(subscription.new_numbers):
        number = next(free, None)
        if number is None:
            raise RuntimeError("the phone number block is used up")
        db.session.add(PhoneNumber(subscription_id=subscription.id, number=number))


# Managing a subscription ---------------------------------------------------------------------


def set_auto_renew(subscription, on):
    subscription = lock_row(Subscription, subscription.id)
    if subscription.state not in ("provisioning", "active", "past_due"):
        _refuse(_l("This subscription can no longer be changed."))
    subscription.auto_renew = bool(on)
    db.session.commit()


def license_top_up_quote(subscription, added, now=None):
    """What `added` licenses cost now, prorated to the end of the current period."""
    now = now or utcnow()
    return plan_pricing.prorated(
        subscription.license_price_minor, added, subscription.current_period_start,
        subscription.current_period_end, now,
    )


def order_licenses(subscription, buyer, added, shown_total_minor, locale, now=None):
    """An order for more licenses at once, charged for the rest of the period."""
    now = now or utcnow()
    subscription = lock_row(Subscription, subscription.id)
    if subscription.state not in ("provisioning", "active"):
        _refuse(_l("Licenses can only be added while the subscription is active."))
    if not 1 <= added <= plan_pricing.MAX_LICENSES - subscription.licenses:
        _refuse(_l("Enter a number of licenses between 1 and %(max)s.",
                   max=plan_pricing.MAX_LICENSES - subscription.licenses), "licenses")
    amount = license_top_up_quote(subscription, added, now)
    if amount != shown_total_minor:
        _refuse(_l("The total has changed. Please check it and confirm again."), "licenses")
    # Quantity times unit price must make the line's total: one line per license when the
    # amount divides evenly, else one line for the whole prorated amount.
    quantity, unit_price = (added, amount // added) if amount % added == 0 else (1, amount)
    lines = [plan_pricing.Line("proration", subscription.plan.name, quantity, unit_price)]
    key = f"subscription-{subscription.id}:licenses:{added}:{secrets.token_hex(8)}"
    order = new_subscription_order(subscription, buyer, locale, lines, key, now)
    db.session.commit()
    return order


def reduce_licenses_at_renewal(subscription, licenses):
    """Fewer licenses take effect at the next renewal; until then everyone keeps theirs."""
    subscription = lock_row(Subscription, subscription.id)
    if subscription.state not in ("provisioning", "active", "past_due"):
        _refuse(_l("This subscription can no longer be changed."))
    needed = licensed_users(subscription.organization_id)
    if not max(needed, 1) <= licenses <= subscription.licenses:
        _refuse(_l("Choose at least as many licenses as you have hosts and administrators (%(count)s) "
                   "and no more than you have now (%(high)s).", count=max(needed, 1), high=subscription.licenses),
                "licenses")
    subscription.licenses_at_renewal = None if licenses == subscription.licenses else licenses
    db.session.commit()


def check_license_for_role(organization_id, current_role, new_role):
    """PlanError when a member going from `current_role` (None: new) to `new_role` needs a
    license the organisation's plan does not have. Free organisations have no limit."""
    if new_role not in LICENSED_ROLES or current_role in LICENSED_ROLES:
        return
    subscription = live_subscription(organization_id)
    if subscription is None or subscription.state == "pending":
        return
    # A reduction already scheduled counts: at renewal every host must still have a license.
    licenses = min(subscription.licenses, subscription.licenses_at_renewal or subscription.licenses)
    if licensed_users(organization_id) >= licenses:
        raise PlanError(
            lazy_ngettext("Your plan's %(num)d license is in use. Add licenses on the Subscription page first.",
                          "All %(num)d licenses are in use. Add licenses on the Subscription page first.", licenses),
            "role",
        )


def request_porting(subscription, numbers, now=None):
    now = now or utcnow()
    if subscription.state not in ("provisioning", "active", "past_due"):
        _refuse(_l("This subscription can no longer be changed."))
    if not numbers:
        _refuse(_l("Enter at least one number to port."), "porting_numbers")
    request = _porting_request(numbers, now)
    request.subscription_id = subscription.id
    db.session.add(request)
    db.session.commit()
    return request
