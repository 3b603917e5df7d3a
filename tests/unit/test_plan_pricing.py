"""Plan arithmetic without a database: cart totals, the annual saving, billing periods, proration."""

import calendar
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services import plan_pricing
from app.services.plan_pricing import (
    MAX_LICENSES,
    add_months,
    annual_saving_percent,
    cart_lines,
    next_period_end,
    prorated,
    total,
)

UTC = timezone.utc
EXAMPLES = settings(max_examples=200, deadline=None)

prices = st.integers(min_value=0, max_value=10**7)
quantities = st.integers(min_value=1, max_value=MAX_LICENSES)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31),
                       timezones=st.just(UTC))
lengths = st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400))
offsets = st.timedeltas(min_value=timedelta(days=-500), max_value=timedelta(days=500))


def at(*fields):
    return datetime(*fields, tzinfo=UTC)


def plan(monthly=1500, annual=14400, name="Business"):
    return SimpleNamespace(name=name, monthly_price_minor=monthly, annual_price_minor=annual)


# Proration -------------------------------------------------------------------------------------


def test_half_a_period_left_costs_half_the_price_rounded_half_up():
    start, end = at(2026, 1, 1), at(2026, 1, 3)

    assert prorated(1001, 1, start, end, at(2026, 1, 2)) == 501  # 500.5 -> 501
    assert prorated(1000, 3, start, end, at(2026, 1, 2)) == 1500


@EXAMPLES
@given(unit=prices, quantity=quantities, start=moments, length=lengths, offset=offsets)
def test_prorated_is_between_nothing_and_the_full_price(unit, quantity, start, length, offset):
    amount = prorated(unit, quantity, start, start + length, start + offset)

    assert isinstance(amount, int)
    assert 0 <= amount <= unit * quantity


@EXAMPLES
@given(unit=prices, quantity=quantities, start=moments, length=lengths,
       before=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=500)))
def test_prorated_is_the_full_price_at_or_before_the_period_start(unit, quantity, start, length, before):
    assert prorated(unit, quantity, start, start + length, start - before) == unit * quantity


@EXAMPLES
@given(unit=prices, quantity=quantities, start=moments, length=lengths,
       after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=500)))
def test_prorated_is_nothing_at_or_after_the_period_end(unit, quantity, start, length, after):
    assert prorated(unit, quantity, start, start + length, start + length + after) == 0


@EXAMPLES
@given(unit=prices, quantity=quantities, start=moments, length=lengths, first=offsets, second=offsets)
def test_prorated_never_increases_as_time_goes_on(unit, quantity, start, length, first, second):
    earlier, later = sorted((start + first, start + second))
    end = start + length

    assert prorated(unit, quantity, start, end, later) <= prorated(unit, quantity, start, end, earlier)


@EXAMPLES
@given(unit=prices, q1=st.integers(1, MAX_LICENSES // 2), q2=st.integers(1, MAX_LICENSES // 2),
       start=moments, length=lengths, offset=offsets)
def test_prorating_two_top_ups_separately_costs_within_a_minor_unit_of_one(unit, q1, q2, start, length, offset):
    end, now = start + length, start + offset

    apart = prorated(unit, q1, start, end, now) + prorated(unit, q2, start, end, now)

    assert abs(apart - prorated(unit, q1 + q2, start, end, now)) <= 1


def test_an_empty_period_costs_nothing():
    moment = at(2026, 3, 1)

    assert prorated(1500, 2, moment, moment, moment - timedelta(days=1)) == 0


# Billing periods -------------------------------------------------------------------------------


@pytest.mark.parametrize("start,months,anchor,expected", [
    (at(2026, 1, 31), 1, None, at(2026, 2, 28)),
    (at(2028, 1, 31), 1, None, at(2028, 2, 29)),  # leap year
    (at(2026, 2, 28), 1, 31, at(2026, 3, 31)),  # back to the anchor after a short month
    (at(2026, 4, 30), 1, 31, at(2026, 5, 31)),
    (at(2026, 11, 30), 3, 30, at(2027, 2, 28)),  # over the year's end
    (at(2024, 2, 29), 12, 29, at(2025, 2, 28)),  # a leap day's year
    (at(2026, 1, 15, 9, 30), 12, 15, at(2027, 1, 15, 9, 30)),  # the time of day stays
])
def test_add_months_keeps_the_anchor_day_or_the_months_last_day(start, months, anchor, expected):
    assert add_months(start, months, anchor) == expected


@EXAMPLES
@given(moment=moments, months=st.integers(min_value=1, max_value=36), anchor=st.integers(min_value=1, max_value=31))
def test_add_months_moves_forward_by_exactly_the_months_to_the_anchor_or_the_month_end(moment, months, anchor):
    later = add_months(moment, months, anchor)

    assert later > moment
    assert (later.year * 12 + later.month) - (moment.year * 12 + moment.month) == months
    last_day = calendar.monthrange(later.year, later.month)[1]
    assert later.day == min(anchor, last_day)
    assert (later.hour, later.minute, later.second, later.microsecond, later.tzinfo) == (
        moment.hour, moment.minute, moment.second, moment.microsecond, moment.tzinfo)


@EXAMPLES
@given(start=moments, periods=st.integers(min_value=1, max_value=30), cycle=st.sampled_from(["monthly", "annual"]))
def test_renewing_period_after_period_never_drifts_from_the_anchor_day(start, periods, cycle):
    end = next_period_end(start, cycle, start.day)
    for _ in range(periods - 1):
        end = next_period_end(end, cycle, start.day)

    months = periods * plan_pricing.MONTHS_PER_CYCLE[cycle]
    assert end == add_months(start, months, start.day)


# The cart ---------------------------------------------------------------------------------------


@EXAMPLES
@given(monthly=prices, annual=prices, cycle=st.sampled_from(["monthly", "annual"]), licenses=quantities,
       add_on_prices=st.lists(st.tuples(prices, prices), max_size=5))
def test_the_cart_total_is_the_sum_of_its_lines(monthly, annual, cycle, licenses, add_on_prices):
    add_ons = [SimpleNamespace(name=f"Add-on {i}", monthly_price_minor=m, annual_price_minor=a)
               for i, (m, a) in enumerate(add_on_prices)]

    lines = cart_lines(plan(monthly, annual), cycle, licenses, add_ons)

    assert total(lines) == sum(line.quantity * line.unit_price_minor for line in lines)
    assert lines[0].kind == "licenses" and lines[0].quantity == licenses
    assert lines[0].unit_price_minor == (monthly if cycle == "monthly" else annual)
    assert [line.unit_price_minor for line in lines[1:]] == [
        m if cycle == "monthly" else a for m, a in add_on_prices]
    assert all(line.quantity == 1 for line in lines[1:])


def test_annual_saving_of_the_usual_plan():
    assert annual_saving_percent(plan(1500, 14400)) == 20  # 180.00 a year monthly, 144.00 annually
    assert annual_saving_percent(plan(1000, 12000)) == 0
    assert annual_saving_percent(plan(1000, 13000)) == 0  # dearer annually: no saving claimed
    assert annual_saving_percent(plan(0, 0)) == 0
    assert annual_saving_percent(plan(1000, 0)) == 100


@EXAMPLES
@given(monthly=prices, annual=prices)
def test_annual_saving_percent_is_a_whole_percentage(monthly, annual):
    percent = annual_saving_percent(plan(monthly, annual))

    assert isinstance(percent, int)
    assert 0 <= percent <= 100
    if annual >= 12 * monthly:
        assert percent == 0
