"""What a site's administrator sets for invoices: the seller's legal details, the invoice
number prefix, whether prices include tax, and the tax rates per buyer country."""

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import TaxRate
from app.services import commerce, tax
from app.services.errors import ServiceError

PREFIX_PATTERN = re.compile(r"^[A-Za-z0-9._-]{0,20}$")
RATE_PATTERN = re.compile(r"^[0-9]{1,3}(?:[.,][0-9]{1,2})?$")


class TaxSettingsError(ServiceError):
    """A legal detail or a rate cannot be used."""


def rates_of(organization):
    """The organisation's rates: the default ("") first, then by country."""
    return db.session.scalars(
        select(TaxRate).where(TaxRate.organization_id == organization.id).order_by(TaxRate.country)
    ).all()


def parse_rate(text):
    """'25' or '12,5' (percent) -> 2500 or 1250 basis points."""
    text = (text or "").strip().rstrip("%").strip()
    if not RATE_PATTERN.match(text):
        raise TaxSettingsError(_l("Enter a percentage such as 25 or 12.5."), "rate")
    try:
        rate_bp = int(Decimal(text.replace(",", ".")) * 100)
    except InvalidOperation as error:  # the pattern keeps this from happening
        raise TaxSettingsError(_l("Enter a percentage such as 25 or 12.5."), "rate") from error
    if not 0 <= rate_bp <= 10000:
        raise TaxSettingsError(_l("Enter a percentage from 0 to 100."), "rate")
    return rate_bp


def update_legal_details(organization, legal_name, legal_address, legal_country, legal_vat_id,
                         invoice_prefix, prices_include_tax):
    country = tax.normalize_country(legal_country)
    vat_id = tax.normalize_vat_id(legal_vat_id)
    if country and not tax.is_country(country):
        raise TaxSettingsError(_l("Choose a country from the list."), "legal_country")
    problem = tax.vat_id_problem(vat_id, country)
    if problem:
        raise TaxSettingsError(problem, "legal_vat_id")
    if not PREFIX_PATTERN.match(invoice_prefix or ""):
        raise TaxSettingsError(
            _l("Use at most 20 letters, digits, dots, hyphens and underscores."), "invoice_prefix"
        )
    settings = commerce.settings_for(organization)
    settings.legal_name = (legal_name or "").strip()
    settings.legal_address = (legal_address or "").strip()
    settings.legal_country = country
    settings.legal_vat_id = vat_id
    settings.invoice_prefix = invoice_prefix or ""
    settings.prices_include_tax = bool(prices_include_tax)
    db.session.add(settings)
    db.session.commit()
    return settings


def set_rate(organization, country, rate_text):
    """Add the rate for a country ("" = every other country), or change the one it has."""
    country = tax.normalize_country(country)
    if country and not tax.is_country(country):
        raise TaxSettingsError(_l("Choose a country from the list."), "country")
    rate_bp = parse_rate(rate_text)
    rate = db.session.scalar(
        select(TaxRate).where(TaxRate.organization_id == organization.id, TaxRate.country == country)
    )
    if rate is None:
        rate = TaxRate(organization_id=organization.id, country=country, rate_bp=rate_bp)
        db.session.add(rate)
    rate.rate_bp = rate_bp
    try:
        db.session.commit()
    except IntegrityError as error:  # another administrator added this country at the same moment
        db.session.rollback()
        raise TaxSettingsError(
            _l("A rate for this country was just added by someone else. Please check and try again."),
            "country",
        ) from error
    return rate


def delete_rate(organization, rate):
    if rate.organization_id != organization.id:
        raise ValueError("another organisation's rate")
    db.session.delete(rate)
    db.session.commit()
