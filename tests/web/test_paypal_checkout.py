"""Paying through PayPal: real HTTP to a loopback fake PayPal, exactly-once confirmation."""

import re
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import OutboxMessage
from app.services import commerce, registrations
from app.services.order_links import make_order_token
from tests import factories


@pytest.fixture
def order(app, paypal):
    host = factories.make_user(role="host")
    commerce.update_settings(
        host.organization, enabled=True, fee_based=True, paypal_enabled=True,
        paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
    )
    session = factories.make_session(host=host, fee_minor=4900, currency="EUR", capacity=5)
    return registrations.register(session, "Ana", "ana@example.com", "fr", 15)


@pytest.fixture
def checkout_url(app, order):
    return f"/checkout/{make_order_token(order, app.config['SECRET_KEY'])}"


def pay_with_paypal(csrf_client, checkout_url, method="paypal"):
    response = csrf_client.post(f"{checkout_url}/pay", {"method": method, "shown_total": "4900"},
                                page=checkout_url)
    assert response.status_code == 302, response.get_data(as_text=True)
    return re.search(r"token=([^&]+)", response.headers["Location"]).group(1)


def confirmations():
    return db.session.query(OutboxMessage).filter_by(template="registration_confirmed").count()


def test_pay_with_paypal_approve_and_return_confirms_the_seat(csrf_client, checkout_url, order, paypal):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)

    response = csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}&PayerID=FAKEPAYER")

    assert response.headers["Location"].endswith("/receipt")
    db.session.refresh(order)
    assert order.state == "paid"
    assert order.registration.state == "confirmed"
    assert order.payments[-1].capture_id
    assert confirmations() == 1
    posts = [r for r in paypal.requests_log if r.method == "POST" and "/v2/" in r.path]
    assert all(r.headers.get("paypal-request-id", "").startswith("lectern-payment-") for r in posts)


def test_card_payments_go_to_paypals_guest_card_page(csrf_client, checkout_url, paypal):
    paypal_order = pay_with_paypal(csrf_client, checkout_url, method="card")

    context = paypal.orders[paypal_order]["payment_source"]["paypal"]["experience_context"]
    assert context["landing_page"] == "GUEST_CHECKOUT"


def test_a_capture_timeout_leaves_the_order_pending_until_reconcile_settles_it(
    app, csrf_client, checkout_url, order, paypal
):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    paypal.fail_next("/capture", 503, {"name": "SERVICE_UNAVAILABLE"})

    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")
    db.session.refresh(order)
    assert order.state == "pending"

    result = app.test_cli_runner().invoke(args=["payments", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "captured: 1" in result.output
    db.session.refresh(order)
    assert order.state == "paid" and confirmations() == 1


def test_a_slow_capture_counts_as_unknown_not_as_failed(app, csrf_client, checkout_url, order, paypal):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    app.config["PAYPAL_READ_TIMEOUT"] = 0.5
    paypal.delay_next("/capture", 2)

    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")

    db.session.refresh(order)
    assert order.state == "pending"
    assert order.payments[-1].state == "created"


def test_browser_closed_after_approving_reconcile_captures_and_confirms(app, csrf_client, checkout_url,
                                                                          order, paypal):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)  # the buyer approved, then closed the tab: no return visit

    app.test_cli_runner().invoke(args=["payments", "reconcile"])
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.refresh(order)
    assert order.state == "paid" and order.registration.state == "confirmed"
    assert confirmations() == 1


def test_a_capture_for_a_different_amount_puts_the_order_under_review(csrf_client, checkout_url, order,
                                                                        paypal):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    paypal.capture_amount_override = {"currency_code": "EUR", "value": "1.00"}

    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")

    db.session.refresh(order)
    assert order.state == "review"
    assert "captured 100 EUR" in order.review_reason
    assert order.registration.state == "held"
    assert confirmations() == 0


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(client, order, paypal, csrf_client,
                                                                       checkout_url):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    headers, body = paypal.webhook_delivery("CHECKOUT.ORDER.APPROVED", paypal_order, valid_signature=False)

    response = client.post(f"/webhooks/paypal/{order.organization_id}", data=body, headers=headers)

    assert response.status_code == 400
    db.session.refresh(order)
    assert order.state == "pending"


def test_a_webhook_sent_twice_confirms_once(client, order, paypal, csrf_client, checkout_url):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    headers, body = paypal.webhook_delivery("CHECKOUT.ORDER.APPROVED", paypal_order)

    statuses = [
        client.post(f"/webhooks/paypal/{order.organization_id}", data=body, headers=headers).status_code
        for _ in range(2)
    ]

    assert statuses == [204, 204]
    db.session.refresh(order)
    assert order.state == "paid" and confirmations() == 1


def test_the_return_page_webhook_and_reconcile_reporting_one_capture_act_once(
    app, client, csrf_client, checkout_url, order, paypal
):
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)

    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")
    headers, body = paypal.webhook_delivery("PAYMENT.CAPTURE.COMPLETED", paypal_order)
    client.post(f"/webhooks/paypal/{order.organization_id}", data=body, headers=headers)
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.refresh(order)
    assert order.state == "paid" and confirmations() == 1
    assert len(paypal.captures) == 1


