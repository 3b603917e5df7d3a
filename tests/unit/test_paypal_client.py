"""The PayPal client against a fake PayPal over real HTTP: tokens, retries, timeouts, errors, money."""

import json
import socket
import time

import pytest

from app.services.payments.base import ProviderTimeout
from app.services.payments.paypal_client import (
    OrderAlreadyCaptured,
    PayPalClient,
    PayPalError,
    from_paypal_value,
    to_paypal_value,
)
from tests.fakes.paypal import FakePayPal

ORDER = {
    "intent": "CAPTURE",
    "purchase_units": [{"amount": {"currency_code": "EUR", "value": "49.00"}, "custom_id": "payment-1"}],
    "payment_source": {"paypal": {"experience_context": {"return_url": "http://lectern.test/return"}}},
}
AUTH_FAILURE = {"name": "AUTHENTICATION_FAILURE", "message": "Authentication failed."}


@pytest.fixture
def fake():
    with FakePayPal() as server:
        yield server


@pytest.fixture
def client(fake):
    return PayPalClient(fake.base_url, fake.client_id, fake.client_secret, timeout=(2, 5))


def requests_to(fake, path, method=None):
    return [r for r in fake.requests_log if r.path == path and method in (None, r.method)]


def captured_order(fake, client, request_id="capture-1"):
    order_id = client.create_order("create-1", ORDER)["id"]
    fake.approve(order_id)
    return client.capture_order(order_id, request_id)


def test_the_token_is_fetched_once_and_reused(fake, client):
    order_id = client.create_order("create-1", ORDER)["id"]
    client.get_order(order_id)
    client.get_order(order_id)

    assert len(requests_to(fake, "/v1/oauth2/token")) == 1
    api_calls = [r for r in fake.requests_log if r.path != "/v1/oauth2/token"]
    assert len({r.headers["authorization"] for r in api_calls}) == 1


def test_the_token_is_fetched_again_shortly_before_it_expires():
    with FakePayPal(token_seconds=1) as fake:
        client = PayPalClient(fake.base_url, fake.client_id, fake.client_secret)
        order_id = client.create_order("create-1", ORDER)["id"]
        client.get_order(order_id)
        time.sleep(1)
        assert client.get_order(order_id)["id"] == order_id

    assert len(requests_to(fake, "/v1/oauth2/token")) == 2
    assert len(requests_to(fake, f"/v2/checkout/orders/{order_id}")) == 2  # no call was refused


def test_wrong_credentials_raise_without_retrying(fake):
    client = PayPalClient(fake.base_url, fake.client_id, "not-the-secret")

    with pytest.raises(PayPalError) as refused:
        client.create_order("create-1", ORDER)

    assert (refused.value.status_code, refused.value.name) == (401, "invalid_client")
    assert len(requests_to(fake, "/v1/oauth2/token")) == 1
    assert fake.orders == {}


def test_a_401_fetches_a_new_token_and_retries_once(fake, client):
    order_id = client.create_order("create-1", ORDER)["id"]
    fake.fail_next(f"/v2/checkout/orders/{order_id}", 401, AUTH_FAILURE)

    assert client.get_order(order_id)["id"] == order_id
    assert len(requests_to(fake, "/v1/oauth2/token")) == 2
    assert len(requests_to(fake, f"/v2/checkout/orders/{order_id}")) == 2


def test_a_second_401_raises_instead_of_looping(fake, client):
    order_id = client.create_order("create-1", ORDER)["id"]
    fake.fail_next(f"/v2/checkout/orders/{order_id}", 401, AUTH_FAILURE)
    fake.fail_next(f"/v2/checkout/orders/{order_id}", 401, AUTH_FAILURE)

    with pytest.raises(PayPalError) as refused:
        client.get_order(order_id)

    assert (refused.value.status_code, refused.value.name) == (401, "AUTHENTICATION_FAILURE")
    assert len(requests_to(fake, "/v1/oauth2/token")) == 2
    assert len(requests_to(fake, f"/v2/checkout/orders/{order_id}")) == 2


def test_a_slow_answer_raises_provider_timeout(fake):
    client = PayPalClient(fake.base_url, fake.client_id, fake.client_secret, timeout=(2, 0.2))
    fake.delay_next("/v2/checkout/orders", 1)

    with pytest.raises(ProviderTimeout):
        client.create_order("create-1", ORDER)


def test_an_unreachable_paypal_raises_provider_timeout():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = PayPalClient(f"http://127.0.0.1:{closed_port}", "id", "secret", timeout=(0.5, 0.5))

    with pytest.raises(ProviderTimeout):
        client.get_order("ANY")


