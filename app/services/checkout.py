"""Paying for an order: coupons, starting a payment, confirming it exactly once, refunds.

Every change here is one transaction. Row locks are taken in one order — training session,
coupon, payment — so two requests never wait on each other in a circle. Confirming a payment
locks the payment row and does nothing when it is already captured, so the return page, the
webhook and `flask payments reconcile` may all report the same capture: only the first acts.
"""

import json
from datetime import timedelta
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import Coupon, Order, Payment, Refund, TrainingSession
from app.models.base import utcnow
from app.services import confirmations, session_costs, subscriptions
from app.services.coupons import find_coupon
from app.services.invitations import revoke_for_registration
from app.services.locks import Busy, lock_row
from app.services.payments import provider_for_order
from app.services.payments.base import ProviderError, ProviderTimeout
from app.services.registrations import expire_stale_holds, live_seats_taken
from app.services.errors import ServiceError

# Shown for every coupon that cannot be used, so guessing learns nothing about which codes exist.
COUPON_REJECTED = _l("This coupon code cannot be used for this order.")


class CheckoutError(ServiceError):
    """A payment, coupon or refund cannot go ahead."""


def lock_order(order):
    """Lock the order's session row (the order's first lock), then reload the order."""
    if order.session_id is not None:
        lock_row(TrainingSession, order.session_id)
    db.session.refresh(order)
    return order


def is_payable(order, now):
    """Still waiting for money, and its seat still held."""
    return order.state == "pending" and (order.expires_at is None or order.expires_at > now)


# Coupons --------------------------------------------------------------------------------


