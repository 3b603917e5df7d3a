"""The site's tax rules applied to an order: which treatment, which rate, how much tax.

Rules (set by the seller's administrator on the "Invoices and tax" page):
- `TaxRate` rows of the seller organisation: a row for the buyer's country wins over the
  default row (country ""); no row at all means the seller charges no tax (treatment "none").
- `CommerceSettings.prices_include_tax`: the price already contains the tax (it is worked out
  of the total into `Order.included_tax_minor`), or the tax is added on top (`Order.tax_minor`).
- A business buyer with a VAT ID in another EU member state than the seller's pays no VAT here
  ("reverse_charge": the buyer accounts for it). A buyer who gives a tax-exemption reference
  pays none either ("exempt", the reference is printed on the invoice).

A buyer who owes no tax pays the net price: when tax is added on top, none is added; when prices
include tax, the tax they contain at the buyer's rate is taken off (`Order.tax_deducted_minor`),
as a business buying under reverse charge expects.

Only registration orders (a site selling seats) follow the site's rules; the other kinds of
order (pay-per-use, plans, partner orders) keep the tax they were made with.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import CommerceSettings, Coupon, TaxRate
from app.services import pricing

# ISO 3166-1 codes of the EU member states (Greece's VAT IDs start with EL, see VAT_PREFIXES).
EU_MEMBER_STATES = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)
VAT_PREFIXES = {"GR": "EL"}

# Babel's territories that are not countries a buyer lives in.
NOT_COUNTRIES = frozenset({"EU", "EZ", "QO", "UN", "XA", "XB", "ZZ"})

TREATMENTS = ("standard", "exempt", "reverse_charge", "none")

# What an invoice prints for a treatment without tax (the keys are stored in its snapshot).
TREATMENT_NOTES = {
    "reverse_charge": _l("Reverse charge: VAT to be accounted for by the recipient"),
    "exempt": _l("Exempt from tax: %(reference)s"),
}

VAT_ID_PATTERN = re.compile(r"^[A-Z]{2}[A-Z0-9]{2,13}$")


# Buyer details ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def country_codes():
    """ISO 3166-1 alpha-2 codes of the countries Babel knows."""
    territories = Locale.parse("en").territories
    return frozenset(
        code for code in territories if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    )


def is_country(code):
    return code in country_codes()


def country_name(code, locale):
    """'SE', 'fr' -> 'Suède'; "" for no country."""
    if not code:
        return ""
    return Locale.parse(locale).territories.get(code, code)


@lru_cache(maxsize=16)
def country_choices(locale):
    """(code, name) of every country, sorted by name in the reader's language."""
    names = Locale.parse(locale).territories
    return tuple(sorted(((code, names.get(code, code)) for code in country_codes()),
                        key=lambda c: c[1].casefold()))


def normalize_country(code):
    return (code or "").strip().upper()


def normalize_vat_id(vat_id):
    """'se 5560-1234.56 01' -> 'SE556012345601': spaces, dots and hyphens are only for reading."""
    return re.sub(r"[\s.\-]", "", vat_id or "").upper()


def vat_id_problem(vat_id, country):
    """Why a (normalised) VAT ID cannot be right, or None. Checks the shape only: two letters
    of a country, then 2 to 13 letters and digits; an EU country's ID starts with its own
    prefix. Whether the number exists is for VIES, not for us."""
    if not vat_id:
        return None
    if not VAT_ID_PATTERN.match(vat_id):
        return _l("Enter the VAT ID with its country prefix, for example SE556012345601.")
    if country in EU_MEMBER_STATES and vat_id[:2] != VAT_PREFIXES.get(country, country):
        return _l(
            "A VAT ID from this country starts with %(prefix)s.", prefix=VAT_PREFIXES.get(country, country)
        )
    return None


# The rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    treatment: str  # one of TREATMENTS
    rate_bp: int  # the rate charged: 0 unless "standard"


def rate_for(organization_id, country):
    """The seller's rate for a buyer in `country` (basis points), or None when it has none."""
    rates = dict(
        db.session.execute(
            select(TaxRate.country, TaxRate.rate_bp).where(
                TaxRate.organization_id == organization_id, TaxRate.country.in_({country or "", ""})
            )
        ).all()
    )
    if country and country in rates:
        return rates[country]
    return rates.get("")


def is_reverse_charge(seller_country, buyer_country, buyer_vat_id):
    return bool(
        buyer_vat_id
        and seller_country in EU_MEMBER_STATES
        and buyer_country in EU_MEMBER_STATES
        and buyer_country != seller_country
    )


def decide(rate_bp, seller_country, buyer_country, buyer_vat_id, exemption_reference):
    """Which treatment a buyer gets. `rate_bp` None: the seller charges no tax at all."""
    if rate_bp is None:
        return Decision("none", 0)
    if is_reverse_charge(seller_country, buyer_country, buyer_vat_id):
        return Decision("reverse_charge", 0)
    if exemption_reference:
        return Decision("exempt", 0)
    return Decision("standard", rate_bp)


def prices_include_tax(settings):
    # An organisation without saved settings has the column's default: prices include tax.
    return settings is None or settings.prices_include_tax is not False


def apply_to_order(order, settings=None):
    """Set the order's discount, tax and total from its subtotal, coupon and buyer details.

    Inside the caller's transaction (nothing is committed). `settings` are the seller's
    CommerceSettings (looked up when not given)."""
    with db.session.no_autoflush:
        coupon = db.session.get(Coupon, order.coupon_id) if order.coupon_id is not None else None
        if order.purpose != "registration":
            discount = (
                pricing.coupon_discount(coupon.kind, coupon.value, order.subtotal_minor) if coupon else 0
            )
            order.discount_minor = discount
            order.tax_deducted_minor = 0
            order.total_minor = order.subtotal_minor - discount + (order.tax_minor or 0)
            order.tax_treatment = order.tax_treatment or "none"
            return order
        if settings is None:
            settings = db.session.get(CommerceSettings, order.organization_id)
        seller_country = (settings.legal_country or "") if settings is not None else ""
        rate_bp = rate_for(order.organization_id, order.buyer_country or "")
        decision = decide(
            rate_bp, seller_country, order.buyer_country or "", order.buyer_vat_id or "",
            order.tax_exemption_reference or "",
        )
    untaxed_rate_bp = (rate_bp or 0) if decision.treatment in ("reverse_charge", "exempt") else 0
    totals = pricing.taxed_totals(
        order.subtotal_minor, coupon, decision.rate_bp, prices_include_tax(settings), untaxed_rate_bp
    )
    order.discount_minor = totals.discount_minor
    order.tax_minor = totals.tax_minor
    order.included_tax_minor = totals.included_tax_minor
    order.tax_deducted_minor = totals.tax_deducted_minor
    order.total_minor = totals.total_minor
    order.tax_treatment = decision.treatment
    order.tax_rate_bp = decision.rate_bp
    return order
