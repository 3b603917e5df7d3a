"""Renewing subscriptions (`flask billing renew`, run daily or more often).

For each subscription whose period has ended: charge the PayPal account saved at purchase,
or email a bank-transfer invoice. A failed charge is retried on a schedule (RENEWAL_RETRY_DAYS)
with the subscription past due; after the last failure, or an invoice unpaid by its due day,
the subscription is canceled. Buyers are emailed before the renewal and after each failure.

Running twice is safe: each period's renewal is one order (unique billing key), a failed
attempt moves the next attempt days ahead, and a charge whose answer was lost is replayed
with the same PayPal-Request-Id, so PayPal returns the first result instead of charging again.
Running on several machines at once is safe too: a subscription is renewed under a claim
(services/claims.py) that the other machines skip, and notices are marked sent under row
locks that the other machines skip.
"""

import json
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Order, Payment, Subscription
from app.models.base import utcnow
from app.services import plan_pricing, subscription_mail
from app.services.checkout import new_payment, record_capture
from app.services.claims import claim
from app.services.locks import Busy, lock_row
from app.services.payments.base import ProviderError, ProviderTimeout
from app.services.subscriptions import new_subscription_order

LOST_ANSWER_RETRY = timedelta(hours=1)


@dataclass(frozen=True)
class RenewalPolicy:
    notice_days: int = 7
    retry_days: tuple = (1, 3, 7)
    invoice_due_days: int = 14

    @classmethod
    def from_config(cls, config):
        retry = tuple(int(d) for d in str(config["RENEWAL_RETRY_DAYS"]).split(",") if d.strip())
        return cls(config["RENEWAL_NOTICE_DAYS"], retry, config["INVOICE_DUE_DAYS"])


@dataclass
class RenewalRun:
    counts: dict = field(default_factory=lambda: dict.fromkeys(
        ("notified", "renewed", "failed", "invoiced", "canceled", "waiting"), 0))


def run(provider, policy, now=None):
    """Send notices and renew what is due. `provider` charges saved PayPal accounts."""
    now = now or utcnow()
    result = RenewalRun()
    result.counts["notified"] = _send_notices(policy, now)
    due = db.session.scalars(
        select(Subscription.id)
        .where(
            Subscription.state.in_(("active", "past_due")),
            Subscription.current_period_end <= now,
            or_(Subscription.next_attempt_at.is_(None), Subscription.next_attempt_at <= now),
        )
        .order_by(Subscription.id)
    ).all()
    for subscription_id in due:
        with claim("renewal", subscription_id) as mine:
            try:
                outcome = renew(subscription_id, provider, policy, now) if mine else "waiting"
            except Busy:
                outcome = "waiting"  # a person is changing it right now
        if outcome:
            result.counts[outcome] += 1
    return result


def _send_notices(policy, now):
    """Each notice is marked sent under the subscription's row lock: a row another run holds
    is skipped (that run sends its notice), and one it has marked no longer matches."""
    soon = now + timedelta(days=policy.notice_days)
    subscriptions = db.session.scalars(
        select(Subscription)
        .where(
            Subscription.state == "active",
            Subscription.auto_renew.is_(True),
            Subscription.current_period_end > now,
            Subscription.current_period_end <= soon,
            or_(
                Subscription.renewal_notice_for.is_(None),
                Subscription.renewal_notice_for != Subscription.current_period_end,
            ),
        )
        .with_for_update(skip_locked=True, of=Subscription)
    ).all()
    for subscription in subscriptions:
        subscription.renewal_notice_for = subscription.current_period_end
        subscription_mail.queue(subscription, "renewal_upcoming")
    db.session.commit()
    return len(subscriptions)


def _is_due(subscription, now):
    return (
        subscription.state in ("active", "past_due")
        and subscription.current_period_end <= now
        and (subscription.next_attempt_at is None or subscription.next_attempt_at <= now)
    )


def renew(subscription_id, provider, policy, now):
    """One subscription's renewal, under its row lock. Returns what happened, or None."""
    subscription = lock_row(Subscription, subscription_id)
    if not _is_due(subscription, now):
        db.session.rollback()
        return None
    if not subscription.auto_renew:
        _cancel(subscription, None, now)
        db.session.commit()
        return "canceled"
    order = _renewal_order(subscription, now)
    if order.state != "pending":  # paid, but PayPal's capture is under review: a person decides
        db.session.rollback()
        return "waiting"
    if subscription.payment_method == "paypal" and subscription.paypal_vault_id:
        return _charge(subscription, order, provider, policy, now)
    return _invoice(subscription, order, policy, now)


