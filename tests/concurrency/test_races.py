"""Races that only a real multi-writer database shows: run on PostgreSQL (skipped on SQLite,
which serialises writers). CI runs them, since .ci/run points TEST_DATABASE_URL at PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.extensions import db
from app.models import Coupon, Order, OutboxMessage, Payment, Registration, TrainingSession
from app.services import checkout, commerce, registrations
from app.services.locks import Busy
from app.services.payments.base import Capture
from tests import factories


def run_together(app, count, work):
    """Start `count` calls of work(n) at the same moment, each in its own app context and
    database session; returns their results (exceptions included)."""
    barrier = threading.Barrier(count)

    def one(n):
        with app.app_context():
            barrier.wait()
            try:
                return work(n)
            except Exception as error:  # the outcome under test, returned for counting
                db.session.rollback()
                return error
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_fifty_people_racing_for_ten_seats_get_exactly_ten(postgresql_app):
    session = factories.make_session(capacity=10, fee_minor=1000)
    session_id = session.id

    def attempt(n):
        return registrations.register(
            db.session.get(TrainingSession, session_id), f"P{n}", f"p{n}@example.com", "en", 15
        )

    results = run_together(postgresql_app, 50, attempt)

    assert sum(isinstance(r, Order) for r in results) == 10
    assert all(isinstance(r, (Order, registrations.RegistrationError, Busy)) for r in results)
    assert db.session.query(Registration).filter_by(session_id=session_id, state="held").count() == 10


def test_a_coupon_with_five_uses_is_redeemed_at_most_five_times_by_thirty_buyers(postgresql_app):
    session = factories.make_session(capacity=100, fee_minor=1000)
    commerce.update_settings(session.organization, enabled=True, fee_based=True, coupons=True)
    coupon = Coupon(organization_id=session.organization_id, code="FIVE", kind="percent", value=50,
                    max_uses=5)
    db.session.add(coupon)
    db.session.commit()
    order_ids = [
        registrations.register(session, f"P{n}", f"p{n}@example.com", "en", 15).id for n in range(30)
    ]

    def attempt(n):
        return checkout.apply_coupon(db.session.get(Order, order_ids[n]), "five", True)

    results = run_together(postgresql_app, 30, attempt)

    assert sum(isinstance(r, Order) for r in results) == 5
    db.session.expire_all()
    assert db.session.get(Coupon, coupon.id).used_count == 5
    assert db.session.query(Order).filter(Order.coupon_id == coupon.id).count() == 5


def test_the_same_capture_reported_five_times_at_once_confirms_once(postgresql_app):
    session = factories.make_session(capacity=5, fee_minor=4900, currency="EUR")
    order = registrations.register(session, "Ana", "ana@example.com", "en", 15)
    payment = Payment(order=order, provider="paypal", method="paypal", amount_minor=4900,
                      currency="EUR", state="approved", provider_order_id="PP-1")
    db.session.add(payment)
    db.session.commit()
    capture = Capture("completed", "CAP-1", 4900, "EUR", f"payment-{payment.id}")
    payment_id = payment.id

    results = run_together(postgresql_app, 5, lambda n: checkout.record_capture(payment_id, capture))

    assert results == ["captured"] * 5
    db.session.expire_all()
    assert db.session.get(Order, order.id).state == "paid"
    assert db.session.query(OutboxMessage).filter_by(template="registration_confirmed").count() == 1


def test_holds_expiring_while_people_register_never_oversell(postgresql_app):
    session = factories.make_session(capacity=3, fee_minor=1000)
    for n in range(3):
        registrations.register(session, f"Old{n}", f"old{n}@example.com", "en", 15)
    for registration in db.session.query(Registration):
        registration.hold_expires_at -= timedelta(minutes=30)
        registration.order.expires_at = registration.hold_expires_at
    db.session.commit()
    session_id = session.id

    def attempt(n):
        return registrations.register(
            db.session.get(TrainingSession, session_id), f"N{n}", f"n{n}@example.com", "en", 15
        )

    results = run_together(postgresql_app, 12, attempt)

    assert sum(isinstance(r, Order) for r in results) == 3
    live = db.session.query(Registration).filter_by(session_id=session_id, state="held").count()
    assert live == 3


def test_two_clicks_on_mark_as_paid_renew_a_subscription_once(postgresql_app):
    from app.models import Subscription
    from tests.plan_factories import make_invoice
    from tests.subscription_factories import make_subscription

    subscription = make_subscription(state="past_due", payment_method="bank_transfer", vault_id="")
    period_end = subscription.current_period_end
    order_id = make_invoice(subscription, billing=f"renewal:{period_end.date().isoformat()}").id

    results = run_together(
        postgresql_app, 2, lambda n: checkout.mark_bank_transfer_paid(db.session.get(Order, order_id))
    )

    assert sum(r is None for r in results) == 1
    assert all(r is None or isinstance(r, (checkout.CheckoutError, Busy)) for r in results)
    db.session.expire_all()
    renewed = db.session.get(Subscription, subscription.id)
    assert renewed.state == "active"
    assert renewed.current_period_start == period_end  # advanced one period, not two
    assert db.session.query(OutboxMessage).filter(OutboxMessage.subject.contains("renewed")).count() == 1
