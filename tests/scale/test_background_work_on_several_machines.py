"""The background commands started on several machines at once (separate processes, one
PostgreSQL database): every email, charge, capture and set-up happens exactly once."""

import asyncio
import re
import subprocess
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutboxMessage, PartnerOrder, ProvisioningJob, Subscription
from app.models.base import utcnow
from app.services import checkout, commerce, partner_orders, registrations
from app.services.payments import provider_for_order
from tests import factories
from tests.fakes.smtp import FakeSmtpServer, RecordingHandler
from tests.plan_factories import make_plan
from tests.processes import FLASK, ROOT, flask_commands_at_once, portal_env
from tests.subscription_factories import make_subscription


@pytest.fixture
def env(shared_database_url, paypal, tmp_path):
    """Every machine's settings: the shared database and the operator's PayPal (the fake)."""
    return portal_env(DATABASE_URL=shared_database_url, PAYPAL_BASE_URL=paypal.base_url,
                      PAYPAL_CLIENT_ID=paypal.client_id, PAYPAL_CLIENT_SECRET=paypal.client_secret,
                      MAIL_FILE_DIR=tmp_path / "mail")


def on_two_machines(env, *command):
    return flask_commands_at_once([list(command)] * 2, env)


def reported(outputs, name):
    """The sum of `name: N` over the commands' outputs."""
    return sum(int(n) for output in outputs for n in re.findall(rf"{name}: (\d+)", output))


def mails_to(condition):
    """How many of the emails matching the condition each recipient got."""
    rows = db.session.execute(
        select(OutboxMessage.recipient, func.count()).where(condition).group_by(OutboxMessage.recipient)
    ).all()
    return dict(rows)


# Mail ------------------------------------------------------------------------------------------


