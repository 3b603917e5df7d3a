"""A thin client for PayPal's REST API (Orders v2), on `requests`.

Every call has a timeout; a 401 fetches a fresh token and retries once, never more; failures
are exceptions. (We do not use `paypalrestsdk`: see "Money and payments" in ARCHITECTURE.md.)
"""

import time
import uuid
from decimal import Decimal
from urllib.parse import quote

import requests
from babel.numbers import get_currency_precision

from app.services.payments.base import ProviderError, ProviderTimeout

# PayPal takes these without decimals, though ISO 4217 gives HUF and TWD two.
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "HUF", "TWD"})

# The PAYPAL-* headers of a webhook delivery, by the field name the verify call wants.
WEBHOOK_HEADERS = {
    "auth_algo": "paypal-auth-algo",
    "cert_url": "paypal-cert-url",
    "transmission_id": "paypal-transmission-id",
    "transmission_sig": "paypal-transmission-sig",
    "transmission_time": "paypal-transmission-time",
}


def to_paypal_value(amount_minor: int, currency: str) -> str:
    """4950, "EUR" -> "49.50"; 500, "JPY" -> "500"; 4900, "HUF" -> "49" (4950 HUF: ValueError)."""
    major = Decimal(amount_minor).scaleb(-get_currency_precision(currency))
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else get_currency_precision(currency)
    if major != major.quantize(Decimal(1).scaleb(-places)):
        raise ValueError(f"PayPal takes {currency} with {places} decimals, not {major}")
    return f"{major:.{places}f}"


def from_paypal_value(value: str, currency: str) -> int:
    """"49.50", "EUR" -> 4950; "49", "HUF" -> 4900. A fraction of a minor unit: ValueError."""
    minor = Decimal(value).scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{value} {currency} is not a whole number of minor units")
    return int(minor)


class PayPalError(ProviderError):
    """PayPal answered with an HTTP error (or with something that is not JSON)."""

    def __init__(self, status_code: int, name: str = "", debug_id: str = "", details=None, message=""):
        self.status_code = status_code
        self.name = name
        self.debug_id = debug_id
        self.details: list[dict] = details or []
        super().__init__(f"PayPal answered {status_code} {name}: {message} (debug_id {debug_id or '-'})")

    @property
    def issues(self) -> list[str]:
        return [detail.get("issue", "") for detail in self.details]


class OrderAlreadyCaptured(PayPalError):
    """The order was captured before, perhaps by an attempt whose answer was lost: GET the order."""


class PayPalClient:
    def __init__(self, base_url, client_id, client_secret, timeout=(3.05, 15), session=None):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.session = session or requests.Session()
        self._token: str | None = None
        self._token_expires_at = 0.0

    def create_order(self, request_id: str, body: dict) -> dict:
        return self._call("POST", "/v2/checkout/orders", body, request_id)

    def get_order(self, order_id: str) -> dict:
        return self._call("GET", f"/v2/checkout/orders/{quote(order_id, safe='')}")

    def capture_order(self, order_id: str, request_id: str) -> dict:
        return self._call("POST", f"/v2/checkout/orders/{quote(order_id, safe='')}/capture", {}, request_id)

    def refund_capture(self, capture_id: str, request_id: str, amount_value: str, currency: str) -> dict:
        body = {"amount": {"value": amount_value, "currency_code": currency}}
        path = f"/v2/payments/captures/{quote(capture_id, safe='')}/refund"
        return self._call("POST", path, body, request_id)

    def verify_webhook_signature(self, headers, event_body_dict: dict, webhook_id: str) -> bool:
        """Ask PayPal whether a delivery is genuine. A delivery missing a PAYPAL-* header is not."""
        received = {name.lower(): value for name, value in headers.items()}
        if not all(header in received for header in WEBHOOK_HEADERS.values()):
            return False
        body = {field: received[header] for field, header in WEBHOOK_HEADERS.items()}
        body |= {"webhook_id": webhook_id, "webhook_event": event_body_dict}
        # Verifying changes nothing at PayPal, so a replay gains nothing: any fresh id will do.
        path = "/v1/notifications/verify-webhook-signature"
        answer = self._call("POST", path, body, f"lectern-verify-{uuid.uuid4()}")
        return answer.get("verification_status") == "SUCCESS"

    def _call(self, method: str, path: str, body: dict | None = None, request_id: str = "") -> dict:
        headers = {}
        if method == "POST":
            headers = {
                "PayPal-Request-Id": request_id,
                "Content-Type": "application/json",
                "Prefer": "return=representation",
            }
        response = self._send(method, path, body, headers)
        if response.status_code == 401:  # the token was revoked or expired early: one fresh try
            self._token = None
            response = self._send(method, path, body, headers)
        return _answer(response)

    def _send(self, method, path, body, headers) -> requests.Response:
        headers = {**headers, "Authorization": f"Bearer {self._access_token()}"}
        return self._http(method, path, json=body, headers=headers)

    def _access_token(self) -> str:
        if self._token is None or time.monotonic() >= self._token_expires_at:
            response = self._http(
                "POST", "/v1/oauth2/token", data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret), headers={"Accept": "application/json"},
            )
            answer = _answer(response)
            expires_in = answer.get("expires_in", 0)
            self._token = answer["access_token"]
            # Renew a minute early (a tenth of the lifetime for short-lived tokens).
            self._token_expires_at = time.monotonic() + expires_in - min(60, expires_in / 10)
        return self._token

    def _http(self, method, path, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise ProviderTimeout(f"PayPal {method} {path}: {exc}") from exc


def _answer(response: requests.Response) -> dict:
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        raise PayPalError(response.status_code, "INVALID_JSON", message=response.text[:200]) from None
    if response.status_code >= 400:
        details = answer.get("details") or []
        captured = any(detail.get("issue") == "ORDER_ALREADY_CAPTURED" for detail in details)
        error_class = OrderAlreadyCaptured if response.status_code == 422 and captured else PayPalError
        raise error_class(
            response.status_code,
            name=answer.get("name") or answer.get("error", ""),  # OAuth errors use `error`
            debug_id=answer.get("debug_id", ""),
            details=details,
            message=answer.get("message") or answer.get("error_description", ""),
        )
    return answer
