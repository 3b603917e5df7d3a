"""Prices and totals, computed on the server only. Ints of minor units; rounding half-up, once."""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Totals:
    subtotal_minor: int
    discount_minor: int
    tax_minor: int
    total_minor: int


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
