"""Renewing subscriptions against the fake PayPal over real HTTP: charging the saved PayPal
account once per period, retries on schedule, bank-transfer invoices, notices, cancellation."""

import time
from datetime import datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import Order, Payment, Subscription
from app.services import checkout, provisioning, renewals, subscriptions
from app.services.payments import operator_paypal, provider_for_order
from tests.plan_factories import make_add_on, make_plan
from tests.subscription_factories import (
    buy,
    configure_paypal,
    count,
    mails,
    make_subscription,
    orders_of,
)

START = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
END = datetime(2026, 2, 15, 10, 0, tzinfo=timezone.utc)  # a monthly period from START
NEXT_END = datetime(2026, 3, 15, 10, 0, tzinfo=timezone.utc)
DUE = END + timedelta(hours=1)


@pytest.fixture
def renew(app, paypal):
    """Run the renewals at a moment, as `flask billing renew` would, with the configured policy."""
    configure_paypal(app, paypal)

    def run(now):
        provider = operator_paypal(app.config)
        return renewals.run(provider, renewals.RenewalPolicy.from_config(app.config), now).counts

    return run


def charges(paypal):
    """Requests that create a PayPal order: a charge to a saved account is one each."""
    return [r for r in paypal.requests_log if r.method == "POST" and r.path == "/v2/checkout/orders"]


def fresh(subscription):
    db.session.expire_all()
    return db.session.get(Subscription, subscription.id)


def renewal_orders(subscription):
    return [o for o in orders_of(subscription) if ":renewal:" in o.billing_key]


def test_the_policy_comes_from_the_configuration(app):
    app.config.update(RENEWAL_NOTICE_DAYS=5, RENEWAL_RETRY_DAYS="2, 4", INVOICE_DUE_DAYS=10)

    assert renewals.RenewalPolicy.from_config(app.config) == renewals.RenewalPolicy(5, (2, 4), 10)