class SlowSmtpHandler(RecordingHandler):
    """Takes 10 ms a message, so the workers' rounds surely overlap."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp():
    server = FakeSmtpServer()
    server.handler = server.controller.handler = SlowSmtpHandler()
    with server:
        yield server


def start_mail_workers(env, count):
    """`flask mail send --loop` checking every 0.1 s, on `count` machines; returns once each
    has checked the (empty) queue for the first time."""
    workers = [
        subprocess.Popen(FLASK + ["mail", "send", "--loop", "--interval", "0.1"], cwd=ROOT,
                         env=dict(env, PYTHONUNBUFFERED="1"), stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout.readline().startswith("sent 0 message(s)")
    return workers


def test_three_mail_workers_deliver_each_of_sixty_messages_exactly_once(shared_db, env, slow_smtp):
    env = dict(env, LECTERN_MAIL_TRANSPORT="smtp", LECTERN_MAIL_SERVER="127.0.0.1",
               LECTERN_MAIL_PORT=str(slow_smtp.port))
    workers = start_mail_workers(env, 3)
    try:
        db.session.add_all(
            OutboxMessage(recipient=f"r{n}@example.com", locale="en", template="test", subject=f"Message {n}",
                          body_text=f"Hello {n}", body_html=f"<p>Hello {n}</p>")
            for n in range(60)
        )
        db.session.commit()
        deadline = time.monotonic() + 30
        while len(slow_smtp.messages) < 60 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # several more rounds, in which a second sending would show
    finally:
        for worker in workers:
            worker.terminate()
    sent_per_worker = [sum(map(int, re.findall(r"sent (\d+) message", worker.communicate(timeout=10)[0])))
                       for worker in workers]

    subjects = sorted(str(message["Subject"]) for message in slow_smtp.messages)
    assert subjects == sorted(f"Message {n}" for n in range(60))
    assert sum(sent_per_worker) == 60
    assert sum(1 for sent in sent_per_worker if sent) >= 2, sent_per_worker  # they shared the queue
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert {(row.state, row.attempts) for row in rows} == {("sent", 1)}


# Renewals --------------------------------------------------------------------------------------


def test_billing_renew_on_two_machines_charges_and_mails_each_subscription_once(shared_db, env, paypal):
    now = utcnow()
    due = [make_subscription(paypal=paypal, period_start=now - timedelta(days=31), period_end=now - timedelta(hours=1))
           for _ in range(3)]
    soon = [make_subscription(period_start=now - timedelta(days=27), period_end=now + timedelta(days=3))
            for _ in range(10)]
    for _ in due:
        paypal.delay_next("/v2/checkout/orders", 0.5)  # a slow PayPal keeps both machines at work together
    periods = {s.id: s.current_period_end for s in due}

    outputs = on_two_machines(env, "billing", "renew")

    charges = [r for r in paypal.requests_log if r.method == "POST" and r.path == "/v2/checkout/orders"]
    assert len(charges) == 3
    assert reported(outputs, "renewed") == 3 and reported(outputs, "notified") == 10
    db.session.expire_all()
    for subscription in due:
        renewed = db.session.get(Subscription, subscription.id)
        assert (renewed.state, renewed.current_period_start) == ("active", periods[renewed.id])  # one period on
        assert [o.state for o in db.session.scalars(select(Order).where(Order.subscription_id == renewed.id))] == ["paid"]
    assert mails_to(OutboxMessage.subject == "Your plan has been renewed") == {s.buyer.email: 1 for s in due}
    assert mails_to(OutboxMessage.subject == "Your plan renews soon") == {s.buyer.email: 1 for s in soon}


# Payments --------------------------------------------------------------------------------------


def approved_at_paypal(paypal, count):
    """Orders whose buyers approved at PayPal and closed the browser: reconcile captures them."""
    host = factories.make_user(role="host")
    commerce.update_settings(host.organization, enabled=True, fee_based=True, paypal_enabled=True,
                             paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
                             paypal_client_secret=paypal.client_secret)
    session = factories.make_session(host=host, fee_minor=4900, currency="EUR", capacity=count)
    orders = []
    for n in range(count):
        order = registrations.register(session, f"Buyer {n}", f"buyer{n}@example.com", "en", 15)
        checkout.begin_payment(order, "paypal", order.total_minor, provider_for_order(order),
                               "http://localhost/return", "http://localhost/cancel", timedelta(days=5))
        paypal.approve(order.payments[-1].provider_order_id)
        orders.append(order)
    return orders


def test_payments_reconcile_on_two_machines_captures_and_confirms_each_payment_once(shared_db, env, paypal):
    orders = approved_at_paypal(paypal, 4)
    for _ in orders:
        paypal.delay_next("/capture", 0.3)

    outputs = on_two_machines(env, "payments", "reconcile")

    captures = [r for r in paypal.requests_log if r.method == "POST" and r.path.endswith("/capture")]
    assert len(captures) == 4
    assert reported(outputs, "captured") == 4
    db.session.expire_all()
    assert {db.session.get(Order, o.id).state for o in orders} == {"paid"}
    assert mails_to(OutboxMessage.template == "registration_confirmed") == {f"buyer{n}@example.com": 1 for n in range(4)}


# Provisioning ----------------------------------------------------------------------------------


def test_provisioning_run_on_two_machines_sets_up_each_site_once(shared_db, env):
    waiting = []
    for n in range(20):
        subscription = make_subscription(state="provisioning", site_subdomain=f"site-{n}")
        db.session.add(ProvisioningJob(subscription=subscription))
        waiting.append(subscription)
    db.session.commit()

    outputs = on_two_machines(env, "provisioning", "run")

    assert reported(outputs, "provisioned") == 20 and reported(outputs, "failed") == 0
    db.session.expire_all()
    jobs = db.session.scalars(select(ProvisioningJob)).all()
    assert {(job.state, job.attempts, job.steps_done) for job in jobs} == {("done", 1, "site_url\nactivate\n")}
    assert {db.session.get(Subscription, s.id).state for s in waiting} == {"active"}
    assert mails_to(OutboxMessage.subject == "Your site is ready") == {s.buyer.email: 1 for s in waiting}


# Partner orders --------------------------------------------------------------------------------


def place_partner_orders(partner, count, start):
    return [
        partner_orders.place_order(partner, partner_orders.OrderRequest(
            plan_code="business", cycle="annual", licenses=5, add_on_codes=(), customer_name=f"Customer {n}",
            requested_start_on=start, contact_email=f"contact{n}@customer.example"), today=start)
        for n in range(count)
    ]


def test_partners_dispatch_on_two_machines_sends_each_setup_link_and_alert_once(shared_db, env):
    make_plan("business")
    partner = factories.make_user(factories.make_organization(kind="partner"), role="admin")
    today = utcnow().date()
    starting = place_partner_orders(partner, 20, today)
    late = place_partner_orders(partner, 10, today - timedelta(days=2))
    for order in late:
        order.state = "setup_sent"
    db.session.commit()

    outputs = on_two_machines(env, "partners", "dispatch")

    assert reported(outputs, "setup links sent") == 20 and reported(outputs, "escalated") == 10
    db.session.expire_all()
    assert {db.session.get(PartnerOrder, o.id).state for o in starting} == {"setup_sent"}
    assert {db.session.get(PartnerOrder, o.id).escalated for o in late} == {True}
    setup_links = db.session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.subject.startswith("Set up")))
    assert sorted(setup_links) == sorted(o.contact_email for o in starting)
    alerts = db.session.scalars(select(OutboxMessage.subject).where(OutboxMessage.subject.endswith("not been set up")))
    assert sorted(alerts) == sorted(f"Partner order {o.code} has not been set up" for o in late)
