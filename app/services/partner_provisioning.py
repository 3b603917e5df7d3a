"""Service setup after a partner order's wizard, ending with Provision.

The wizard leaves the order `in_setup`: the customer's organisation exists, with a pending
subscription paid by bank transfer. Service setup chooses the calling, meeting and company
settings; **Provision** applies them, activates the subscription and starts billing for
everything bought — all in one transaction, once:

  lock the partner order → lock the customer's organisation → lock the subscription
  → check everything again → apply the settings → active, first period → allocate numbers
  → the first invoice (one order, one bank-transfer payment, one email) → provisioned → commit

Pressing Provision twice (a double click, two tabs) finds the order provisioned under its
row lock and does nothing, so nobody is billed twice. A site URL someone took meanwhile is
refused at the database's unique constraint and rolled back like any other refusal.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from zoneinfo import available_timezones

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Order, Organization, PartnerOrder, Subscription
from app.models.base import utcnow
from app.models.plans import CALLING_PLANS
from app.services import checkout, plan_pricing, subscription_mail, subscriptions
from app.services.errors import ServiceError
from app.services.locks import lock_row

MAX_NAME_LENGTH = 200  # Organization.name
MIN_SESSION_MINUTES = 15
MAX_SESSION_MINUTES = 1440
SETUP_STATES = ("in_setup", "provisioned")  # the states in which service setup exists


class ProvisionError(ServiceError):
    """The settings cannot be used, or the order cannot be provisioned now."""


@dataclass(frozen=True)
class ServiceSettings:
    """What the service setup page collects; field names match the form's."""

    company_name: str
    subdomain: str
    locale: str
    timezone: str
    default_duration_min: int
    calling_plan: str
    new_numbers: int = 0


# Who may see and change it ----------------------------------------------------------------------


def may_manage(user, order):
    """The customer's administrators, and, when the partner sets the customer up (a customer
    who set up alone gives the partner no access), the partner's administrators and the
    partner's person who completed the setup wizard."""
    if order.customer_organization_id is None:
        return False
    if user.organization_id == order.customer_organization_id:
        return user.is_admin
    partners_own = order.partner_organization_id is not None and user.organization_id == order.partner_organization_id
    return bool(order.partner_manages) and partners_own and (
        user.is_admin or user.email == (order.set_up_by_email or "").lower()
    )


def may_view(user, order):
    """Those who manage it, and the operator's administrators (read only)."""
    return may_manage(user, order) or (user.is_admin and user.organization.is_operator)


# Reading ----------------------------------------------------------------------------------------


def billing_lines(subscription):
    """What billing starts with: the licenses, then each add-on once (a renewal's shape)."""
    lines = [plan_pricing.Line("licenses", subscription.plan.name, subscription.licenses,
                               subscription.license_price_minor)]
    lines += [plan_pricing.Line("add_on", item.add_on.name, 1, item.price_minor) for item in subscription.add_ons]
    return lines


def billing_key(subscription):
    return f"subscription-{subscription.id}:purchase"


def first_invoice(order):
    """The invoice Provision made for this partner order, or None before it."""
    if order.subscription_id is None:
        return None
    return db.session.scalars(
        select(Order).where(Order.billing_key == f"subscription-{order.subscription_id}:purchase")
    ).first()


