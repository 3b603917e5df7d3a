"""The PayPal provider against a fake PayPal over real HTTP, with stand-ins for our payment and
order (no database, no Flask app)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.services.payments.base import Capture
from app.services.payments.paypal import PayPalProvider
from app.services.payments.paypal_client import OrderAlreadyCaptured, PayPalClient, PayPalError
from tests.fakes.paypal import FakePayPal

RETURN_URL = "http://lectern.test/orders/LEC-7Q2X/paypal/return"
CANCEL_URL = "http://lectern.test/orders/LEC-7Q2X/paypal/cancel"


@pytest.fixture
def fake():
    with FakePayPal() as server:
        yield server


@pytest.fixture
def provider(fake):
    client = PayPalClient(fake.base_url, fake.client_id, fake.client_secret, timeout=(2, 5))
    return PayPalProvider(client, fake.webhook_id)


def make_payment(**changes):
    fields = dict(id=7, amount_minor=4900, currency="EUR", method="paypal", provider_order_id=None,
                  capture_id=None)
    return SimpleNamespace(**fields | changes)


def make_order(description="Pottery for beginners, evening class"):
    return SimpleNamespace(code="LEC-7Q2X", lines=[SimpleNamespace(description=description)],
                           saves_payment_method=False)


def started(provider, **changes):
    payment = make_payment(**changes)
    provider.start(payment, make_order(), RETURN_URL, CANCEL_URL)
    return payment


def captured(fake, provider, **changes):
    payment = started(provider, **changes)
    fake.approve(payment.provider_order_id)
    payment.capture_id = provider.capture(payment).capture_id
    return payment


def test_start_returns_the_approval_link_and_remembers_paypals_order(fake, provider):
    payment = make_payment()

    link = provider.start(payment, make_order(), RETURN_URL, CANCEL_URL)

    assert payment.provider_order_id in fake.orders
    assert link == f"{fake.base_url}/checkoutnow?token={payment.provider_order_id}"


def test_start_sends_our_ids_the_amount_and_where_to_come_back(fake, provider):
    payment = started(provider)

    sent = fake.orders[payment.provider_order_id]
    assert sent["intent"] == "CAPTURE"
    assert sent["purchase_units"] == [{
        "reference_id": "LEC-7Q2X",
        "invoice_id": "LEC-7Q2X-7",
        "custom_id": "payment-7",
        "amount": {"currency_code": "EUR", "value": "49.00"},
        "description": "Pottery for beginners, evening class",
    }]
    assert sent["payment_source"]["paypal"]["experience_context"] == {
        "brand_name": "Lectern",
        "landing_page": "LOGIN",
        "shipping_preference": "NO_SHIPPING",
        "user_action": "PAY_NOW",
        "return_url": RETURN_URL,
        "cancel_url": CANCEL_URL,
    }
    creates = [r for r in fake.requests_log if r.path == "/v2/checkout/orders"]
    assert [r.headers["paypal-request-id"] for r in creates] == ["lectern-payment-7-create"]


def test_start_for_a_card_opens_paypals_guest_checkout(fake, provider):
    payment = started(provider, method="card")

    context = fake.orders[payment.provider_order_id]["payment_source"]["paypal"]["experience_context"]
    assert context["landing_page"] == "GUEST_CHECKOUT"


def test_start_shortens_a_long_description_to_paypals_limit(fake, provider):
    payment = make_payment()
    provider.start(payment, make_order("x" * 300), RETURN_URL, CANCEL_URL)

    assert fake.orders[payment.provider_order_id]["purchase_units"][0]["description"] == "x" * 127


def test_starting_the_same_payment_again_gives_the_same_paypal_order(fake, provider):
    first, again = started(provider), started(provider)

    assert again.provider_order_id == first.provider_order_id
    assert len(fake.orders) == 1


@pytest.mark.parametrize("minor, currency, value", [(500, "JPY", "500"), (4900, "HUF", "49")])
def test_start_sends_yen_and_forints_without_decimals(fake, provider, minor, currency, value):
    payment = started(provider, amount_minor=minor, currency=currency)

    amount = fake.orders[payment.provider_order_id]["purchase_units"][0]["amount"]
    assert amount == {"currency_code": currency, "value": value}


def test_start_refuses_an_amount_paypal_cannot_take(fake, provider):
    with pytest.raises(ValueError):
        provider.start(make_payment(amount_minor=4950, currency="HUF"), make_order(), RETURN_URL, CANCEL_URL)
    assert fake.orders == {}


def test_paying_on_the_checkout_page_approves_and_returns_to_us(fake, provider):
    payment = make_payment()
    link = provider.start(payment, make_order(), RETURN_URL, CANCEL_URL)

    page = requests.get(link, timeout=5)
    paid = requests.post(
        f"{fake.base_url}/checkoutnow/approve", data={"token": payment.provider_order_id},
        allow_redirects=False, timeout=5,
    )

    assert "Pay now" in page.text and "Cancel" in page.text
    assert paid.status_code == 303
    back = urlsplit(paid.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == RETURN_URL
    assert parse_qs(back.query) == {"token": [payment.provider_order_id], "PayerID": ["FAKEPAYER"]}
    assert provider.fetch_status(payment).status == "approved"


def test_capture_after_approval_gives_a_completed_capture(fake, provider):
    payment = started(provider)
    fake.approve(payment.provider_order_id)

    capture = provider.capture(payment)

    assert capture == Capture(
        status="completed", capture_id=capture.capture_id, amount_minor=4900, currency="EUR",
        custom_id="payment-7",
    )
    assert capture.capture_id in fake.captures
    captures = [r for r in fake.requests_log if r.path.endswith("/capture")]
    assert [r.headers["paypal-request-id"] for r in captures] == ["lectern-payment-7-capture"]


def test_capturing_twice_returns_the_same_capture(fake, provider):
    payment = started(provider)
    fake.approve(payment.provider_order_id)

    first, second = provider.capture(payment), provider.capture(payment)

    assert second == first
    assert len(fake.captures) == 1


def test_capture_of_an_order_captured_elsewhere_reads_the_order_instead(fake, provider):
    payment = started(provider)
    fake.approve(payment.provider_order_id)
    earlier = provider.client.capture_order(payment.provider_order_id, "an-attempt-we-lost-track-of")

    capture = provider.capture(payment)

    assert capture.capture_id == earlier["purchase_units"][0]["payments"]["captures"][0]["id"]
    assert capture.status == "completed"
    assert fake.requests_log[-1].method == "GET"


def test_capture_of_an_unapproved_order_raises(fake, provider):
    payment = started(provider)

    with pytest.raises(PayPalError) as refused:
        provider.capture(payment)

    assert not isinstance(refused.value, OrderAlreadyCaptured)
    assert refused.value.issues == ["ORDER_NOT_APPROVED"]
    assert fake.captures == {}


def test_a_mismatched_captured_amount_is_reported_as_paypal_states_it(fake, provider):
    fake.capture_amount_override = {"currency_code": "USD", "value": "1.00"}

    payment = started(provider)
    fake.approve(payment.provider_order_id)
    capture = provider.capture(payment)

    assert (capture.amount_minor, capture.currency) == (100, "USD")


@pytest.mark.parametrize("paypal_status, status", [("PENDING", "pending"), ("DECLINED", "declined")])
def test_a_capture_that_did_not_complete_is_not_reported_completed(fake, provider, paypal_status, status):
    fake.capture_status = paypal_status

    payment = started(provider)
    fake.approve(payment.provider_order_id)

    assert provider.capture(payment).status == status


def test_fetch_status_follows_the_order_from_created_to_completed(fake, provider):
    payment = started(provider)
    created = provider.fetch_status(payment)
    fake.approve(payment.provider_order_id)
    approved = provider.fetch_status(payment)
    capture = provider.capture(payment)
    completed = provider.fetch_status(payment)

    assert (created.status, created.capture) == ("created", None)
    assert (approved.status, approved.capture) == ("approved", None)
    assert (completed.status, completed.capture) == ("completed", capture)


def test_refund_in_parts_until_nothing_remains(fake, provider):
    payment = captured(fake, provider)

    part = provider.refund(payment, 1000, "refund-1")
    rest = provider.refund(payment, 3900, "refund-2")
    with pytest.raises(PayPalError) as refused:
        provider.refund(payment, 1, "refund-3")

    assert (part.status, rest.status) == ("completed", "completed")
    assert part.refund_id and rest.refund_id and part.refund_id != rest.refund_id
    assert refused.value.issues == ["REFUND_AMOUNT_EXCEEDED"]
    assert fake.captures[payment.capture_id]["status"] == "REFUNDED"


def test_a_retried_refund_is_paid_once(fake, provider):
    payment = captured(fake, provider)

    first = provider.refund(payment, 4000, "refund-1")
    retry = provider.refund(payment, 4000, "refund-1")

    assert retry.refund_id == first.refund_id
    assert fake.captures[payment.capture_id]["status"] == "PARTIALLY_REFUNDED"
    refunds = [r for r in fake.requests_log if r.path.endswith("/refund")]
    assert {r.headers["paypal-request-id"] for r in refunds} == {"lectern-refund-refund-1"}


@pytest.mark.parametrize("event_type", ["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"])
def test_a_genuine_webhook_names_the_paypal_order(fake, provider, event_type):
    payment = captured(fake, provider)
    headers, body = fake.webhook_delivery(event_type, payment.provider_order_id)

    event = provider.verify_webhook(headers, body)

    assert (event.event_type, event.provider_order_id) == (event_type, payment.provider_order_id)


def test_a_webhook_with_a_bad_signature_is_rejected(fake, provider):
    payment = started(provider)
    headers, body = fake.webhook_delivery(
        "CHECKOUT.ORDER.APPROVED", payment.provider_order_id, valid_signature=False
    )

    assert provider.verify_webhook(headers, body) is None


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]"])
def test_a_webhook_that_is_not_a_json_object_is_rejected_without_asking_paypal(fake, provider, body):
    payment = started(provider)
    headers, _ = fake.webhook_delivery("CHECKOUT.ORDER.APPROVED", payment.provider_order_id)

    assert provider.verify_webhook(headers, body) is None
    assert not any(r.path == "/v1/notifications/verify-webhook-signature" for r in fake.requests_log)


@pytest.fixture
def webhook_inbox():
    """Our webhook endpoint's stand-in: a loopback server keeping each delivery."""
    deliveries = []

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self):
            deliveries.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/webhooks/paypal", deliveries
    server.shutdown()
    server.server_close()


def test_a_webhook_delivered_twice_verifies_both_times_for_the_same_order(fake, provider, webhook_inbox):
    url, deliveries = webhook_inbox
    payment = captured(fake, provider)

    statuses = fake.send_webhook(url, "PAYMENT.CAPTURE.COMPLETED", payment.provider_order_id, times=2)

    events = [provider.verify_webhook(headers, body) for headers, body in deliveries]
    assert statuses == [204, 204]
    assert [event.provider_order_id for event in events] == [payment.provider_order_id] * 2
    assert events[0].raw == events[1].raw