def test_a_due_subscription_is_charged_to_its_saved_paypal_account_once_and_its_period_advances(renew, paypal):
    add_on = make_add_on(monthly=500)
    subscription = make_subscription(licenses=3, paypal=paypal, period_start=START, add_ons=[add_on])

    counts = renew(DUE)

    assert counts["renewed"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "active"
    assert (subscription.current_period_start, subscription.current_period_end) == (END, NEXT_END)
    assert subscription.failed_attempts == 0 and subscription.next_attempt_at is None
    [order] = renewal_orders(subscription)
    assert order.state == "paid" and order.total_minor == 3 * 1500 + 500
    assert order.billing_key == f"subscription-{subscription.id}:renewal:2026-02-15"
    [payment] = order.payments
    assert payment.state == "captured" and payment.capture_id
    [paypal_order] = paypal.orders.values()
    assert paypal_order["purchase_units"][0]["amount"] == {"currency_code": "EUR", "value": "50.00"}
    assert paypal_order["payment_source"]["paypal"]["attributes"]["vault"]["id"] == subscription.paypal_vault_id
    assert len(charges(paypal)) == 1
    assert len(mails("renewed")) == 1
    assert mails("renewed")[0].recipient == subscription.buyer.email


def test_running_twice_on_the_same_day_charges_once(renew, paypal):
    subscription = make_subscription(paypal=paypal, period_start=START)

    first, second = renew(DUE), renew(DUE + timedelta(hours=5))

    assert first["renewed"] == 1 and second["renewed"] == 0
    assert len(charges(paypal)) == 1 and len(paypal.captures) == 1
    assert len(renewal_orders(subscription)) == 1
    assert count(Payment, Payment.provider == "paypal") == 1
    assert len(mails("renewed")) == 1


def test_nothing_is_charged_before_the_period_ends(renew, paypal):
    subscription = make_subscription(paypal=paypal, period_start=START)

    renew(END - timedelta(seconds=1))

    assert charges(paypal) == [] and renewal_orders(subscription) == []


def test_a_declined_charge_makes_the_subscription_past_due_and_tells_the_buyer(renew, paypal):
    paypal.saved_charge_status = "DECLINED"
    subscription = make_subscription(paypal=paypal, period_start=START)

    counts = renew(DUE)

    assert counts["failed"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "past_due"
    assert subscription.failed_attempts == 1
    assert subscription.next_attempt_at == DUE + timedelta(days=1)
    assert subscription.current_period_end == END  # not renewed
    [order] = renewal_orders(subscription)
    assert order.state == "pending" and [p.state for p in order.payments] == ["failed"]
    assert len(mails("renewal_failed")) == 1 and mails("renewed") == []


def test_retries_follow_the_schedule_and_the_last_failure_cancels(renew, paypal):
    paypal.saved_charge_status = "DECLINED"
    subscription = make_subscription(paypal=paypal, period_start=START)

    renew(DUE)  # 1st failure: next try a day later
    renew(DUE + timedelta(hours=23))  # too early: nothing
    assert len(charges(paypal)) == 1

    second = DUE + timedelta(days=1)
    renew(second)
    subscription = fresh(subscription)
    assert (subscription.failed_attempts, subscription.next_attempt_at) == (2, second + timedelta(days=3))

    third = second + timedelta(days=3)
    renew(third)
    subscription = fresh(subscription)
    assert (subscription.failed_attempts, subscription.next_attempt_at) == (3, third + timedelta(days=7))
    assert subscription.state == "past_due"
    renew(third + timedelta(days=6))
    assert len(charges(paypal)) == 3

    counts = renew(third + timedelta(days=7))  # the last retry fails too

    assert counts["canceled"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "canceled" and subscription.canceled_at == third + timedelta(days=7)
    assert subscription.next_attempt_at is None
    assert len(charges(paypal)) == 4
    # one renewal order for the period, charged with a fresh PayPal-Request-Id each attempt
    [order] = renewal_orders(subscription)
    assert order.state == "canceled" and [p.state for p in order.payments] == ["failed"] * 4
    assert len({r.headers["paypal-request-id"] for r in charges(paypal)}) == 4
    assert len(mails("renewal_failed")) == 3 and len(mails("canceled")) == 1

    renew(third + timedelta(days=30))  # a canceled subscription is left alone
    assert len(charges(paypal)) == 4 and len(mails("canceled")) == 1


def test_a_retry_that_succeeds_renews_from_the_old_period_end(renew, paypal):
    paypal.saved_charge_status = "DECLINED"
    subscription = make_subscription(paypal=paypal, period_start=START)
    renew(DUE)

    paypal.saved_charge_status = "COMPLETED"
    counts = renew(DUE + timedelta(days=1))

    assert counts["renewed"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "active" and subscription.failed_attempts == 0
    assert subscription.next_attempt_at is None
    assert (subscription.current_period_start, subscription.current_period_end) == (END, NEXT_END)
    [order] = renewal_orders(subscription)
    assert order.state == "paid" and [p.state for p in order.payments] == ["failed", "captured"]


def test_a_saved_account_paypal_no_longer_knows_counts_as_a_failed_charge(renew, paypal):
    subscription = make_subscription(paypal=None, vault_id="VAULT-FORGOTTEN", period_start=START)

    assert renew(DUE)["failed"] == 1

    subscription = fresh(subscription)
    assert subscription.state == "past_due" and subscription.failed_attempts == 1
    assert len(mails("renewal_failed")) == 1


def test_a_paypal_timeout_leaves_the_payment_created_and_the_next_run_replays_it_once(app, renew, paypal):
    app.config["PAYPAL_READ_TIMEOUT"] = 0.5
    paypal.delay_next("/v2/checkout/orders", 2)  # PayPal charges, but its answer comes too late
    subscription = make_subscription(paypal=paypal, period_start=START)

    counts = renew(DUE)

    assert counts["waiting"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "active" and subscription.failed_attempts == 0
    assert subscription.next_attempt_at == DUE + renewals.LOST_ANSWER_RETRY
    assert subscription.current_period_end == END
    [order] = renewal_orders(subscription)
    [payment] = order.payments
    assert payment.state == "created" and payment.provider_order_id is None
    assert mails("renewal_failed") == [] and mails("renewed") == []
    _wait_until(lambda: len(paypal.captures) == 1)  # the slow request has been carried out

    # reconcile leaves a renewal charge to the renewal run, which replays it
    checkout.reconcile(provider_for_order, DUE + timedelta(minutes=30))
    renew(DUE + timedelta(minutes=30))
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).state == "created"
    assert len(charges(paypal)) == 1

    counts = renew(DUE + timedelta(hours=2))

    assert counts["renewed"] == 1
    first, replay = charges(paypal)
    assert first.headers["paypal-request-id"] == replay.headers["paypal-request-id"] == f"lectern-payment-{payment.id}-create"
    assert len(paypal.orders) == 1 and len(paypal.captures) == 1  # charged once
    subscription = fresh(subscription)
    assert subscription.state == "active" and subscription.current_period_end == NEXT_END
    [order] = renewal_orders(subscription)
    assert order.state == "paid" and [p.state for p in order.payments] == ["captured"]
    assert len(mails("renewed")) == 1


def test_a_paypal_server_error_is_not_the_buyers_failure_and_is_replayed_with_the_same_key(renew, paypal):
    paypal.fail_next("/v2/checkout/orders", 503, {"name": "SERVICE_UNAVAILABLE"})
    subscription = make_subscription(paypal=paypal, period_start=START)

    assert renew(DUE)["waiting"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "active" and subscription.failed_attempts == 0
    assert mails("renewal_failed") == []

    assert renew(DUE + timedelta(hours=2))["renewed"] == 1
    first, replay = charges(paypal)
    assert first.headers["paypal-request-id"] == replay.headers["paypal-request-id"]
    assert len(paypal.captures) == 1
    assert fresh(subscription).current_period_end == NEXT_END


def test_a_capture_paypal_reports_for_another_amount_is_reviewed_and_not_charged_again(renew, paypal):
    paypal.capture_amount_override = {"currency_code": "EUR", "value": "1.00"}
    subscription = make_subscription(paypal=paypal, period_start=START)

    renew(DUE)
    renew(DUE + timedelta(hours=2))
    renew(DUE + timedelta(days=2))

    [order] = renewal_orders(subscription)
    assert order.state == "review" and "captured 100 EUR" in order.review_reason
    assert len(charges(paypal)) == 1  # a person looks at it; the buyer is not charged again
    assert mails("renewed") == [] and mails("renewal_failed") == []


def test_auto_renew_off_ends_the_plan_at_the_period_end_without_a_charge(renew, paypal):
    subscription = make_subscription(paypal=paypal, period_start=START, auto_renew=False)

    renew(END - timedelta(days=7))  # no "renews soon" notice either
    renew(END - timedelta(minutes=1))
    assert fresh(subscription).state == "active"

    counts = renew(END)

    assert counts["canceled"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "canceled" and subscription.canceled_at == END
    assert charges(paypal) == [] and renewal_orders(subscription) == []
    assert len(mails("canceled")) == 1 and mails("renewal_upcoming") == []


def test_without_a_saved_account_an_invoice_is_emailed_once_and_an_unpaid_one_cancels(app, renew, paypal):
    app.config["INVOICE_DUE_DAYS"] = 14
    subscription = make_subscription(vault_id="", period_start=START, licenses=2)

    counts = renew(DUE)

    assert counts["invoiced"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "past_due"
    assert subscription.next_attempt_at == DUE + timedelta(days=14)
    [order] = renewal_orders(subscription)
    assert order.state == "pending" and order.total_minor == 2 * 1500
    assert order.expires_at == DUE + timedelta(days=14)
    assert [(p.provider, p.state) for p in order.payments] == [("bank_transfer", "created")]
    [invoice] = mails("invoice")
    assert order.code in invoice.body_text

    for day in (1, 7, 13):
        renew(DUE + timedelta(days=day))
    assert len(mails("invoice")) == 1 and fresh(subscription).state == "past_due"

    counts = renew(DUE + timedelta(days=14))

    assert counts["canceled"] == 1
    subscription = fresh(subscription)
    assert subscription.state == "canceled"
    [order] = renewal_orders(subscription)
    assert order.state == "canceled" and [p.state for p in order.payments] == ["canceled"]
    assert len(mails("canceled")) == 1 and len(mails("invoice")) == 1
    assert paypal.requests_log == []  # PayPal is never asked


def test_an_invoice_reconcile_dropped_at_its_due_day_still_cancels_instead_of_invoicing_again(renew, paypal):
    subscription = make_subscription(vault_id="", period_start=START)
    renew(DUE)
    due_day = DUE + timedelta(days=14)

    checkout.reconcile(provider_for_order, due_day)  # the worker reconciles before renewing
    counts = renew(due_day)

    assert counts["canceled"] == 1 and counts["invoiced"] == 0
    assert fresh(subscription).state == "canceled"
    assert len(mails("invoice")) == 1 and len(mails("canceled")) == 1


def test_a_paid_renewal_invoice_renews_the_plan(renew, paypal):
    subscription = make_subscription(vault_id="", period_start=START, payment_method="bank_transfer")
    renew(DUE)
    [order] = renewal_orders(subscription)

    checkout.mark_bank_transfer_paid(order, now=DUE + timedelta(days=3))

    subscription = fresh(subscription)
    assert subscription.state == "active" and subscription.next_attempt_at is None
    assert (subscription.current_period_start, subscription.current_period_end) == (END, NEXT_END)
    assert db.session.get(Order, order.id).state == "paid"
    renew(DUE + timedelta(days=20))
    assert fresh(subscription).state == "active" and len(mails("canceled")) == 0


def test_a_license_reduction_is_charged_at_the_renewal_and_applied_after_it(renew, paypal):
    subscription = make_subscription(paypal=paypal, period_start=START, licenses=5)
    subscriptions.reduce_licenses_at_renewal(subscription, 2)
    subscription = fresh(subscription)
    assert (subscription.licenses, subscription.licenses_at_renewal) == (5, 2)  # everyone keeps theirs

    renew(DUE)

    [paypal_order] = paypal.orders.values()
    assert paypal_order["purchase_units"][0]["amount"]["value"] == "30.00"  # 2 x 15.00
    [order] = renewal_orders(subscription)
    assert [(line.quantity, line.unit_price_minor) for line in order.lines] == [(2, 1500)]
    subscription = fresh(subscription)
    assert (subscription.licenses, subscription.licenses_at_renewal) == (2, None)


def test_the_renewal_notice_is_sent_once_per_period_the_configured_days_before(app, renew, paypal):
    app.config["RENEWAL_NOTICE_DAYS"] = 7
    subscription = make_subscription(paypal=paypal, period_start=START)

    assert renew(END - timedelta(days=7, seconds=1))["notified"] == 0
    assert renew(END - timedelta(days=7))["notified"] == 1
    assert renew(END - timedelta(days=3))["notified"] == 0
    assert len(mails("renewal_upcoming")) == 1
    assert charges(paypal) == []
    assert fresh(subscription).renewal_notice_for == END

    renew(DUE)  # renewed; the next period ends on 15 March
    renew(NEXT_END - timedelta(days=8))
    assert len(mails("renewal_upcoming")) == 1

    assert renew(NEXT_END - timedelta(days=6))["notified"] == 1
    renew(NEXT_END - timedelta(days=5))
    assert len(mails("renewal_upcoming")) == 2


def test_annual_subscriptions_renew_for_a_year_on_the_anchor_day(renew, paypal):
    start = datetime(2024, 2, 29, 8, 0, tzinfo=timezone.utc)
    plan = make_plan(annual=14400)
    subscription = make_subscription(plan=plan, paypal=paypal, cycle="annual", period_start=start)
    assert subscription.current_period_end == datetime(2025, 2, 28, 8, 0, tzinfo=timezone.utc)

    renew(datetime(2025, 2, 28, 9, 0, tzinfo=timezone.utc))

    subscription = fresh(subscription)
    assert subscription.current_period_end == datetime(2026, 2, 28, 8, 0, tzinfo=timezone.utc)
    [order] = renewal_orders(subscription)
    assert order.total_minor == 2 * 14400


def test_several_due_subscriptions_are_each_renewed_once(renew, paypal):
    subscriptions_ = [make_subscription(paypal=paypal, period_start=START) for _ in range(3)]
    declined = make_subscription(paypal=None, vault_id="VAULT-UNKNOWN", period_start=START)
    invoiced = make_subscription(vault_id="", period_start=START)

    counts = renew(DUE)

    assert (counts["renewed"], counts["failed"], counts["invoiced"]) == (3, 1, 1)
    assert [fresh(s).state for s in subscriptions_] == ["active"] * 3
    assert (fresh(declined).state, fresh(invoiced).state) == ("past_due", "past_due")
    assert len(paypal.captures) == 3


def test_a_plan_bought_on_the_31st_renews_with_the_paypal_account_saved_at_purchase(app, renew, paypal):
    bought_at = datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)
    subscription = buy(app, paypal, cycle="monthly", licenses=2, now=bought_at)
    provisioning.run_pending(bought_at)
    assert fresh(subscription).current_period_end == datetime(2026, 2, 28, 9, 0, tzinfo=timezone.utc)

    assert renew(datetime(2026, 2, 28, 9, 5, tzinfo=timezone.utc))["renewed"] == 1
    assert renew(datetime(2026, 3, 31, 9, 5, tzinfo=timezone.utc))["renewed"] == 1

    subscription = fresh(subscription)
    assert subscription.current_period_start == datetime(2026, 3, 31, 9, 0, tzinfo=timezone.utc)
    assert subscription.current_period_end == datetime(2026, 4, 30, 9, 0, tzinfo=timezone.utc)
    vaults = [o["payment_source"]["paypal"]["attributes"]["vault"]["id"] for o in paypal.orders.values()]
    assert vaults == [subscription.paypal_vault_id] * 3  # the purchase saved it; two renewals charged it
    assert [o.state for o in renewal_orders(subscription)] == ["paid", "paid"]


def test_a_plan_bought_with_invoiced_renewals_gets_an_invoice(app, renew, paypal):
    subscription = buy(app, paypal, cycle="monthly", renewal_payment="bank_transfer", now=START)
    provisioning.run_pending(START)
    requests_at_purchase = len(paypal.requests_log)

    assert renew(DUE)["invoiced"] == 1

    assert len(mails("invoice")) == 1 and fresh(subscription).state == "past_due"
    assert len(paypal.requests_log) == requests_at_purchase


def _wait_until(condition, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the fake PayPal did not finish in time"
        time.sleep(0.05)

