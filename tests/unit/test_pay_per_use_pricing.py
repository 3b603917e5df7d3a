"""The Estimated session cost: the vendor's formula, exact money, rounding once."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services.pay_per_use import MAX_COMPUTERS, MAX_DURATION_MIN, estimate

rates = st.decimals(min_value=0, max_value=1000, places=4, allow_nan=False, allow_infinity=False)


def test_the_worked_example():
    # 90 minutes, 12 computers, 3 on the teleconference, 0.35 and 1.5 minor units a minute
    cost = estimate(90, 12, 3, Decimal("0.35"), Decimal("1.5"))

    assert (cost.person_minutes, cost.teleconference_minutes) == (1080, 270)
    assert (cost.person_cost, cost.teleconference_cost) == (Decimal("378.00"), Decimal("405.0"))
    assert cost.total_minor == 783


def test_fractions_of_a_minor_unit_are_rounded_once_on_the_total():
    cost = estimate(1, 1, 1, Decimal("0.5"), Decimal("0.5"))  # 0.5 + 0.5: rounding each would give 2

    assert cost.total_minor == 1


def test_the_minimum_charge_applies_when_usage_is_below_it():
    cost = estimate(10, 1, 0, Decimal("1"), Decimal("0"), minimum_minor=500)

    assert (cost.usage_minor, cost.total_minor, cost.minimum_applies) == (10, 500, True)


@pytest.mark.parametrize("duration,computers,tele", [(0, 1, 1), (-5, 1, 1), (60, -1, 0),
                                                    (MAX_DURATION_MIN + 1, 1, 0), (60, MAX_COMPUTERS + 1, 0),
                                                    (60.5, 1, 0), ("60", 1, 0)])
def test_nonsense_durations_and_counts_are_refused(duration, computers, tele):
    with pytest.raises(ValueError):
        estimate(duration, computers, tele, Decimal("1"), Decimal("1"))


@given(
    duration=st.integers(min_value=1, max_value=MAX_DURATION_MIN),
    computers=st.integers(min_value=0, max_value=MAX_COMPUTERS),
    tele=st.integers(min_value=0, max_value=MAX_COMPUTERS),
    person_rate=rates,
    tele_rate=rates,
    minimum=st.integers(min_value=0, max_value=10**6),
)
def test_the_total_is_the_formula_rounded_once_for_every_valid_input(duration, computers, tele,
                                                                     person_rate, tele_rate, minimum):
    cost = estimate(duration, computers, tele, person_rate, tele_rate, minimum)

    exact = Decimal(duration * computers) * person_rate + Decimal(duration * tele) * tele_rate
    assert cost.person_cost + cost.teleconference_cost == exact  # no minor unit lost or invented
    rounded = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert cost.total_minor == max(rounded, minimum)
    assert isinstance(cost.total_minor, int)
    assert abs(Decimal(cost.usage_minor) - exact) <= Decimal("0.5")
