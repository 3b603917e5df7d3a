"""Prices and totals, computed on the server only. Ints of minor units; rounding half-up, once.

Tax rates are basis points (2500 = 25 %). When the site's prices include tax, the tax is part of
the total (`included_tax_minor`) and the buyer pays the price as shown; otherwise it is added
on top (`tax_minor`). A buyer who owes no tax (reverse charge, exemption) pays the net price:
with prices that include tax, the tax they contain is taken off (`tax_deducted_minor`). The
total is always `subtotal - discount + tax_minor - tax_deducted_minor`.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int  # added on top of the price
    total_minor: int
    included_tax_minor: int = 0  # contained in the total (prices that include tax)
    tax_deducted_minor: int = 0  # contained in the price, not owed by this buyer: taken off


def round_half_up(amount):
    return int(Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def coupon_discount(kind, value, subtotal_minor):
    """How much a coupon takes off a subtotal; never more than the subtotal."""
    if kind == "free":
        return subtotal_minor
    if kind == "percent":
        return min(subtotal_minor, round_half_up(Decimal(subtotal_minor) * value / 100))
    if kind == "fixed":
        return min(subtotal_minor, value)
    raise ValueError(f"unknown coupon kind {kind!r}")


def totals(subtotal_minor, coupon=None):
    discount = coupon_discount(coupon.kind, coupon.value, subtotal_minor) if coupon else 0
    return Totals(subtotal_minor, discount, 0, subtotal_minor - discount)


def tax_on_top(base_minor, rate_bp):
    """Tax added to a net amount: 10000 at 25 % -> 2500."""
    return round_half_up(Decimal(base_minor) * rate_bp / 10000)


def tax_included(gross_minor, rate_bp):
    """Tax contained in a gross amount: 10000 at 25 % -> 2000 (10000 = 8000 + 2000)."""
    return round_half_up(Decimal(gross_minor) * rate_bp / (10000 + rate_bp))


def taxed_totals(subtotal_minor, coupon, rate_bp, prices_include_tax, untaxed_rate_bp=0):
    """The coupon comes off the price first; the tax is worked out once on what is left.

    `rate_bp` 0 means no tax (none configured, exempt or reverse charge). `untaxed_rate_bp`:
    the rate a zero-rated buyer does not pay, taken out of prices that include it."""
    discount = coupon_discount(coupon.kind, coupon.value, subtotal_minor) if coupon else 0
    base = subtotal_minor - discount
    if prices_include_tax and untaxed_rate_bp:
        deducted = tax_included(base, untaxed_rate_bp)
        return Totals(subtotal_minor, discount, 0, base - deducted, tax_deducted_minor=deducted)
    if prices_include_tax:
        return Totals(subtotal_minor, discount, 0, base, included_tax_minor=tax_included(base, rate_bp))
    tax = tax_on_top(base, rate_bp)
    return Totals(subtotal_minor, discount, tax, base + tax)
