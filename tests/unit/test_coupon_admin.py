"""The coupon rules behind the administration: amounts, codes, days, bulk codes, CSV cells."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Coupon, Order
from app.services import coupons
from app.services.coupons import CouponRuleError
from app.services.reports import ORDER_STATE_LABELS, csv_cell, day_end, day_start, write_csv
from tests import factories
from tests.commerce_factories import make_coupon


@pytest.fixture
def organization(app):
    return factories.make_organization(currency="EUR", timezone="Europe/Stockholm")


def all_coupons():
    db.session.expire_all()
    return db.session.scalars(select(Coupon)).all()


@pytest.mark.parametrize("amount,currency,minor", [
    ("50", "EUR", 5000), ("49.50", "EUR", 4950), ("49,5", "EUR", 4950), ("0.01", "EUR", 1),
    (Decimal("12.30"), "SEK", 1230), ("500", "JPY", 500), (" 7 ", "CHF", 700),
])
def test_an_amount_in_major_units_becomes_exact_minor_units(app, amount, currency, minor):
    assert coupons.amount_to_minor(amount, currency) == minor


@pytest.mark.parametrize("amount,currency", [
    ("49.505", "EUR"), ("500.5", "JPY"), ("0", "EUR"), ("0.00", "EUR"), ("-1", "EUR"), ("1e2", "EUR"),
    ("1 000", "EUR"), ("", "EUR"), ("NaN", "EUR"), ("٣", "EUR"), ("99999999999", "EUR"),
])
def test_an_amount_that_is_not_exact_positive_or_plain_is_refused(app, amount, currency):
    with pytest.raises(CouponRuleError) as refused:
        coupons.amount_to_minor(amount, currency)

    assert refused.value.field == "value"


def test_random_codes_are_readable_and_differ(app):
    codes = {coupons.random_code() for _ in range(200)}

    assert len(codes) == 200
    assert all(len(code) == 10 and coupons.CODE_PATTERN.match(code) for code in codes)
    assert not set("".join(codes)) & set("0O1I")


@pytest.mark.parametrize("kind,value,stored,currency", [
    ("percent", "25", 25, None), ("percent", 100, 100, None), ("fixed", "19.90", 1990, "EUR"),
    ("free", "", 0, None), ("free", "42", 0, None),
])
def test_each_kind_stores_its_value(organization, kind, value, stored, currency):
    coupon = coupons.create_coupon(organization, "kind-test", kind, value, organization.currency)

    assert (coupon.code, coupon.kind, coupon.value, coupon.currency) == ("KIND-TEST", kind, stored, currency)


@pytest.mark.parametrize("changes,field", [
    ({"kind": "gift"}, "kind"),
    ({"value": "0"}, "value"),
    ({"code": "x!"}, "code"),
    ({"max_uses": 0}, "max_uses"),
    ({"valid_from": date(2026, 6, 2), "valid_until": date(2026, 6, 1)}, "valid_until"),
    ({"session_id": -1}, "session_id"),
])
def test_rule_breaks_name_their_field_and_write_nothing(organization, changes, field):
    arguments = dict(code="RULES", kind="percent", value="10", currency="EUR", max_uses=None,
                     valid_from=None, valid_until=None, session_id=None)

    with pytest.raises(CouponRuleError) as refused:
        coupons.create_coupon(organization, **{**arguments, **changes})

    assert refused.value.field == field
    assert str(refused.value.message)
    assert all_coupons() == []


def test_a_code_is_unique_per_organisation_whatever_its_case(organization):
    make_coupon(organization, code="SUMMER")
    elsewhere = coupons.create_coupon(factories.make_organization(), "summer", "free", None)

    with pytest.raises(CouponRuleError) as refused:
        coupons.create_coupon(organization, "Summer", "free", None)

    assert refused.value.field == "code"
    assert elsewhere.code == "SUMMER"


def test_one_day_validity_runs_from_local_midnight_to_the_last_moment_of_that_day(organization):
    coupon = coupons.create_coupon(organization, "", "percent", 10, valid_from=date(2026, 1, 15),
                                   valid_until=date(2026, 1, 15))

    assert coupon.valid_from == datetime(2026, 1, 14, 23, 0, tzinfo=timezone.utc)
    assert coupon.valid_until == datetime(2026, 1, 15, 22, 59, 59, 999999, tzinfo=timezone.utc)


def test_days_follow_daylight_saving_time():
    # Sweden moves its clocks forward on 29 March 2026: that day has 23 hours.
    assert day_start(date(2026, 3, 29), "Europe/Stockholm") == datetime(2026, 3, 28, 23, tzinfo=timezone.utc)
    assert day_end(date(2026, 3, 29), "Europe/Stockholm") == datetime(
        2026, 3, 29, 21, 59, 59, 999999, tzinfo=timezone.utc)


def test_generated_codes_are_new_one_use_and_carry_the_prefix(organization):
    make_coupon(organization, code="EXISTING")

    made = coupons.generate_codes(organization, 40, "vip_", kind="fixed", value="5", currency="EUR")

    assert len({c.code for c in made}) == 40
    assert all(c.code.startswith("VIP_") and len(c.code) == 14 for c in made)
    assert {(c.kind, c.value, c.currency, c.max_uses, c.used_count) for c in made} == {
        ("fixed", 500, "EUR", 1, 0)}
    assert len(all_coupons()) == 41


@pytest.mark.parametrize("count,prefix,value,field", [
    (0, "", "10", "count"), (1001, "", "10", "count"), ("5", "", "10", "count"),
    (5, "-LEADING", "10", "prefix"), (5, "X" * 21, "10", "prefix"), (5, "", "0", "value"),
])
def test_bulk_generation_is_all_or_nothing(organization, count, prefix, value, field):
    with pytest.raises(CouponRuleError) as refused:
        coupons.generate_codes(organization, count, prefix, kind="percent", value=value)

    assert refused.value.field == field
    assert all_coupons() == []


def test_a_coupon_is_switched_off_and_on_only_by_its_own_organisation(organization):
    coupon = make_coupon(organization)

    coupons.set_coupon_active(organization, coupon, False)
    off = db.session.get(Coupon, coupon.id).active
    with pytest.raises(ValueError):
        coupons.set_coupon_active(factories.make_organization(), coupon, True)

    assert off is False
    assert db.session.get(Coupon, coupon.id).active is False


@pytest.mark.parametrize("value,cell", [
    ("=1+1", "'=1+1"), ("+49 70 123", "'+49 70 123"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTAB", "'\tTAB"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (3, "3"),
])
def test_csv_cells_that_would_run_as_formulas_get_a_leading_quote(value, cell):
    assert csv_cell(value) == cell


def test_csv_documents_quote_commas_and_line_breaks():
    text = write_csv(["name", "note"], [["Smith, Anna", "two\nlines"]])

    assert text == 'name,note\r\n"Smith, Anna","two\nlines"\r\n'


def test_every_order_state_has_a_label():
    [states_check] = [str(c.sqltext) for c in Order.__table__.constraints
                      if str(getattr(c, "sqltext", "")).startswith("state IN")]
    states = {part.strip(" '()") for part in states_check.removeprefix("state IN").split(",")}

    assert set(ORDER_STATE_LABELS) == states
