"""PayPal (wallet and card) through Orders v2: create an order, send the buyer to approve it,
capture it, refund the capture. Webhooks are only verified and named here; the checkout service
re-fetches the order before acting on one.

Amounts PayPal cannot take (4950 HUF: PayPal wants whole forints) raise ValueError in start().
"""

import json

from app.services.payments.base import (
    Capture,
    PaymentProvider,
    ProviderError,
    ProviderStatus,
    RefundResult,
    WebhookEvent,
)
from app.services.payments.paypal_client import (
    OrderAlreadyCaptured,
    PayPalClient,
    from_paypal_value,
    to_paypal_value,
)

ORDER_STATUSES = {
    "CREATED": "created",
    "SAVED": "created",
    "PAYER_ACTION_REQUIRED": "created",
    "APPROVED": "approved",
    "COMPLETED": "completed",
    "VOIDED": "voided",
}
# Other capture statuses (REFUNDED, PARTIALLY_REFUNDED …) pass through lower-cased: none is "completed".
CAPTURE_STATUSES = {"DECLINED": "declined", "FAILED": "declined"}
REFUND_STATUSES = {"COMPLETED": "completed", "PENDING": "pending"}
DESCRIPTION_MAX = 127  # PayPal's limit for a purchase unit's description


class PayPalProvider(PaymentProvider):
    name = "paypal"

    def __init__(self, client: PayPalClient, webhook_id: str):
        self.client = client
        self.webhook_id = webhook_id

    def start(self, payment, order, return_url, cancel_url):
        experience = {
            "brand_name": "Lectern",
            "landing_page": "GUEST_CHECKOUT" if payment.method == "card" else "LOGIN",
            "shipping_preference": "NO_SHIPPING",
            "user_action": "PAY_NOW",
            "return_url": return_url,
            "cancel_url": cancel_url,
        }
        source = {"experience_context": experience}
        if order.saves_payment_method:
            # Renewals are charged later without the buyer (PayPal's vault, merchant-initiated).
            source["attributes"] = {"vault": {
                "store_in_vault": "ON_SUCCESS", "usage_type": "MERCHANT", "customer_type": "CONSUMER",
            }}
        body = {"intent": "CAPTURE", "purchase_units": [_purchase_unit(payment, order)],
                "payment_source": {"paypal": source}}
        answer = self.client.create_order(f"lectern-payment-{payment.id}-create", body)
        payment.provider_order_id = answer["id"]
        for link in answer.get("links", []):
            if link.get("rel") in ("payer-action", "approve"):
                return link["href"]
        raise ProviderError(f"PayPal order {answer['id']} came without a link for the buyer")

    def charge_saved(self, payment, order, vault_id):
        body = {"intent": "CAPTURE", "purchase_units": [_purchase_unit(payment, order)],
                "payment_source": {"paypal": {"vault_id": vault_id}}}
        answer = self.client.create_order(f"lectern-payment-{payment.id}-create", body)
        payment.provider_order_id = answer["id"]
        capture = _capture_in(answer)
        if capture is None:
            raise ProviderError(f"PayPal order {answer['id']} for a saved payment method has no capture")
        return capture

    def capture(self, payment):
        """Raises PayPalError (issue ORDER_NOT_APPROVED) while the buyer has not approved."""
        try:
            answer = self.client.capture_order(
                payment.provider_order_id, f"lectern-payment-{payment.id}-capture"
            )
        except OrderAlreadyCaptured:
            answer = self.client.get_order(payment.provider_order_id)
        capture = _capture_in(answer)
        if capture is None:
            raise ProviderError(f"PayPal order {payment.provider_order_id} has no capture")
        return capture

    def fetch_status(self, payment):
        answer = self.client.get_order(payment.provider_order_id)
        return ProviderStatus(
            status=ORDER_STATUSES.get(answer.get("status"), "unknown"),
            capture=_capture_in(answer),
            raw=answer,
        )

    def refund(self, payment, amount_minor, refund_key):
        answer = self.client.refund_capture(
            payment.capture_id,
            f"lectern-refund-{refund_key}",
            to_paypal_value(amount_minor, payment.currency),
            payment.currency,
        )
        return RefundResult(
            status=REFUND_STATUSES.get(answer.get("status"), "failed"),
            refund_id=answer.get("id", ""),
            raw=answer,
        )

    def verify_webhook(self, headers, body_bytes: bytes) -> WebhookEvent | None:
        """None for a delivery that is not genuine. When PayPal cannot be asked, ProviderError
        propagates, so the endpoint answers with an error and PayPal delivers again later."""
        try:
            event = json.loads(body_bytes)
        except ValueError:
            return None
        if not isinstance(event, dict):
            return None
        if not self.client.verify_webhook_signature(headers, event, self.webhook_id):
            return None
        event_type = event.get("event_type", "")
        resource = event.get("resource") or {}
        order_id = None
        if event_type.startswith("CHECKOUT.ORDER."):
            order_id = resource.get("id")
        elif event_type.startswith("PAYMENT.CAPTURE."):
            order_id = resource.get("supplementary_data", {}).get("related_ids", {}).get("order_id")
        return WebhookEvent(event_type=event_type, provider_order_id=order_id, raw=event)


def _purchase_unit(payment, order):
    unit = {
        "reference_id": order.code,
        "invoice_id": f"{order.code}-{payment.id}",  # unique per attempt: PayPal may refuse repeats
        "custom_id": f"payment-{payment.id}",
        "amount": {
            "currency_code": payment.currency,
            "value": to_paypal_value(payment.amount_minor, payment.currency),
        },
    }
    if order.lines and order.lines[0].description:
        unit["description"] = order.lines[0].description[:DESCRIPTION_MAX]
    return unit


def _capture_in(order: dict) -> Capture | None:
    """The first capture of an order's first purchase unit, as PayPal states it."""
    unit = (order.get("purchase_units") or [{}])[0]
    captures = unit.get("payments", {}).get("captures") or []
    if not captures:
        return None
    capture = captures[0]
    status = capture.get("status", "")
    vault = order.get("payment_source", {}).get("paypal", {}).get("attributes", {}).get("vault", {})
    currency = capture["amount"]["currency_code"]
    return Capture(
        status=CAPTURE_STATUSES.get(status, status.lower()),
        capture_id=capture["id"],
        amount_minor=from_paypal_value(capture["amount"]["value"], currency),
        currency=currency,
        custom_id=capture.get("custom_id") or unit.get("custom_id", ""),
        raw=order,
        vault_id=vault.get("id", "") if vault.get("status") == "VAULTED" else "",
    )