def _renewal_order(subscription, now):
    """This period's renewal order, made once: a repeated run finds it again."""
    key = f"subscription-{subscription.id}:renewal:{subscription.current_period_end.date().isoformat()}"
    order = db.session.scalars(select(Order).where(Order.billing_key == key)).first()
    if order is not None:
        return order
    licenses = subscription.licenses_at_renewal or subscription.licenses
    lines = [plan_pricing.Line("licenses", subscription.plan.name, licenses, subscription.license_price_minor)]
    lines += [plan_pricing.Line("add_on", item.add_on.name, 1, item.price_minor) for item in subscription.add_ons]
    order = new_subscription_order(subscription, subscription.buyer, _buyer_locale(subscription), lines, key, now,
                       expires_in=timedelta(days=366))
    db.session.flush()
    return order


def _buyer_locale(subscription):
    return subscription.buyer.locale or subscription.organization.locale


def _charge(subscription, order, provider, policy, now):
    if any(p.state == "approved" for p in order.payments):  # PayPal holds a capture pending
        return _wait(subscription.id, now)
    payment = next((p for p in order.payments if p.state == "created"), None)  # an answer was lost
    if payment is None:
        payment = new_payment(order, "paypal", "saved")
    db.session.commit()  # the payment's id is PayPal's idempotency key: it must exist first
    try:
        capture = provider.charge_saved(payment, order, subscription.paypal_vault_id)
    except ProviderTimeout:
        return _wait(subscription.id, now)  # replayed with the same key
    except ProviderError as error:
        if getattr(error, "status_code", 0) != 422:
            # Only a 422 (the saved method was declined or is no longer valid) is the buyer's
            # failure. PayPal's own trouble (5xx) or ours (401: wrong credentials) is not: the
            # outcome is unknown or nothing happened, so it is replayed later with the same key.
            db.session.rollback()
            return _wait(subscription.id, now)
        payment = lock_row(Payment, payment.id)
        payment.state = "failed"
        payment.events = (payment.events or "") + json.dumps({"error": str(error)}) + "\n"
        db.session.commit()
        return _failed(subscription.id, order, policy, now)
    db.session.commit()  # PayPal's order id, before anything else can fail
    state = record_capture(payment.id, capture, now)
    if state == "captured":
        # Captured, but for another amount (say): the order waits for a person's review.
        return "renewed" if db.session.get(Order, order.id).state == "paid" else "waiting"
    if state == "approved":  # PayPal holds the capture pending: ask again later
        return _wait(subscription.id, now)
    return _failed(subscription.id, order, policy, now)


def _wait(subscription_id, now):
    subscription = lock_row(Subscription, subscription_id)
    subscription.next_attempt_at = now + LOST_ANSWER_RETRY
    db.session.commit()
    return "waiting"


def _failed(subscription_id, order, policy, now):
    subscription = lock_row(Subscription, subscription_id)
    subscription.failed_attempts += 1
    if subscription.failed_attempts > len(policy.retry_days):
        _cancel(subscription, order, now)
        db.session.commit()
        return "canceled"
    subscription.state = "past_due"
    subscription.next_attempt_at = now + timedelta(days=policy.retry_days[subscription.failed_attempts - 1])
    subscription_mail.queue(subscription, "renewal_failed", order=order)
    db.session.commit()
    return "failed"


def _invoice(subscription, order, policy, now):
    # An invoice was sent before and its due day has passed unpaid. Its payment may already be
    # canceled: `payments reconcile` drops bank transfers whose order ran out (order.expires_at).
    invoiced = [p for p in order.payments if p.provider == "bank_transfer"]
    if invoiced:
        for payment in invoiced:
            if payment.state == "created":
                payment.state = "canceled"
        _cancel(subscription, order, now)
        db.session.commit()
        return "canceled"
    new_payment(order, "bank_transfer", "")
    subscription.state = "past_due"
    subscription.next_attempt_at = now + timedelta(days=policy.invoice_due_days)
    order.expires_at = subscription.next_attempt_at
    subscription_mail.queue(subscription, "invoice", order=order)
    db.session.commit()
    return "invoiced"


def _cancel(subscription, order, now):
    subscription.state = "canceled"
    subscription.canceled_at = now
    subscription.next_attempt_at = None
    if order is not None and order.state == "pending":
        order.state = "canceled"
    subscription_mail.queue(subscription, "canceled")


def renewal_paid(subscription, order, now):
    """The renewal's money is in (charged, or an invoice marked paid): the next period starts."""
    subscription.current_period_start = subscription.current_period_end
    subscription.current_period_end = plan_pricing.next_period_end(
        subscription.current_period_end, subscription.cycle,
        subscription.billing_anchor_day or subscription.current_period_end.day,
    )
    if subscription.licenses_at_renewal:
        subscription.licenses = subscription.licenses_at_renewal
        subscription.licenses_at_renewal = None
    subscription.state = "active"
    subscription.failed_attempts = 0
    subscription.next_attempt_at = None
    subscription_mail.queue(subscription, "renewed", order=order)