def apply_coupon(order, code, coupons_active, now=None):
    """Put a coupon on a pending order, counting one use under a row lock."""
    now = now or utcnow()
    lock_order(order)
    coupon = find_coupon(order.organization_id, code)
    if not coupons_active or not is_payable(order, now) or not _coupon_fits(coupon, order, now):
        db.session.rollback()
        raise CheckoutError(COUPON_REJECTED, "code")
    if order.coupon_id == coupon.id:
        db.session.rollback()
        return order
    lock_row(Coupon, coupon.id)
    taken = db.session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            (Coupon.max_uses.is_(None)) | (Coupon.used_count < Coupon.max_uses),
        )
        .values(used_count=Coupon.used_count + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        db.session.rollback()
        raise CheckoutError(COUPON_REJECTED, "code")
    release_coupon(order)
    _set_totals(order, coupon)
    db.session.commit()
    return order


def remove_coupon(order, now=None):
    lock_order(order)
    if order.coupon_id is not None and is_payable(order, now or utcnow()):
        release_coupon(order)
        _set_totals(order, None)
    db.session.commit()
    return order


def release_coupon(order):
    """Give back the order's coupon use (inside the caller's transaction)."""
    if order.coupon_id is None:
        return
    db.session.execute(
        update(Coupon)
        .where(Coupon.id == order.coupon_id, Coupon.used_count > 0)
        .values(used_count=Coupon.used_count - 1)
        .execution_options(synchronize_session=False)
    )
    order.coupon_id = None


def _coupon_fits(coupon, order, now):
    if coupon is None or not coupon.active:
        return False
    if coupon.valid_from and now < coupon.valid_from:
        return False
    if coupon.valid_until and now > coupon.valid_until:
        return False
    if coupon.session_id is not None and coupon.session_id != order.session_id:
        return False
    if coupon.kind == "fixed" and coupon.currency != order.currency:
        return False
    return coupon.max_uses is None or coupon.used_count < coupon.max_uses


def _set_totals(order, coupon):
    """The coupon changed: discount, tax and total again (services/tax.py)."""
    from app.services import tax

    order.coupon_id = coupon.id if coupon else None
    tax.apply_to_order(order)


# Paying -----------------------------------------------------------------------------------


def begin_payment(order, method, shown_total_minor, provider, return_url, cancel_url,
                  bank_transfer_hold, now=None):
    """Start paying. Returns the URL to send the buyer to, or None to show the receipt page.

    `shown_total_minor` is the total the page showed: if the order changed since, nothing
    happens and the buyer sees the new total first. An earlier PayPal attempt the buyer may
    have paid is settled first, so paying again never charges twice.
    """
    now = now or utcnow()
    if _settle_earlier_attempts(order, provider, now):
        return None
    lock_order(order)
    if not is_payable(order, now):
        db.session.rollback()
        raise CheckoutError(_l("This order can no longer be paid. Please register again."))
    if shown_total_minor != order.total_minor:
        db.session.rollback()
        raise CheckoutError(_l("The total has changed. Please check it and confirm again."))
    _cancel_unfinished_payments(order)
    if order.total_minor == 0:
        payment = new_payment(order, "free", "")
        _mark_paid(order, payment, now)
        db.session.commit()
        return None
    if method == "bank_transfer":
        new_payment(order, "bank_transfer", "")
        order.expires_at = now + bank_transfer_hold
        if order.registration is not None:
            order.registration.hold_expires_at = order.expires_at
        confirmations.queue_bank_transfer_instructions(order)
        db.session.commit()
        return None
    payment = new_payment(order, "paypal", method)
    db.session.commit()  # the payment's id is PayPal's idempotency key: it must exist first
    try:
        approval_url = provider.start(payment, order, return_url, cancel_url)
    except ProviderError as error:
        payment.state = "failed"
        _log_event(payment, {"error": str(error)})
        db.session.commit()
        raise CheckoutError(
            _l("The payment service did not answer. Nothing was charged; please try again.")
        ) from error
    _log_event(payment, {"started": payment.provider_order_id})
    db.session.commit()
    return approval_url


def new_payment(order, provider, method):
    payment = Payment(
        order=order, provider=provider, method=method, amount_minor=order.total_minor,
        currency=order.currency, state="created",
    )
    db.session.add(payment)
    return payment


def _settle_earlier_attempts(order, provider, now):
    """Before a new attempt replaces them, ask PayPal about earlier attempts whose end we never
    heard (the worker died, or PayPal's answer was lost, during the capture): the buyer may
    have paid. True when no new attempt may start — the order is paid now, or PayPal could not
    say — and the receipt page shows the order as it stands."""
    unfinished = [p for p in order.payments
                  if p.provider == "paypal" and p.provider_order_id and p.state in ("created", "approved")]
    if not unfinished:
        return False
    provider = provider or provider_for_order(order)  # the buyer may have chosen a bank transfer now
    for payment in unfinished:
        try:
            status = provider.fetch_status(payment)
        except ProviderError:
            return True
        if status.status == "completed" and status.capture is not None:
            record_capture(payment.id, status.capture, now)
            return True
        if status.status == "approved":
            complete_provider_payment(payment, provider, now)
            return True
    return False


def _cancel_unfinished_payments(order):
    for payment in order.payments:
        if payment.state == "created":
            payment.state = "canceled"


def _log_event(payment, event):
    payment.events = (payment.events or "") + json.dumps(event, default=str) + "\n"


def complete_provider_payment(payment, provider, now=None):
    """Capture an approved payment and record it. Returns the payment's new state.

    When the provider fails or does not answer, the payment stays as it was: whether money
    moved is unknown, so reconcile asks the provider again later.
    """
    # A canceled attempt was replaced by a newer one: approving it late (in another tab) must
    # not take the money a second time. What PayPal did capture is still recorded by
    # record_capture, from the webhook or reconcile.
    if payment.state in ("captured", "canceled"):
        return payment.state
    try:
        capture = provider.capture(payment)
    except ProviderError as error:
        _log_event(payment, {"capture_error": str(error)})
        db.session.commit()
        return payment.state
    return record_capture(payment.id, capture, now)


def record_capture(payment_id, capture, now=None):
    """Record what the provider captured; confirm the order once. Idempotent."""
    now = now or utcnow()
    order_id = db.session.scalar(select(Payment.order_id).where(Payment.id == payment_id))
    order = db.session.get(Order, order_id)
    lock_order(order)
    payment = lock_row(Payment, payment_id)
    if payment.state == "captured":
        db.session.rollback()
        return payment.state
    _log_event(payment, capture.raw or {"capture": capture.capture_id})
    if capture.status == "pending":
        payment.state = "approved"
    elif capture.status != "completed":
        payment.state = "failed"
    else:
        payment.state = "captured"
        payment.capture_id = capture.capture_id
        payment.captured_at = now
        problem = _capture_problem(payment, order, capture)
        if problem:
            order.state = "review"
            order.review_reason = problem
        else:
            _mark_paid(order, payment, now, vault_id=capture.vault_id)
    db.session.commit()
    return payment.state


def _capture_problem(payment, order, capture):
    if capture.custom_id != f"payment-{payment.id}":
        return f"capture {capture.capture_id} names {capture.custom_id!r}, not payment {payment.id}"
    if capture.currency != order.currency or capture.amount_minor != order.total_minor:
        return (
            f"captured {capture.amount_minor} {capture.currency}, "
            f"order total is {order.total_minor} {order.currency}"
        )
    return None


def _mark_paid(order, payment, now, vault_id=""):
    """The money is in: confirm the order and its seat (inside the caller's transaction)."""
    payment.state = "captured"
    payment.captured_at = payment.captured_at or now
    if order.purpose == "subscription":
        problem = subscriptions.order_paid(order, now, vault_id)
        if problem:
            order.state = "review"
            order.review_reason = problem
            return
    registration = order.registration
    if registration is not None and registration.session.state == "canceled":
        order.state = "review"
        order.review_reason = "paid after the session was canceled: refund it"
        return
    if registration is not None and registration.state != "held":
        # The hold ran out and was released before the money arrived: take a seat again if
        # one is free (this registration is not among the seats counted).
        session = registration.session
        if live_seats_taken(session.id, now) >= session.capacity:
            order.state = "review"
            order.review_reason = "paid after the seat hold ran out, and the session is full"
            return
    order.state = "paid"
    order.paid_at = now
    from app.services import invoicing  # the invoice goes with the confirmation below

    invoicing.issue_invoice(order, now)
    if order.purpose == "pay_per_use":
        session_costs.mark_order_paid(order, now)
    if registration is not None:
        registration.state = "confirmed"
        registration.confirmed_at = now
        registration.hold_expires_at = None
        confirmations.queue_registration_confirmed(registration)


def mark_bank_transfer_paid(order, now=None):
    """An administrator saw the transfer arrive."""
    now = now or utcnow()
    lock_order(order)
    payment = next(
        (p for p in order.payments if p.provider == "bank_transfer" and p.state == "created"), None
    )
    if order.state not in ("pending", "expired") or payment is None:
        db.session.rollback()
        raise CheckoutError(_l("This order is not waiting for a bank transfer."))
    payment = lock_row(Payment, payment.id)
    db.session.refresh(order)
    if payment.state != "created" or order.state not in ("pending", "expired"):  # a second click won
        db.session.rollback()
        raise CheckoutError(_l("This order is not waiting for a bank transfer."))
    _mark_paid(order, payment, now)
    db.session.commit()


# Refunds ----------------------------------------------------------------------------------


def refund_order(order, amount_minor, provider, by_user=None, reason=""):
    """Give back part or all of a paid order through the provider that took the money.

    The refund is recorded (pending) before the provider is asked, and its id is the
    provider's idempotency key: if the provider does not answer, the refund stays pending,
    blocks further refunds of the order, and `reconcile` asks again with the same key, so
    the money goes back exactly once.
    """
    lock_order(order)
    if order.state not in ("paid", "partially_refunded"):
        db.session.rollback()
        raise CheckoutError(_l("Only paid orders can be refunded."))
    if any(r.state == "pending" for r in order.refunds):
        db.session.rollback()
        raise CheckoutError(_l("A refund of this order is still being confirmed. Please try again later."))
    if not 0 < amount_minor <= order.refundable_minor:
        db.session.rollback()
        raise CheckoutError(_l("Enter an amount between 0 and what is left to refund."), "amount")
    payment = next(p for p in order.payments if p.state == "captured")
    refund = Refund(
        order=order, payment=payment, amount_minor=amount_minor, state="pending",
        reason=reason[:300], created_by=by_user,
    )
    db.session.add(refund)
    db.session.commit()
    return carry_out_refund(refund, provider)


def record_owed_refund(order, amount_minor, reason, by_user=None):
    """Record a refund that a cancellation owes: pending, and retried until done (inside the
    caller's transaction, the cancellation's, so the two are never apart). Never more than
    what is left once refunds already on their way are counted; None when nothing is left."""
    if order.state not in ("paid", "partially_refunded"):
        return None
    payment = next((p for p in order.payments if p.state == "captured"), None)
    in_flight = sum(r.amount_minor for r in order.refunds if r.state == "pending")
    amount_minor = min(amount_minor, order.refundable_minor - in_flight)
    if payment is None or amount_minor <= 0:
        return None
    refund = Refund(
        order=order, payment=payment, amount_minor=amount_minor, state="pending",
        reason=reason[:300], retry_until_done=True, created_by=by_user,
    )
    db.session.add(refund)
    return refund


def _offer_freed_seat(session):
    """A refunded registration's seat goes to the waitlist at once (the order's locks, which
    begin with the session's, are held)."""
    from app.services import waitlist  # waitlist builds on registrations, which checkout imports

    waitlist.fill_free_seats(session, utcnow())


def carry_out_refund(refund, provider):
    payment, order = refund.payment, refund.order
    if payment.provider == "paypal":
        try:
            result = provider.refund(payment, refund.amount_minor, refund_key=refund.id)
            if result.status == "failed" and refund.retry_until_done:
                raise ProviderError(f"the provider answered {result.raw.get('status', 'failed')!r}")
        except ProviderTimeout as error:
            raise CheckoutError(_l(
                "The payment service did not answer. The refund is recorded and will be "
                "confirmed automatically; there is nothing more to do."
            )) from error
        except ProviderError as error:
            if refund.retry_until_done:  # owed by a cancellation: it stays pending, tried again later
                from app.services.mail import backoff

                lock_order(order)
                db.session.refresh(refund)
                if refund.state == "pending":
                    refund.attempts += 1
                    refund.last_error = f"{type(error).__name__}: {error}"[:2000]
                    refund.next_attempt_at = utcnow() + backoff(refund.attempts)
                db.session.commit()
                raise CheckoutError(_l(
                    "The payment service did not accept the refund yet. The refund is recorded "
                    "and will be retried automatically."
                )) from error
            refund.state = "failed"
            db.session.commit()
            raise CheckoutError(
                _l("The payment service refused the refund. Nothing was refunded.")
            ) from error
        refund_id, succeeded = result.refund_id, result.status in ("completed", "pending")
    else:  # bank transfers are paid back by hand; the record is what we keep
        refund_id, succeeded = None, True
    lock_order(order)
    db.session.refresh(refund)
    if refund.state != "pending":  # another run (a retry, reconcile) recorded it meanwhile
        db.session.rollback()
        return refund
    refund.provider_refund_id = refund_id or refund.provider_refund_id
    refund.state = "succeeded" if succeeded else "failed"
    if succeeded:
        order.refunded_minor += refund.amount_minor
        order.state = "refunded" if order.refundable_minor == 0 else "partially_refunded"
        if order.state == "refunded" and order.registration is not None:
            order.registration.state = "refunded"
            order.registration.canceled_at = utcnow()
            revoke_for_registration(order.registration)
            _offer_freed_seat(order.session)
        from app.services import invoicing

        credit_note = invoicing.issue_credit_note(refund, utcnow())
        confirmations.queue_refund_notice(order, refund.amount_minor, credit_note=credit_note)
    db.session.commit()
    if not succeeded:
        raise CheckoutError(_l("The payment service refused the refund. Nothing was refunded."))
    return refund


# Reconciliation ---------------------------------------------------------------------------


def reconcile(provider_for_order, now=None):
    """Settle payments nobody finished: ask the provider, capture what was approved,
    give up on what was abandoned, then let run-out holds go. Returns counts."""
    now = now or utcnow()
    counts = {"captured": 0, "abandoned": 0, "unknown": 0, "expired": 0, "refunds": 0}
    open_payments = db.session.scalars(
        select(Payment).where(Payment.state.in_(("created", "approved"))).order_by(Payment.id)
    ).all()
    for payment in open_payments:
        try:
            outcome = _reconcile_payment(payment, provider_for_order(payment.order), now)
        except Busy:  # a buyer's request holds the order right now: the next round settles it
            outcome = "unknown"
        counts[outcome] += 1
    counts["expired"] = expire_stale_holds(now)
    db.session.commit()
    counts["refunds"] = _retry_pending_refunds(provider_for_order, now)
    return counts


def _retry_pending_refunds(provider_for_order, now):
    """Ask again, with the same idempotency key, about refunds the provider did not answer, and
    try again those owed by cancellations that the provider refused, once their back-off is over.
    Refunds younger than a minute may still be in their own request: they are left alone."""
    from sqlalchemy import or_

    done = 0
    for refund in db.session.scalars(
        select(Refund).where(
            Refund.state == "pending", Refund.created_at <= now - timedelta(minutes=1),
            or_(Refund.next_attempt_at.is_(None), Refund.next_attempt_at <= now),
        ).order_by(Refund.id)
    ).all():
        try:
            carry_out_refund(refund, provider_for_order(refund.order))
            done += 1
        except (CheckoutError, Busy):
            continue
    return done


def _reconcile_payment(payment, provider, now):
    order = payment.order
    hold_over = order.expires_at is not None and order.expires_at <= now
    if payment.provider == "bank_transfer":
        if not hold_over:
            return "unknown"
        return _give_up(payment, "canceled")
    if payment.provider_order_id is None:
        if order.subscription_id is not None and ":renewal:" in (order.billing_key or ""):
            return "unknown"  # the renewal run replays this charge with the same key
        return _give_up(payment, "failed")
    try:
        status = provider.fetch_status(payment)
        if status.status == "completed" and status.capture is not None:
            record_capture(payment.id, status.capture, now)
            return "captured"
        if status.status == "approved":
            state = complete_provider_payment(payment, provider, now)
            return "captured" if state == "captured" else "unknown"
    except ProviderError:
        return "unknown"
    if status.status == "voided" or (status.status == "created" and hold_over):
        return _give_up(payment, "canceled")
    return "unknown"


def _give_up(payment, state):
    """Mark an unfinished payment canceled or failed, under the order's locks, unless it moved
    on meanwhile (the buyer's return page may have captured it since reconcile looked)."""
    lock_order(payment.order)
    payment = lock_row(Payment, payment.id)
    if payment.state not in ("created", "approved"):
        db.session.rollback()
        return "unknown"
    payment.state = state
    db.session.commit()
    return "abandoned"


def payment_for_provider_order(provider_order_id):
    return db.session.execute(
        select(Payment).where(Payment.provider_order_id == provider_order_id)
    ).scalar_one_or_none()