def settings_problem(settings, organization_id):
    """The first thing wrong with the settings as (message, field), else None. Reads only."""
    name = (settings.company_name or "").strip()
    if not name:
        return _l("This field is required."), "company_name"
    if len(name) > MAX_NAME_LENGTH:
        return (lazy_ngettext("Enter at most %(num)d character.", "Enter at most %(num)d characters.",
                              MAX_NAME_LENGTH), "company_name")
    subdomain_problem = subscriptions.subdomain_unavailable(settings.subdomain, organization_id)
    if subdomain_problem:
        return subdomain_problem, "subdomain"
    if settings.locale not in current_app.config["LOCALES"]:
        return _l("Not a valid choice."), "locale"
    if settings.timezone not in _timezones():
        return _l("Not a valid choice."), "timezone"
    if not _is_int_between(settings.default_duration_min, MIN_SESSION_MINUTES, MAX_SESSION_MINUTES):
        return (_l("Enter a number from %(min)d to %(max)d.", min=MIN_SESSION_MINUTES, max=MAX_SESSION_MINUTES),
                "default_duration_min")
    if settings.calling_plan not in CALLING_PLANS:
        return _l("Choose a calling plan."), "calling_plan"
    if not _is_int_between(settings.new_numbers, 0, subscriptions.MAX_NEW_NUMBERS):
        return _l("Choose from 0 to %(max)s new phone numbers.", max=subscriptions.MAX_NEW_NUMBERS), "new_numbers"
    return None


@lru_cache(maxsize=1)
def _timezones():
    return frozenset(available_timezones())


def _is_int_between(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


# Provision --------------------------------------------------------------------------------------


def provision(order_id, settings, now=None):
    """Apply the settings, activate the subscription and send its first invoice, once.

    Returns the partner order (unchanged when it was provisioned already). Raises
    ProvisionError (with the field it is about) and `locks.Busy`; either way nothing is saved.
    """
    now = now or utcnow()
    try:
        order = lock_row(PartnerOrder, order_id)
        if order.state == "provisioned":
            db.session.rollback()
            return order  # a second click: provisioned and billed by the first
        if order.state != "in_setup" or order.customer_organization_id is None or order.subscription_id is None:
            _refuse(_l("This order cannot be provisioned now. Refresh the page to see its status."))
        organization = lock_row(Organization, order.customer_organization_id)
        subscription = lock_row(Subscription, order.subscription_id)
        if subscription.state != "pending":
            _refuse(_l("This subscription can no longer be changed."))
        problem = settings_problem(settings, organization.id)
        if problem:
            _refuse(*problem)

        organization.name = settings.company_name.strip()
        organization.subdomain = settings.subdomain
        organization.locale = settings.locale
        organization.timezone = settings.timezone
        organization.default_duration_min = settings.default_duration_min
        subscription.site_subdomain = settings.subdomain
        subscription.calling_plan = settings.calling_plan
        subscription.new_numbers = settings.new_numbers
        db.session.flush()  # a site URL taken since the check fails here, before anything else

        _activate(subscription, now)
        _start_billing(subscription, now)
        order.state = "provisioned"
        order.provisioned_at = now
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        if "subdomain" in str(error.orig):
            raise ProvisionError(_l("This site URL is taken. Please choose another."), "subdomain") from error
        raise
    except ProvisionError:
        raise
    except Exception:
        db.session.rollback()
        raise
    return order


def _refuse(message, field=None):
    db.session.rollback()
    raise ProvisionError(message, field)


def _activate(subscription, now):
    subscription.state = "active"
    subscription.current_period_start = now
    subscription.billing_anchor_day = now.day
    subscription.current_period_end = plan_pricing.next_period_end(now, subscription.cycle, now.day)
    # Shared with a plan bought through the checkout: numbers come from the operator's block.
    subscriptions.allocate_numbers(subscription)


def _start_billing(subscription, now):
    """The first period's invoice: one order, one bank-transfer payment, one email."""
    buyer = subscription.buyer
    locale = buyer.locale or subscription.organization.locale
    due_in = timedelta(days=int(current_app.config["INVOICE_DUE_DAYS"]))
    invoice = subscriptions.new_subscription_order(
        subscription, buyer, locale, billing_lines(subscription), billing_key(subscription), now,
        expires_in=due_in,
    )
    checkout.new_payment(invoice, "bank_transfer", "")
    db.session.flush()
    subscription_mail.queue(subscription, "first_invoice", due=invoice.expires_at, order=invoice)
    return invoice
