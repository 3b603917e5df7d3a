"""Money is an int of minor units plus an ISO 4217 code; this turns it into text for people."""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision


def to_major(minor, currency):
    """4950, "EUR" -> Decimal("49.50"); 500, "JPY" -> Decimal("500")."""
    return Decimal(minor).scaleb(-get_currency_precision(currency))


def format_money(minor, currency, locale):
    return format_currency(to_major(minor, currency), currency, locale=locale)


# Currencies a site may price in: ones PayPal accepts that are common for our users' countries.
SITE_CURRENCIES = ("EUR", "SEK", "USD", "GBP", "CHF", "NOK", "DKK", "PLN", "CZK", "HUF", "JPY")
