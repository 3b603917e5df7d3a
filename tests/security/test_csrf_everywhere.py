"""Every state-changing route refuses a request without a valid CSRF token (400, nothing
written), even from the administrator who owns what it would change. The only exemption is the
PayPal webhook, which PayPal signs instead: an unsigned or forged delivery is refused too."""

import base64
import json

import pytest

from tests.security.portal import csrf_token_of
from tests.security.routes import MATRIX, UNSAFE_METHODS

CSRF_REFUSAL = "This form has expired. Please go back, reload the page and try again."
PROTECTED = [row for row in MATRIX if row.method in UNSAFE_METHODS and not row.endpoint.startswith("webhooks.")]
WEBHOOK = next(row for row in MATRIX if row.endpoint == "webhooks.paypal")
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"


def _refused_for_csrf(answer):
    return answer.status == 400 and CSRF_REFUSAL in answer.response.get_data(as_text=True)


@pytest.mark.parametrize("row", PROTECTED, ids=lambda row: row.id)
def test_a_post_without_a_csrf_token_is_refused_and_writes_nothing(portal, row):
    portal.make_pristine()

    answer = portal.send(row, row.owner, form={})

    assert _refused_for_csrf(answer)
    assert answer.changed == []


@pytest.mark.parametrize("row", PROTECTED, ids=lambda row: row.id)
def test_a_csrf_token_from_another_browser_is_refused_and_writes_nothing(portal, row):
    portal.make_pristine()
    someone_elses = csrf_token_of(portal.client(row.owner))

    answer = portal.send(row, row.owner, form={"csrf_token": someone_elses}, headers={"X-CSRFToken": someone_elses})

    assert _refused_for_csrf(answer)
    assert answer.changed == []


def _delivery(portal, signature=None):
    """A webhook approving the PayPal order of A's paid registration; without PayPal's
    signature headers when `signature` is None."""
    body = json.dumps({"id": "WH-TEST", "event_type": "CHECKOUT.ORDER.APPROVED",
                       "resource": {"id": portal.world.paid_order.payments[0].provider_order_id}}).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers |= {
            "PAYPAL-TRANSMISSION-ID": "3f1c4a52-8d2e-4a51-9d4f-000000000001",
            "PAYPAL-TRANSMISSION-TIME": "2026-11-22T08:00:00Z",
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{portal.paypal.base_url}/v1/notifications/certs/CERT-FAKE",
        }
    return headers, body


def _verifications(paypal):
    return sum(1 for logged in paypal.requests_log if logged.path == VERIFY_PATH)


def test_an_unsigned_webhook_is_refused_for_its_signature_not_csrf_and_writes_nothing(portal):
    portal.make_pristine()
    asked_before = _verifications(portal.paypal)
    headers, body = _delivery(portal)

    answer = portal.send(WEBHOOK, "anonymous", form=body, headers=headers)

    assert (answer.status, answer.changed) == (400, [])
    assert answer.response.get_data(as_text=True) == "invalid signature"
    assert _verifications(portal.paypal) == asked_before


def test_a_webhook_with_a_forged_signature_is_refused_by_paypal_and_writes_nothing(portal):
    portal.make_pristine()
    asked_before = _verifications(portal.paypal)
    headers, body = _delivery(portal, signature=base64.b64encode(b"forged").decode())

    answer = portal.send(WEBHOOK, "anonymous", form=body, headers=headers)

    assert (answer.status, answer.changed) == (400, [])
    assert answer.response.get_data(as_text=True) == "invalid signature"
    assert _verifications(portal.paypal) == asked_before + 1
