"""Money is an int of minor units plus an ISO 4217 code; this turns it into text for people."""

import re
from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision


def to_major(minor, currency):
    """4950, "EUR" -> Decimal("49.50"); 500, "JPY" -> Decimal("500")."""
    return Decimal(minor).scaleb(-get_currency_precision(currency))


@lru_cache(maxsize=4096)  # pages show the same prices again and again
def format_money(minor, currency, locale):
    return format_currency(to_major(minor, currency), currency, locale=locale)


@lru_cache(maxsize=4096)
def format_money_exact(minor, currency, locale):
    """Like format_money, but keeps fractions of a minor unit (per-minute rates, line costs)."""
    return format_currency(
        to_major(minor, currency), currency, locale=locale, decimal_quantization=False
    )


# Currencies a site may price in: ones PayPal accepts that are common for our users' countries.
SITE_CURRENCIES = ("EUR", "SEK", "USD", "GBP", "CHF", "NOK", "DKK", "PLN", "CZK", "JPY")


AMOUNT_PATTERN = re.compile(r"^([0-9]{1,12})(?:[.,]([0-9]{1,12}))?$")
MAX_MINOR = 2_000_000_000  # fits the 32-bit amount columns


class AmountError(ValueError):
    """Not an amount of that currency. `reason`: "format" (not digits with at most one
    decimal separator), "decimals" (more than the currency has) or "too_large"."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def parse_major_amount(amount, currency):
    """'49.50' or '49,50' in EUR -> 4950, exactly. Plain digits only: no signs, exponents,
    group separators or non-ASCII digits."""
    text = format(amount, "f") if isinstance(amount, Decimal) else str(amount or "").strip()
    match = AMOUNT_PATTERN.match(text)
    if not match:
        raise AmountError("format")
    whole, fraction = match.group(1), match.group(2) or ""
    digits = get_currency_precision(currency)
    if len(fraction) > digits:
        raise AmountError("decimals")
    minor = int(Decimal(f"{whole}.{fraction or 0}").scaleb(digits))
    if minor > MAX_MINOR:
        raise AmountError("too_large")
    return minor


def amount_error_message(error, currency):
    """What to tell a person whose amount `parse_major_amount` refused."""
    from flask_babel import lazy_gettext, lazy_ngettext

    if error.reason == "too_large":
        return lazy_gettext("This amount is too large.")
    if error.reason == "decimals":
        digits = get_currency_precision(currency)
        if digits == 0:
            return lazy_gettext("Enter a whole amount: %(currency)s has no decimals.", currency=currency)
        return lazy_ngettext(
            "Use at most %(num)d decimal place.", "Use at most %(num)d decimal places.", digits
        )
    return lazy_gettext("Enter an amount such as 50 or 49.50.")
