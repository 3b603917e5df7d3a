"""The emails a subscription sends its buyer: purchase, site ready, renewals, failures, end."""

from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.services.mail import queue_mail

SUBJECTS = {
    "purchased": _l("Thank you for your order: your site is being set up"),
    "site_ready": _l("Your site is ready"),
    "licenses_added": _l("Licenses added to your plan"),
    "renewal_upcoming": _l("Your plan renews soon"),
    "renewed": _l("Your plan has been renewed"),
    "renewal_failed": _l("We could not renew your plan"),
    "invoice": _l("Invoice for your plan's renewal"),
    "first_invoice": _l("Invoice for your plan"),
    "canceled": _l("Your plan has ended"),
}


def queue(subscription, kind, due=None, **context):
    """`due`: the day an invoice is to be paid by (else the next renewal attempt)."""
    buyer = subscription.buyer
    locale = buyer.locale or subscription.organization.locale
    zone = ZoneInfo(subscription.organization.timezone)

    def day(moment):
        return format_date(moment.astimezone(zone).date(), "long", locale=locale) if moment else ""

    from app.web import external_url

    queue_mail(
        buyer.email, locale, "subscription", subject=SUBJECTS[kind], kind=kind,
        subscription=subscription, buyer=buyer, period_end=day(subscription.current_period_end),
        next_attempt=day(due or subscription.next_attempt_at),
        manage_url=external_url("plans.subscription"),
        site_url=f"https://{subscription.site_subdomain}.{current_app.config['SITE_DOMAIN']}",
        bank_details=current_app.config["PLANS_BANK_DETAILS"], **context,
    )
