"""Cancellation policies: reading and writing them, which tier applies when, and exact refunds."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from app import create_app
from app.services import cancellation_policy as policy
from app.services.cancellation_policy import PolicyError, Tier

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=timezone.utc)
TIERS = (Tier(168, refund_percent=100), Tier(48, refund_percent=50), Tier(24, fee_minor=1000))


@pytest.fixture(scope="module", autouse=True)
def app_context():
    """Messages are lazy strings and descriptions are translated: an app, no database."""
    app = create_app("testing")
    with app.test_request_context():
        yield


def starting_in(**delta):
    return SimpleNamespace(starts_at=NOW + timedelta(**delta))


def order(total=4900, refunded=0):
    return SimpleNamespace(total_minor=total, refunded_minor=refunded)


# Which tier applies, and what comes back -----------------------------------------------------


@pytest.mark.parametrize("hours_to_start, refund", [
    (500, 4900),  # long before: the earliest tier, everything back
    (168.001, 4900),
    (168, 2450),  # exactly 7 days before: that tier's time is over, the 50 % tier applies
    (100, 2450),
    (48, 3900),  # exactly 48 hours before: all but the 10.00 fee
    (30, 3900),
    (24.001, 3900),
])
def test_the_tier_with_the_most_hours_still_ahead_applies(hours_to_start, refund):
    quote = policy.quote(TIERS, order(), starting_in(hours=hours_to_start), NOW)

    assert (quote.allowed, quote.refund_minor) == (True, refund)


@pytest.mark.parametrize("hours_to_start", [24, 10, 0, -5])
def test_from_the_deadline_on_self_service_cancellation_is_refused(hours_to_start):
    session = starting_in(hours=hours_to_start)

    quote = policy.quote(TIERS, order(), session, NOW)

    assert (quote.allowed, quote.refund_minor, quote.tier) == (False, 0, None)
    assert quote.deadline == session.starts_at - timedelta(hours=24)


def test_an_empty_policy_offers_no_self_service_cancellation_at_all():
    quote = policy.quote((), order(), starting_in(days=30), NOW)

    assert (quote.allowed, quote.refund_minor, quote.deadline) == (False, 0, None)


@pytest.mark.parametrize("percent, total, refund", [
    (50, 4901, 2451),  # 2450.5 rounds half up
    (50, 4899, 2450),  # 2449.5 rounds half up
    (33, 1515, 500),  # 499.95
    (33, 1000, 330),
    (1, 49, 0),  # 0.49 rounds down
    (0, 4900, 0),
    (100, 4900, 4900),
])
def test_a_percentage_is_rounded_half_up_once(percent, total, refund):
    tiers = (Tier(24, refund_percent=percent),)

    assert policy.quote(tiers, order(total), starting_in(days=2), NOW).refund_minor == refund


def test_a_fee_larger_than_the_order_leaves_nothing_to_refund_never_less():
    tiers = (Tier(24, fee_minor=1000),)

    assert policy.quote(tiers, order(500), starting_in(days=2), NOW).refund_minor == 0


def test_the_refund_is_never_more_than_what_is_left_to_refund():
    tiers = (Tier(24, refund_percent=100),)

    assert policy.quote(tiers, order(4900, refunded=4000), starting_in(days=2), NOW).refund_minor == 900


# Stored JSON ------------------------------------------------------------------------------------


def test_a_stored_policy_is_read_sorted_and_written_back_the_same():
    stored = '[{"hours_before": 24, "fee_minor": 1000}, {"hours_before": 168, "refund_percent": 100}]'

    tiers = policy.parse(stored)

    assert tiers == (Tier(168, refund_percent=100), Tier(24, fee_minor=1000))
    assert policy.parse(policy.serialise(tiers)) == tiers
    assert policy.serialise(tiers) == (
        '[{"hours_before":168,"refund_percent":100},{"hours_before":24,"fee_minor":1000}]'
    )
    assert policy.parse("[]") == ()


@pytest.mark.parametrize("stored", [
    "not json",
    '{"hours_before": 24}',
    '[{"hours_before": 24}]',  # neither a percentage nor a fee
    '[{"hours_before": 24, "refund_percent": 50, "fee_minor": 100}]',  # both
    '[{"hours_before": 24, "refund_percent": 101}]',
    '[{"hours_before": 24, "refund_percent": -1}]',
    '[{"hours_before": 24, "refund_percent": 50.5}]',
    '[{"hours_before": 24, "refund_percent": true}]',
    '[{"hours_before": -1, "refund_percent": 50}]',
    '[{"hours_before": 24, "fee_minor": -100}]',
    '[{"hours_before": 24, "refund_percent": 50}, {"hours_before": 24, "refund_percent": 20}]',
    '[{"hours_before": 24, "refund_percent": 50, "extra": 1}]',
])
def test_a_policy_that_is_not_valid_is_refused(stored):
    with pytest.raises(PolicyError):
        policy.parse(stored)


def test_a_stored_policy_that_cannot_be_read_offers_no_self_service():
    session = SimpleNamespace(cancellation_policy="not json")

    assert policy.policy_for(session, None) == ()


def test_a_session_without_its_own_policy_takes_the_sites_and_its_own_wins():
    settings = SimpleNamespace(cancellation_policy='[{"hours_before": 48, "refund_percent": 100}]')

    assert policy.policy_for(SimpleNamespace(cancellation_policy=None), settings) == (Tier(48, 100),)
    assert policy.policy_for(SimpleNamespace(cancellation_policy="[]"), settings) == ()


# The editor's text --------------------------------------------------------------------------------


def test_the_editor_reads_one_tier_per_line_in_hours_days_percentages_and_fees():
    text = "7d 100%\n\n  48   50 %\n24 fee 10.00\n6h avgift 0,50\n2 frais 3"

    tiers = policy.parse_text(text, "EUR")

    assert tiers == (Tier(168, refund_percent=100), Tier(48, refund_percent=50), Tier(24, fee_minor=1000),
                     Tier(6, fee_minor=50), Tier(2, fee_minor=300))


def test_the_editor_text_of_a_stored_policy_reads_back_the_same():
    text = policy.to_text(TIERS, "EUR")

    assert text == "168 100%\n48 50%\n24 fee 10.00"
    assert policy.parse_text(text, "EUR") == TIERS
    assert policy.to_text((Tier(24, fee_minor=500),), "JPY") == "24 fee 500"


def test_the_editor_names_the_fee_in_the_readers_language_and_reads_it_back():
    with force_locale("sv"):
        text = policy.to_text(TIERS, "EUR")

    assert text == "168 100%\n48 50%\n24 avgift 10.00"
    assert policy.parse_text(text, "EUR") == TIERS


@pytest.mark.parametrize("text, message", [
    ("48 50", "Line 1: write the hours before the start, then a refund such as 50% or a fee"),
    ("168 100%\nsoon 50%", "Line 2: write the hours before the start"),
    ("48 150%", "Line 1: A refund percentage must be a whole number from 0 to 100."),
    ("24 fee 10.001", "Line 1: Use at most 2 decimal places."),
    ("99999 50%", "Line 1: The hours before the start must be a whole number from 0 to 8760."),
    ("48 50%\n2d 20%", "Each number of hours may appear only once in a policy."),
    ("\n".join(f"{n} 50%" for n in range(1, 12)), "A policy has at most 10 tiers."),
])
def test_the_editor_explains_what_is_wrong_and_on_which_line(text, message):
    with pytest.raises(PolicyError) as refused:
        policy.parse_text(text, "EUR")

    assert message in str(refused.value.message)
    assert refused.value.field == "cancellation_policy"


def test_a_fee_in_a_currency_without_decimals_must_be_whole():
    assert policy.parse_text("24 fee 500", "JPY") == (Tier(24, fee_minor=500),)
    with pytest.raises(PolicyError, match="Line 1: Enter a whole amount: JPY has no decimals."):
        policy.parse_text("24 fee 500.5", "JPY")


# In words ---------------------------------------------------------------------------------------


def test_the_policy_is_described_in_one_sentence():
    with force_locale("en"):
        text = policy.describe(TIERS, "EUR")

    assert text == (
        "Free cancellation until 7 days before the start; 50 % refund until 48 hours before; "
        "refund minus a fee of €10.00 until 24 hours before; no self-service cancellation after that."
    )


def test_a_policy_without_a_free_tier_and_one_without_tiers_are_described():
    with force_locale("en"):
        partial = policy.describe((Tier(36, refund_percent=0), Tier(1, refund_percent=25)), "EUR")
        none = policy.describe((), "EUR")

    assert partial == ("Cancellation without refund until 36 hours before; 25 % refund until 1 hour "
                       "before; no self-service cancellation after that.")
    assert none == "Self-service cancellation is not offered for this session."
