"""Background work that another machine holds is skipped, not waited for, and the rest goes on;
work two machines reach at the same moment is done once. Another machine is another PostgreSQL
connection here (threads or a second connection in this process)."""

import time
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Coupon, Order, OutboxMessage, PartnerOrder, ProvisioningJob, Registration, Subscription, TrainingSession,
)
from app.models.base import utcnow
from app.services import partner_orders, provisioning, registrations, renewals
from app.services.claims import claim
from app.services.payments import operator_paypal
from tests import factories
from tests.commerce_factories import make_coupon, switch_on
from tests.concurrency.test_races import run_together
from tests.plan_factories import make_plan
from tests.subscription_factories import configure_paypal, make_subscription


def renew_now(app):
    return renewals.run(operator_paypal(app.config), renewals.RenewalPolicy.from_config(app.config)).counts


def due_subscription(paypal):
    now = utcnow()
    return make_subscription(paypal=paypal, period_start=now - timedelta(days=31), period_end=now - timedelta(hours=1))


def test_a_subscription_another_machine_is_renewing_is_left_to_it_and_the_others_are_renewed(postgresql_app, paypal):
    configure_paypal(postgresql_app, paypal)
    elsewhere, here = due_subscription(paypal), due_subscription(paypal)
    period_ends = {s.id: s.current_period_end for s in (elsewhere, here)}

    with claim("renewal", elsewhere.id):
        counts = renew_now(postgresql_app)

    assert (counts["renewed"], counts["waiting"]) == (1, 1)
    db.session.expire_all()
    assert db.session.get(Subscription, here.id).current_period_start == period_ends[here.id]
    untouched = db.session.get(Subscription, elsewhere.id)
    assert (untouched.current_period_end, untouched.next_attempt_at) == (period_ends[elsewhere.id], None)
    assert db.session.scalars(select(Order).where(Order.subscription_id == elsewhere.id)).all() == []


def test_two_renewal_runs_at_the_same_moment_send_each_renewal_notice_once(postgresql_app, paypal):
    configure_paypal(postgresql_app, paypal)
    now = utcnow()
    soon = [make_subscription(period_start=now - timedelta(days=27), period_end=now + timedelta(days=3))
            for _ in range(30)]

    first, second = run_together(postgresql_app, 2, lambda n: renew_now(postgresql_app))

    assert first["notified"] + second["notified"] == 30
    notices = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.subject == "Your plan renews soon"))
    assert sorted(notices) == sorted(s.buyer.email for s in soon)


def test_a_provisioning_job_another_machine_is_running_is_left_to_it(postgresql_app):
    jobs = []
    for n in range(2):
        subscription = make_subscription(state="provisioning", site_subdomain=f"held-{n}")
        jobs.append(ProvisioningJob(subscription=subscription))
    db.session.add_all(jobs)
    db.session.commit()
    elsewhere, here = jobs

    with claim("provisioning", elsewhere.id):
        assert provisioning.run_pending() == (1, 0)

    db.session.expire_all()
    assert (db.session.get(ProvisioningJob, here.id).state, db.session.get(ProvisioningJob, elsewhere.id).state,
            db.session.get(ProvisioningJob, elsewhere.id).attempts) == ("done", "pending", 0)


def test_a_partner_order_another_machine_has_locked_is_skipped_without_waiting(postgresql_app):
    make_plan("business")
    partner = factories.make_user(factories.make_organization(kind="partner"), role="admin")
    today = utcnow().date()
    elsewhere, here = [
        partner_orders.place_order(partner, partner_orders.OrderRequest(
            plan_code="business", cycle="annual", licenses=5, add_on_codes=(), customer_name=f"Customer {n}",
            requested_start_on=today, contact_email=f"contact{n}@customer.example"), today=today)
        for n in range(2)
    ]

    with db.engine.connect() as other_machine:
        other_machine.execute(select(PartnerOrder).where(PartnerOrder.id == elsewhere.id).with_for_update())
        started = time.monotonic()
        result = partner_orders.dispatch(lambda *link: "https://lectern.test/setup", "rep@lectern.test")
        waited = time.monotonic() - started

    assert result.sent == 1
    assert waited < 2  # waiting for the lock would have taken locks.LOCK_TIMEOUT, 5 s
    db.session.expire_all()
    assert (db.session.get(PartnerOrder, here.id).state, db.session.get(PartnerOrder, elsewhere.id).state) == (
        "setup_sent", "placed")


def test_a_reconciliation_started_while_another_machine_reconciles_skips_the_round(postgresql_app):
    with claim("payments-reconcile"):
        result = postgresql_app.test_cli_runner().invoke(args=["payments", "reconcile"])

    assert result.exit_code == 0
    assert result.output == "skipped: another machine is reconciling\n"


def test_a_registration_and_a_reconciliation_letting_holds_go_at_once_neither_fail_nor_give_a_use_back_twice(
        postgresql_app):
    session = factories.make_session(capacity=20, fee_minor=1000)
    switch_on(session.organization, fee_based=True, coupons=True)
    coupon = make_coupon(session.organization, code="TEAM", used_count=15)  # 5 paid orders use it too
    for n in range(10):
        order = registrations.register(session, f"Old{n}", f"old{n}@example.com", "en", 15)
        order.coupon_id = coupon.id
        order.expires_at = order.registration.hold_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    session_id = session.id

    def let_go(n):
        if n == 0:  # what `flask payments reconcile` does, without the session's lock
            registrations.expire_stale_holds(utcnow())
            db.session.commit()
        else:  # a registration, which lets the session's run-out holds go first
            registrations.register(db.session.get(TrainingSession, session_id), "New", "new@example.com", "en", 15)

    assert run_together(postgresql_app, 2, let_go) == [None, None]

    db.session.expire_all()
    assert db.session.get(Coupon, coupon.id).used_count == 5
    assert db.session.query(Registration).filter_by(state="expired").count() == 10
