"""The buyer's invoice details on an order: company, address, country, VAT ID, exemption.

They decide the order's tax (services/tax.py), so they can change only while the order can
still be paid, under the order's locks, and the total is worked out again in the same
transaction.
"""

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models.base import utcnow
from app.services import tax
from app.services.checkout import CheckoutError, lock_order, is_payable

MAX_LENGTHS = {"company": 200, "address": 1000, "vat_id": 40, "exemption_reference": 100}


class BillingDetailsError(CheckoutError):
    """The invoice details cannot be used (the message names the field)."""


def _clean(company, address, country, vat_id, exemption_reference):
    details = {
        "company": (company or "").strip(),
        "address": "\n".join(line.strip() for line in (address or "").strip().splitlines()),
        "country": tax.normalize_country(country),
        "vat_id": tax.normalize_vat_id(vat_id),
        "exemption_reference": (exemption_reference or "").strip(),
    }
    for name, limit in MAX_LENGTHS.items():
        if len(details[name]) > limit:
            raise BillingDetailsError(_l("Enter at most %(num)d characters.", num=limit), name)
    if details["country"] and not tax.is_country(details["country"]):
        raise BillingDetailsError(_l("Choose a country from the list."), "country")
    if details["vat_id"] and not details["country"]:
        raise BillingDetailsError(_l("Choose the country of the VAT ID."), "country")
    problem = tax.vat_id_problem(details["vat_id"], details["country"])
    if problem:
        raise BillingDetailsError(problem, "vat_id")
    return details


def set_billing_details(order, company="", address="", country="", vat_id="", exemption_reference="",
                        now=None):
    """Store the buyer's invoice details on a payable order and re-apply the tax rules.

    Raises BillingDetailsError for details that cannot be right (nothing is written), and
    CheckoutError when the order can no longer be paid."""
    details = _clean(company, address, country, vat_id, exemption_reference)
    now = now or utcnow()
    lock_order(order)
    if not is_payable(order, now):
        db.session.rollback()
        raise CheckoutError(_l("This order can no longer be paid. Please register again."))
    order.buyer_company = details["company"]
    order.buyer_address = details["address"]
    order.buyer_country = details["country"]
    order.buyer_vat_id = details["vat_id"]
    order.tax_exemption_reference = details["exemption_reference"]
    tax.apply_to_order(order)
    db.session.commit()
    return order
