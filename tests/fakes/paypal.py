"""A fake PayPal (Orders v2 REST) on loopback: real HTTP for our client and a browser, plain
Python attributes and methods for tests to steer it.

Answers are shaped like PayPal's, trimmed to the fields Lectern reads. Differences on purpose:
orders keep the `payment_source` they were created with (so tests can read the return URLs),
and webhook signatures are an HMAC with the fake's secret instead of PayPal's RSA certificate.
`requests_log` holds every request as (method, path, headers) with lower-cased header names.
"""

import base64
import copy
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

import requests


class LoggedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]


class FakePayPal:
    def __init__(self, client_id="fake-client-id", client_secret="fake-secret", webhook_id="WH-FAKE",
                 token_seconds=32400):
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.token_seconds = token_seconds
        self.orders: dict[str, dict] = {}
        self.captures: dict[str, dict] = {}
        self.requests_log: list[LoggedRequest] = []
        self.capture_amount_override: dict | None = None  # e.g. {"currency_code": "EUR", "value": "1.00"}
        self.capture_status = "COMPLETED"  # or "PENDING", "DECLINED"
        self.vaults: set[str] = set()  # payment methods saved for merchant-initiated charges
        self.saved_charge_status = "COMPLETED"  # the capture status of charges to a saved method
        self._signing_key = secrets.token_bytes(32)
        self._tokens: dict[str, float] = {}  # access token -> when it expires (monotonic)
        self._replies: dict[tuple[str, str], tuple] = {}  # (path, PayPal-Request-Id) -> reply
        self._refunded: dict[str, Decimal] = {}
        self._failures: list[tuple[str, int, dict]] = []
        self._delays: list[tuple[str, float]] = []
        self._holds: list[tuple[str, Hold]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"

    def __enter__(self):
        # A short poll interval makes shutdown() quick.
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    # Test controls

    def approve(self, order_id):
        with self._lock:
            self._approve(order_id)

    def fail_next(self, path_fragment, status, body=None):
        """The next request whose path contains `path_fragment` gets this answer instead."""
        self._failures.append((path_fragment, status, body or {"name": "FAKE_FAILURE"}))

    def delay_next(self, path_fragment, seconds):
        """The next matching request waits first (then is handled as usual, like a slow PayPal)."""
        self._delays.append((path_fragment, seconds))

    def hold_next(self, path_fragment, handle_first=False) -> "Hold":
        """The next matching request waits inside the fake until `release()`: before PayPal acts
        on it, or with `handle_first` after PayPal acted but before it answers (so a test can
        kill the caller at either moment)."""
        hold = Hold(handle_first)
        self._holds.append((path_fragment, hold))
        return hold

    def webhook_delivery(self, event_type, order_id, valid_signature=True) -> tuple[dict, bytes]:
        """Headers and body of a webhook PayPal would send about the order."""
        with self._lock:
            order = self.orders[order_id]
            if event_type.startswith("CHECKOUT.ORDER."):
                resource_type, resource = "checkout-order", copy.deepcopy(order)
            else:
                captured = order["purchase_units"][0].get("payments", {}).get("captures", [])
                resource_type = "capture"
                resource = copy.deepcopy(captured[0]) if captured else {
                    "supplementary_data": {"related_ids": {"order_id": order_id}}
                }
        event = {
            "id": f"WH-{_new_id()}", "event_version": "1.0", "create_time": _now(),
            "resource_type": resource_type, "event_type": event_type, "resource": resource,
        }
        transmission_id, transmission_time = str(uuid.uuid4()), _now()
        signature = self._sign(transmission_id, transmission_time, self.webhook_id, event)
        if not valid_signature:
            signature = base64.b64encode(b"forged").decode()
        headers = {
            "Content-Type": "application/json",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": signature,
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": f"{self.base_url}/v1/notifications/certs/CERT-FAKE",
        }
        return headers, _canonical(event)

    def send_webhook(self, target_url, event_type, order_id, valid_signature=True, times=1) -> list[int]:
        """POST the same delivery `times` times to our endpoint; returns the status codes."""
        headers, body = self.webhook_delivery(event_type, order_id, valid_signature)
        return [requests.post(target_url, data=body, headers=headers, timeout=10).status_code
                for _ in range(times)]

    # HTTP

    def handle(self, method, target, headers, body):
        url = urlsplit(target)
        self.requests_log.append(LoggedRequest(method, url.path, headers))
        with self._lock:
            delay = _take(self._delays, url.path)
            failure = _take(self._failures, url.path)
            held = _take(self._holds, url.path)
        hold = held[1] if held else None
        if delay:
            time.sleep(delay[1])
        if hold and not hold.handle_first:
            hold.wait()
        if failure:
            return _json(failure[1], failure[2])
        reply = self._reply(method, url, headers, body)
        if hold:
            if hold.handle_first:
                hold.wait()
            hold.finished.set()
        return reply

    def _reply(self, method, url, headers, body):
        with self._lock:
            if method == "POST" and url.path == "/v1/oauth2/token":
                return self._issue_token(headers)
            if method == "GET" and url.path == "/checkoutnow":
                return self._checkout_page(parse_qs(url.query).get("token", [""])[0])
            if method == "POST" and url.path == "/checkoutnow/approve":
                return self._approve_in_browser(parse_qs(body.decode()).get("token", [""])[0])
            if not self._authorised(headers):
                return _error(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid token.")
            replay_key = (url.path, headers.get("paypal-request-id", ""))
            if method == "POST" and replay_key in self._replies:
                return self._replies[replay_key]
            reply = self._api(method, url.path.strip("/").split("/"), json.loads(body or b"{}"))
            if method == "POST" and replay_key[1] and reply[0] < 300:
                self._replies[replay_key] = reply
            return reply

    def _api(self, method, parts, data):
        match method, parts:
            case "POST", ["v2", "checkout", "orders"]:
                return self._create(data)
            case "GET", ["v2", "checkout", "orders", order_id] if order_id in self.orders:
                return _json(200, self.orders[order_id])
            case "POST", ["v2", "checkout", "orders", order_id, "capture"] if order_id in self.orders:
                return self._capture(self.orders[order_id])
            case "POST", ["v2", "payments", "captures", capture_id, "refund"] if capture_id in self.captures:
                return self._refund(capture_id, data)
            case "POST", ["v1", "notifications", "verify-webhook-signature"]:
                return self._verify(data)
        return _error(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")

    def _authorised(self, headers):
        token = headers.get("authorization", "").removeprefix("Bearer ")
        return self._tokens.get(token, 0) > time.monotonic()

    def _issue_token(self, headers):
        credentials = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if headers.get("authorization") != f"Basic {credentials}":
            answer = {"error": "invalid_client", "error_description": "Client Authentication failed"}
            return _json(401, answer)
        token = f"A21AA{secrets.token_urlsafe(24)}"
        self._tokens[token] = time.monotonic() + self.token_seconds
        return _json(200, {"access_token": token, "token_type": "Bearer", "app_id": "APP-FAKE",
                           "expires_in": self.token_seconds})

    def _create(self, data):
        if data.get("intent") != "CAPTURE" or not data.get("purchase_units"):
            return _error(400, "INVALID_REQUEST", "Request is not well-formed.")
        vault_id = data.get("payment_source", {}).get("paypal", {}).get("vault_id")
        if vault_id is not None:
            return self._charge_saved(vault_id, data)
        order_id = _new_id()
        self.orders[order_id] = {
            "id": order_id, "intent": "CAPTURE", "status": "PAYER_ACTION_REQUIRED", "create_time": _now(),
            "purchase_units": copy.deepcopy(data["purchase_units"]),
            "payment_source": copy.deepcopy(data.get("payment_source", {})),
            "links": [
                {"href": f"{self.base_url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"},
                {"href": f"{self.base_url}/checkoutnow?token={order_id}", "rel": "payer-action",
                 "method": "GET"},
            ],
        }
        return _json(200, self.orders[order_id])

    def _charge_saved(self, vault_id, data):
        """A merchant-initiated charge: no buyer approval, captured as the order is created."""
        if vault_id not in self.vaults:
            return _error(422, "UNPROCESSABLE_ENTITY", "The vault id is not valid.", "INVALID_VAULT_ID")
        order_id = _new_id()
        order = {
            "id": order_id, "intent": "CAPTURE", "status": "APPROVED", "create_time": _now(),
            "purchase_units": copy.deepcopy(data["purchase_units"]),
            "payment_source": {"paypal": {"attributes": {"vault": {"id": vault_id, "status": "VAULTED"}}}},
            "links": [{"href": f"{self.base_url}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"}],
        }
        self.orders[order_id] = order
        return self._capture(order, self.saved_charge_status)

    def _approve(self, order_id):
        order = self.orders[order_id]
        if order["status"] == "PAYER_ACTION_REQUIRED":
            order["status"] = "APPROVED"
            order["payer"] = {"payer_id": "FAKEPAYER"}
        return order

    def _capture(self, order, capture_status=None):
        if order["status"] == "COMPLETED":
            return _error(422, "UNPROCESSABLE_ENTITY", "Order already captured.", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            return _error(422, "UNPROCESSABLE_ENTITY", "Payer has not approved.", "ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        capture = {
            "id": _new_id(), "status": capture_status or self.capture_status,
            "amount": dict(self.capture_amount_override or unit["amount"]),
            "final_capture": True, "custom_id": unit.get("custom_id"), "invoice_id": unit.get("invoice_id"),
            "supplementary_data": {"related_ids": {"order_id": order["id"]}}, "create_time": _now(),
        }
        unit["payments"] = {"captures": [capture]}
        order["status"] = "COMPLETED"
        vault = order["payment_source"].get("paypal", {}).get("attributes", {}).get("vault", {})
        if vault.get("store_in_vault") == "ON_SUCCESS" and capture["status"] == "COMPLETED":
            vault_id = f"VAULT-{_new_id()}"
            self.vaults.add(vault_id)
            order["payment_source"]["paypal"]["attributes"]["vault"] = {
                "id": vault_id, "status": "VAULTED", "customer": {"id": f"CUST-{_new_id()}"},
            }
        self.captures[capture["id"]] = capture
        return _json(201, order)

    def _refund(self, capture_id, data):
        capture = self.captures[capture_id]
        captured = Decimal(capture["amount"]["value"])
        already = self._refunded.get(capture_id, Decimal(0))
        amount = data["amount"]
        if not 0 < Decimal(amount["value"]) <= captured - already:
            return _error(422, "UNPROCESSABLE_ENTITY", "More than remains.", "REFUND_AMOUNT_EXCEEDED")
        self._refunded[capture_id] = already + Decimal(amount["value"])
        capture["status"] = "REFUNDED" if self._refunded[capture_id] == captured else "PARTIALLY_REFUNDED"
        return _json(201, {"id": _new_id(), "status": "COMPLETED", "amount": amount, "create_time": _now()})

    def _verify(self, data):
        expected = self._sign(data.get("transmission_id", ""), data.get("transmission_time", ""),
                              data.get("webhook_id", ""), data.get("webhook_event", {}))
        genuine = hmac.compare_digest(data.get("transmission_sig", ""), expected)
        return _json(200, {"verification_status": "SUCCESS" if genuine else "FAILURE"})

    def _sign(self, transmission_id, transmission_time, webhook_id, event) -> str:
        message = b"|".join([transmission_id.encode(), transmission_time.encode(), webhook_id.encode(),
                             _canonical(event)])
        return base64.b64encode(hmac.new(self._signing_key, message, hashlib.sha256).digest()).decode()

    def _checkout_page(self, order_id):
        order = self.orders.get(order_id)
        if order is None:
            return 404, {"Content-Type": "text/plain"}, b"No such order"
        amount = order["purchase_units"][0]["amount"]
        cancel_url = _with_query(_experience(order).get("cancel_url", ""), token=order_id)
        page = f"""<!doctype html><html><head><title>Fake PayPal</title></head><body>
<h1>Pay {html.escape(amount["value"])} {html.escape(amount["currency_code"])} to Lectern</h1>
<form method="post" action="/checkoutnow/approve">
<input type="hidden" name="token" value="{html.escape(order_id)}"><button type="submit">Pay now</button>
</form>
<a href="{html.escape(cancel_url)}">Cancel</a></body></html>"""
        return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()

    def _approve_in_browser(self, order_id):
        if order_id not in self.orders:
            return 404, {"Content-Type": "text/plain"}, b"No such order"
        order = self._approve(order_id)
        return_url = _experience(order).get("return_url", "")
        return 303, {"Location": _with_query(return_url, token=order_id, PayerID="FAKEPAYER")}, b""


class Hold:
    """A request kept waiting inside the fake: `reached` is set once it waits, `finished` once
    PayPal has acted on it and is about to answer."""

    def __init__(self, handle_first):
        self.handle_first = handle_first
        self.reached = threading.Event()
        self.finished = threading.Event()
        self._released = threading.Event()

    def wait(self):
        self.reached.set()
        self._released.wait()

    def release(self):
        self._released.set()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer("GET")

    def do_POST(self):
        self._answer("POST")

    def _answer(self, method):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, reply_headers, reply = self.server.fake.handle(method, self.path, headers, body)
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        try:
            self.wfile.write(reply)
        except ConnectionError:  # the client gave up waiting (delay_next)
            pass

    def log_message(self, *args):
        pass  # keep test output quiet


def _take(pending, path):
    for entry in pending:
        if entry[0] in path:
            pending.remove(entry)
            return entry
    return None


def _json(status, payload):
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _error(status, name, message, issue=None):
    payload = {"name": name, "message": message, "debug_id": secrets.token_hex(6)}
    if issue:
        payload["details"] = [{"issue": issue, "description": message}]
    return _json(status, payload)


def _canonical(event) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def _experience(order):
    return order["payment_source"].get("paypal", {}).get("experience_context", {})


def _with_query(url, **params):
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"


def _new_id():
    return secrets.token_hex(9).upper()[:17]


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
