"""Requests to the sales team from buyers who cannot use the self-service checkout."""

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import SalesRequest
from app.services.mail import queue_mail
from app.services.money import format_money

SALES_LOCALE = "en"  # the sales team reads English


def describe_cart(priced):
    """The cart in one readable line for the sales team (in English, like the email)."""
    add_ons = ", ".join(a.name for a in priced.add_ons) or "none"
    total = format_money(priced.total_minor, priced.currency, SALES_LOCALE)
    return (f"{priced.plan.name}, {priced.cycle}, {priced.licenses} licenses, add-ons: {add_ons}; "
            f"{total} per period")


def record_request(name, email, organization_name, message, cart, organization, sales_email):
    """Keep the request and email it to the sales address, in one transaction."""
    request = SalesRequest(
        organization_id=organization.id if organization else None, name=name, email=email.lower(),
        organization_name=organization_name, cart=cart, message=message,
    )
    db.session.add(request)
    queue_mail(sales_email, SALES_LOCALE, "sales_request",
               subject=_l("Plan request from %(organization)s", organization=organization_name),
               request=request, tax_exempt=bool(organization and organization.tax_exempt))
    db.session.commit()
    return request
