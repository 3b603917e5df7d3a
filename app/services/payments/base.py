"""The interface every payment provider implements, and what its calls return.

Providers are plain classes: no Flask, no database writes. The checkout service decides what a
provider's answer means for our orders (see services/checkout.py), under row locks.
"""

from dataclasses import dataclass, field


class ProviderError(Exception):
    """The provider refused or failed; nothing can be assumed about money having moved."""


class ProviderTimeout(ProviderError):
    """No answer in time: the outcome is unknown, so `flask payments reconcile` asks again later."""


@dataclass(frozen=True)
class Capture:
    """What the provider says was captured. Amounts in minor units."""

    status: str  # "completed" | "pending" | "declined"
    capture_id: str
    amount_minor: int
    currency: str
    custom_id: str  # the id of our payment, as we sent it
    raw: dict = field(default_factory=dict, compare=False)
    vault_id: str = ""  # the buyer's payment method, saved for charging renewals


@dataclass(frozen=True)
class ProviderStatus:
    """The provider's view of one of our payments, for reconciliation."""

    status: str  # "created" | "approved" | "completed" | "voided" | "unknown"
    capture: Capture | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RefundResult:
    status: str  # "completed" | "pending" | "failed"
    refund_id: str
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class WebhookEvent:
    event_type: str  # e.g. "CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"
    provider_order_id: str | None  # the provider's order the event is about, when known
    raw: dict = field(default_factory=dict, compare=False)


class PaymentProvider:
    name = ""

    def start(self, payment, order, return_url, cancel_url):
        """Begin paying `payment` (amount and currency are on it). Returns the URL to send the
        buyer to, or None when nothing is to be done in the browser. May set
        payment.provider_order_id."""
        raise NotImplementedError

    def capture(self, payment):
        """Take the money of an approved payment. Returns a Capture; raises ProviderError."""
        raise NotImplementedError

    def fetch_status(self, payment):
        """Ask the provider where the payment stands. Returns a ProviderStatus."""
        raise NotImplementedError

    def charge_saved(self, payment, order, vault_id):
        """Take the money with a payment method saved earlier, the buyer not present.
        Returns a Capture; raises ProviderError (ProviderTimeout when the outcome is unknown)."""
        raise NotImplementedError

    def refund(self, payment, amount_minor, refund_key):
        """Give back `amount_minor` of a captured payment. `refund_key` makes retries safe."""
        raise NotImplementedError
