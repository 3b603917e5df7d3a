"""Plan arithmetic, free of the database: cart totals, billing periods and proration.

Prices are int minor units. Proration is exact (fractions of a second are kept as a Fraction)
and rounded once, half-up, like every other total (services/pricing.py).
"""

import calendar
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

MONTHS_PER_CYCLE = {"monthly": 1, "annual": 12}
MAX_LICENSES = 10_000


@dataclass(frozen=True)
class Line:
    kind: str  # "licenses" | "add_on" | "proration"
    description: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self):
        return self.quantity * self.unit_price_minor


def license_price(plan, cycle):
    return plan.monthly_price_minor if cycle == "monthly" else plan.annual_price_minor


def add_on_price(add_on, cycle):
    return add_on.monthly_price_minor if cycle == "monthly" else add_on.annual_price_minor


def cart_lines(plan, cycle, licenses, add_ons):
    """The lines of one billing period: the licenses, then each add-on once."""
    lines = [Line("licenses", plan.name, licenses, license_price(plan, cycle))]
    lines += [Line("add_on", a.name, 1, add_on_price(a, cycle)) for a in add_ons]
    return lines


def total(lines):
    return sum(line.total_minor for line in lines)


def annual_saving_percent(plan):
    """How much cheaper a year is paid annually than as twelve months, in whole percent."""
    twelve_months = 12 * plan.monthly_price_minor
    if twelve_months <= 0 or plan.annual_price_minor >= twelve_months:
        return 0
    return _round_half_up(Fraction(twelve_months - plan.annual_price_minor, twelve_months) * 100)


def add_months(moment: datetime, months: int, anchor_day: int | None = None) -> datetime:
    """The same day `months` later; the month's last day when it is shorter (Jan 31 -> Feb 28).
    `anchor_day` is the day the subscription started on, so Feb 28 -> Mar 31 after a Jan 31 start."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day or moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def next_period_end(period_end: datetime, cycle: str, anchor_day: int) -> datetime:
    return add_months(period_end, MONTHS_PER_CYCLE[cycle], anchor_day)


def prorated(unit_price_minor: int, quantity: int, period_start: datetime, period_end: datetime,
             now: datetime) -> int:
    """What `quantity` more licenses cost from `now` to the period's end: the full price's
    share of the time left, rounded once half-up. Nothing after the end, in full before the start."""
    length = (period_end - period_start) // MICROSECOND
    if length <= 0:
        return 0
    left = min(max((period_end - now) // MICROSECOND, 0), length)
    return _round_half_up(Fraction(unit_price_minor * quantity * left, length))


MICROSECOND = timedelta(microseconds=1)


def _round_half_up(amount: Fraction) -> int:
    """For amounts >= 0, which are all this module makes."""
    return math.floor(amount + Fraction(1, 2))