def test_every_post_carries_its_request_id_and_json_headers(fake, client):
    capture = captured_order(fake, client, request_id="capture-1")
    capture_id = capture["purchase_units"][0]["payments"]["captures"][0]["id"]
    client.refund_capture(capture_id, "refund-1", "10.00", "EUR")
    headers, body = fake.webhook_delivery("CHECKOUT.ORDER.APPROVED", capture["id"])
    client.verify_webhook_signature(headers, json.loads(body), fake.webhook_id)

    api_posts = [r for r in fake.requests_log if r.method == "POST" and r.path != "/v1/oauth2/token"]
    assert [r.headers.get("paypal-request-id", "")[:15] for r in api_posts] == [
        "create-1", "capture-1", "refund-1", "lectern-verify-",
    ]
    for posted in api_posts:
        assert posted.headers["content-type"] == "application/json"
        assert posted.headers["prefer"] == "return=representation"


def test_a_replayed_create_returns_the_same_order(fake, client):
    first = client.create_order("lectern-payment-1-create", ORDER)
    replay = client.create_order("lectern-payment-1-create", ORDER)
    other = client.create_order("lectern-payment-2-create", ORDER)

    assert replay["id"] == first["id"]
    assert other["id"] != first["id"]
    assert len(fake.orders) == 2


def test_capturing_again_under_a_new_request_id_raises_order_already_captured(fake, client):
    first = captured_order(fake, client, request_id="capture-1")

    with pytest.raises(OrderAlreadyCaptured) as refused:
        client.capture_order(first["id"], "capture-2")
    replay = client.capture_order(first["id"], "capture-1")

    assert refused.value.status_code == 422
    assert refused.value.issues == ["ORDER_ALREADY_CAPTURED"]
    assert replay == first


def test_errors_carry_paypals_name_debug_id_and_details(fake, client):
    order_id = client.create_order("create-1", ORDER)["id"]

    with pytest.raises(PayPalError) as not_approved:
        client.capture_order(order_id, "capture-1")
    with pytest.raises(PayPalError) as missing:
        client.get_order("NO-SUCH-ORDER")

    assert not isinstance(not_approved.value, OrderAlreadyCaptured)
    assert (not_approved.value.status_code, not_approved.value.name) == (422, "UNPROCESSABLE_ENTITY")
    assert not_approved.value.issues == ["ORDER_NOT_APPROVED"]
    assert not_approved.value.debug_id
    assert (missing.value.status_code, missing.value.name) == (404, "RESOURCE_NOT_FOUND")


def test_a_server_error_raises_paypal_error(fake, client):
    fake.fail_next("/v2/checkout/orders", 503, {"name": "SERVICE_UNAVAILABLE", "debug_id": "abc123"})

    with pytest.raises(PayPalError) as failed:
        client.create_order("create-1", ORDER)

    assert (failed.value.status_code, failed.value.debug_id) == (503, "abc123")


def test_webhook_signature_is_verified_by_paypal(fake, client):
    order_id = client.create_order("create-1", ORDER)["id"]
    headers, body = fake.webhook_delivery("CHECKOUT.ORDER.APPROVED", order_id)
    event = json.loads(body)
    forged, _ = fake.webhook_delivery("CHECKOUT.ORDER.APPROVED", order_id, valid_signature=False)
    unsigned = {name: value for name, value in headers.items() if name != "PAYPAL-TRANSMISSION-SIG"}

    assert client.verify_webhook_signature(headers, event, fake.webhook_id) is True
    assert client.verify_webhook_signature(forged, event, fake.webhook_id) is False
    assert client.verify_webhook_signature(headers, event, "WH-SOMEONE-ELSE") is False
    assert client.verify_webhook_signature(headers, {**event, "event_type": "X"}, fake.webhook_id) is False
    assert client.verify_webhook_signature(unsigned, event, fake.webhook_id) is False


@pytest.mark.parametrize(
    "minor, currency, value",
    [
        (4950, "EUR", "49.50"),
        (5, "EUR", "0.05"),
        (0, "USD", "0.00"),
        (500, "JPY", "500"),
        (4900, "HUF", "49"),  # ISO says 2 decimals, PayPal takes whole forints
        (123400, "TWD", "1234"),
    ],
)
def test_minor_units_convert_to_paypal_values_and_back(minor, currency, value):
    assert to_paypal_value(minor, currency) == value
    assert from_paypal_value(value, currency) == minor


def test_values_paypal_cannot_take_or_we_cannot_hold_are_refused():
    with pytest.raises(ValueError):
        to_paypal_value(4950, "HUF")
    with pytest.raises(ValueError):
        from_paypal_value("0.005", "EUR")
    with pytest.raises(ValueError):
        from_paypal_value("1.5", "JPY")
