"""A host cancels a session: every paid attendee is refunded in full through (fake) PayPal in one
bulk operation that survives an interruption and PayPal failures, and refunds nobody twice."""

from datetime import timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Order, OutboxMessage, Refund, TrainingSession
from app.models.base import utcnow
from app.services import checkout, commerce, scheduling
from app.services.payments import provider_for_order
from tests import factories
from tests.web.test_self_service_cancellation import cancel_path, course, pay_through_paypal, refund_calls

ATTENDEES = [("Ana", "ana@example.com"), ("Bo", "bo@example.com"), ("Cy", "cy@example.com")]


@pytest.fixture
def host(app, paypal):
    host = factories.make_user(role="host")
    commerce.update_settings(
        host.organization, enabled=True, fee_based=True, paypal_enabled=True,
        paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
    )
    return host


@pytest.fixture
def sold_out(app, csrf_client, paypal, host):
    """A session with three attendees who paid through PayPal; the host signed in."""
    session = course(host)
    orders = [pay_through_paypal(app, csrf_client, paypal, session, name, email) for name, email in ATTENDEES]
    csrf_client.sign_in(host)
    return session, [order.id for order in orders]


def refunded_at_paypal(paypal):
    return sorted(paypal._refunded.values())


def assert_each_refunded_exactly_once(order_ids, paypal):
    db.session.expire_all()
    for order_id in order_ids:
        order = db.session.get(Order, order_id)
        assert (order.state, order.refunded_minor, order.registration.state) == ("refunded", 4900, "refunded")
        assert [r.state for r in order.refunds] == ["succeeded"]
    assert refunded_at_paypal(paypal) == [Decimal("49.00")] * len(order_ids)
    for _, email in ATTENDEES:
        sent = [m.template for m in db.session.query(OutboxMessage).filter_by(recipient=email)]
        assert (sent.count("session_canceled"), sent.count("refund_issued")) == (1, 1)


def test_an_interrupted_bulk_cancel_with_a_paypal_failure_is_resumed_and_refunds_each_once(
    app, csrf_client, paypal, sold_out, monkeypatch
):
    session, order_ids = sold_out
    paypal.fail_next("/refund", 503, {"name": "SERVICE_UNAVAILABLE"})  # the first refund fails
    real_carry_out = checkout.carry_out_refund
    calls = []

    def dies_at_the_second_refund(refund, provider):
        calls.append(refund.id)
        if len(calls) == 2:
            raise RuntimeError("the worker was stopped")
        return real_carry_out(refund, provider)

    monkeypatch.setattr(checkout, "carry_out_refund", dies_at_the_second_refund)
    with pytest.raises(RuntimeError):
        scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, None)
    monkeypatch.undo()

    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).state == "canceled"
    refunds = db.session.query(Refund).order_by(Refund.id).all()
    assert [(r.state, r.retry_until_done, r.amount_minor) for r in refunds] == [("pending", True, 4900)] * 3
    assert refunds[0].attempts == 1 and refunds[0].last_error

    response = csrf_client.post(f"/sessions/{session.id}/cancel", {}, page=f"/sessions/{session.id}/edit")

    assert response.status_code == 302
    assert_each_refunded_exactly_once(order_ids, paypal)
    assert len(refund_calls(paypal)) == 4  # the refused one, then each of the three once
    page = csrf_client.get(f"/sessions/{session.id}/orders").get_data(as_text=True)
    assert "All 3 refunds of this canceled session are done." in page


def test_the_host_sees_how_many_refunds_are_left_and_reconcile_finishes_them(
    app, csrf_client, paypal, sold_out
):
    session, order_ids = sold_out
    paypal.fail_next("/refund", 503, {"name": "SERVICE_UNAVAILABLE"})

    response = csrf_client.post(f"/sessions/{session.id}/cancel", {"confirm": "y"},
                                page=f"/sessions/{session.id}/edit", follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "1 of 3 refunds is still being processed and will be retried automatically." in html
    assert "1 of 3 refunds is still being processed." in html  # the progress box of the orders page
    assert "Retry the remaining refunds now" in html
    edit_page = csrf_client.get(f"/sessions/{session.id}/edit").get_data(as_text=True)
    assert "1 of 3 refunds is still being processed." in edit_page

    pending = db.session.query(Refund).filter_by(state="pending").one()
    pending.created_at -= timedelta(minutes=5)
    pending.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    assert_each_refunded_exactly_once(order_ids, paypal)
    assert "All 3 refunds" in csrf_client.get(f"/sessions/{session.id}/orders").get_data(as_text=True)


def test_canceling_again_refunds_nobody_twice(app, csrf_client, paypal, sold_out):
    session, order_ids = sold_out

    first = scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, None)
    second = scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, None)

    assert (first.total, first.pending) == (second.total, second.pending) == (3, 0)
    assert_each_refunded_exactly_once(order_ids, paypal)
    assert len(refund_calls(paypal)) == 3


def test_an_attendee_who_canceled_before_keeps_what_the_policy_gave(app, csrf_client, paypal, host):
    session = course(host, cancellation_policy='[{"hours_before": 24, "refund_percent": 50}]')
    left = pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    stayed = pay_through_paypal(app, csrf_client, paypal, session, "Bo", "bo@example.com")

    csrf_client.post(cancel_path("ana@example.com"))
    progress = scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, host)

    db.session.expire_all()
    assert (progress.total, progress.pending) == (1, 0)
    assert db.session.get(Order, left.id).refunded_minor == 2450
    assert db.session.get(Order, stayed.id).refunded_minor == 4900