def test_paypal_refunds_part_then_the_rest(app, csrf_client, checkout_url, order, paypal):
    from app.services import checkout
    from app.services.payments import paypal_provider

    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")
    provider = paypal_provider(commerce.settings_for(order.organization), app.config)

    checkout.refund_order(order, 900, provider)
    checkout.refund_order(order, 4000, provider)

    db.session.refresh(order)
    assert (order.state, order.refunded_minor) == ("refunded", 4900)
    assert order.registration.state == "refunded"
    assert [r.state for r in order.refunds] == ["succeeded", "succeeded"]
    with pytest.raises(checkout.CheckoutError):
        checkout.refund_order(order, 1, provider)


def test_a_seat_whose_buyer_is_at_paypal_is_not_given_away_when_the_hold_runs_out(
    app, csrf_client, checkout_url, order, paypal
):
    from datetime import timedelta

    from app.models.base import utcnow

    order.session.capacity = 1
    db.session.commit()
    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    order.expires_at = order.registration.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    with pytest.raises(registrations.RegistrationError):
        registrations.register(order.session, "Bo", "bo@example.com", "en", 15)
    paypal.approve(paypal_order)
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.refresh(order)
    assert order.state == "paid" and order.registration.state == "confirmed"


def test_an_abandoned_paypal_payment_frees_the_seat_once_reconcile_has_asked(
    app, csrf_client, checkout_url, order, paypal
):
    from datetime import timedelta

    from app.models.base import utcnow

    pay_with_paypal(csrf_client, checkout_url)  # the buyer never approves
    order.expires_at = order.registration.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["payments", "reconcile"])

    assert "abandoned: 1" in result.output and "expired: 1" in result.output
    db.session.refresh(order)
    assert (order.state, order.registration.state) == ("expired", "expired")
    assert registrations.seats_left(order.session) == order.session.capacity


def test_a_refund_paypal_does_not_answer_stays_pending_and_reconcile_makes_it_exactly_once(
    app, csrf_client, checkout_url, order, paypal
):
    from datetime import timedelta

    from app.models import Refund
    from app.services import checkout
    from app.services.payments import paypal_provider

    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")
    provider = paypal_provider(commerce.settings_for(order.organization), app.config)
    app.config["PAYPAL_READ_TIMEOUT"] = 0.5
    paypal.delay_next("/refund", 2)  # PayPal refunds, but its answer comes too late

    with pytest.raises(checkout.CheckoutError):
        checkout.refund_order(order, 1000, paypal_provider(commerce.settings_for(order.organization),
                                                           app.config))
    db.session.refresh(order)
    assert (order.refunded_minor, [r.state for r in order.refunds]) == (0, ["pending"])
    with pytest.raises(checkout.CheckoutError, match="still being confirmed"):
        checkout.refund_order(order, 500, provider)

    refund = db.session.query(Refund).one()
    refund.created_at -= timedelta(minutes=2)
    db.session.commit()
    app.config["PAYPAL_READ_TIMEOUT"] = 15
    app.test_cli_runner().invoke(args=["payments", "reconcile"])
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.refresh(order)
    assert (order.refunded_minor, order.state) == (1000, "partially_refunded")
    refund_calls = [r for r in paypal.requests_log if r.path.endswith("/refund")]
    assert len(refund_calls) == 2  # the lost answer, then reconcile asking again
    assert len({r.headers.get("paypal-request-id") for r in refund_calls}) == 1
    capture = next(iter(paypal.captures.values()))
    assert capture["status"] == "PARTIALLY_REFUNDED"
    assert paypal._refunded[capture["id"]] == Decimal("10.00")  # refunded once at PayPal too


def test_approving_a_replaced_paypal_attempt_late_does_not_take_the_money(
    csrf_client, checkout_url, order, paypal
):
    first = pay_with_paypal(csrf_client, checkout_url)
    second = pay_with_paypal(csrf_client, checkout_url)  # the attendee started over
    paypal.approve(first)  # …then approved the old attempt in another tab

    csrf_client.get(f"{checkout_url}/paypal/return?token={first}&PayerID=FAKEPAYER")

    db.session.refresh(order)
    assert [p.state for p in order.payments] == ["canceled", "created"]
    assert order.state == "pending" and not paypal.captures
    assert second in paypal.orders


def test_a_pending_refund_carried_out_twice_is_refunded_once(app, csrf_client, checkout_url, order, paypal):
    from app.models import Refund
    from app.services import checkout
    from app.services.payments import paypal_provider

    paypal_order = pay_with_paypal(csrf_client, checkout_url)
    paypal.approve(paypal_order)
    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}")
    db.session.refresh(order)
    refund = Refund(order=order, payment=order.payments[-1], amount_minor=1000, state="pending")
    db.session.add(refund)
    db.session.commit()
    provider = paypal_provider(commerce.settings_for(order.organization), app.config)

    checkout.carry_out_refund(refund, provider)
    checkout.carry_out_refund(refund, provider)  # a retry that started before the first ended

    db.session.refresh(order)
    assert (order.refunded_minor, refund.state) == (1000, "succeeded")
    assert db.session.query(OutboxMessage).filter_by(template="refund_issued").count() == 1
