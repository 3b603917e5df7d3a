"""Money and times are shown in the reader's language and time zone."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.i18n import format_when
from app.services.money import AmountError, format_money, parse_major_amount, to_major


@pytest.mark.parametrize(
    "minor,currency,major",
    [(4950, "EUR", Decimal("49.50")), (500, "JPY", Decimal("500")), (1, "SEK", Decimal("0.01"))],
)
def test_minor_units_become_major_units_by_the_currencys_digits(minor, currency, major):
    assert to_major(minor, currency) == major


@pytest.mark.parametrize(
    "locale,expected",
    [
        ("en", "SEK490.00"),
        ("sv", "490,00\xa0kr"),
        ("fr", "490,00\xa0SEK"),
        ("ru", "490,00\xa0SEK"),
    ],
)
def test_money_is_written_the_way_the_reader_expects(locale, expected):
    assert format_money(49000, "SEK", locale) == expected


def test_a_moment_is_shown_in_the_readers_language_and_zone(app):
    moment = datetime(2030, 1, 15, 8, 0, tzinfo=timezone.utc)
    with app.test_request_context(headers={"Cookie": "lectern_tz=Europe/Stockholm"}):
        with force_locale("sv"):
            assert format_when(moment) == "tisdag 15 januari 2030 09:00"
        with force_locale("en"):
            assert format_when(moment) == "Tuesday, January 15, 2030, 9:00\u202fAM"


@pytest.mark.parametrize(
    "text,currency,minor",
    [("49.50", "EUR", 4950), ("49,5", "EUR", 4950), ("500", "JPY", 500), (Decimal("12.30"), "SEK", 1230)],
)
def test_typed_amounts_become_exact_minor_units(text, currency, minor):
    assert parse_major_amount(text, currency) == minor


@pytest.mark.parametrize(
    "text,currency,reason",
    [("49.505", "EUR", "decimals"), ("1.5", "JPY", "decimals"), ("1e2", "EUR", "format"),
     ("-1", "EUR", "format"), ("٣", "EUR", "format"), ("99999999999", "EUR", "too_large")],
)
def test_amounts_that_are_not_plain_or_exact_are_refused_with_a_reason(text, currency, reason):
    with pytest.raises(AmountError) as refused:
        parse_major_amount(text, currency)

    assert refused.value.reason == reason
