"""The SMTP server is down for an hour: queued mail waits, backing off, and once the server is
back every message arrives exactly once (counted by Message-ID at a real SMTP server).

The hour is simulated by driving `deliver_due`'s clock forward a minute at a time; the outage
is a loopback port nobody listens on, where the fake SMTP server later starts. The outage
itself runs on both backends; two delivery workers at once only on PostgreSQL, whose
SKIP LOCKED is what keeps them apart (SQLite has no row locks: run one worker there).
"""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow
from app.services import checkout, mail, registrations
from tests import factories
from tests.fakes.smtp import FakeSmtpServer

SENDER = "Lectern <no-reply@lectern.localhost>"
OUTAGE = timedelta(hours=1)
ATTEMPTS_DURING_THE_HOUR = [0, 1, 3, 7, 15, 31]  # minutes after the first: 1, 2, 4, 8, 16 apart
FIRST_ATTEMPT_AFTER_THE_HOUR = timedelta(minutes=63)  # 31 + 32


@pytest.fixture
def smtp_not_started():
    """A fake SMTP server whose port nobody listens on until the test starts it."""
    return FakeSmtpServer()


def queue_confirmations(count):
    """Register `count` people for a free session: each confirmation is queued in the outbox."""
    session = factories.make_session(fee_minor=0, capacity=count)
    locales = ["en", "sv", "fr", "sl", "ro", "ru"]
    for n in range(count):
        order = registrations.register(
            session, f"Attendee {n}", f"attendee{n}@example.com", locales[n % len(locales)], 15
        )
        checkout.begin_payment(order, "", 0, provider=None, return_url="", cancel_url="",
                               bank_transfer_hold=timedelta(days=5))
    return outbox_rows()


def outbox_rows():
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def deliver(smtp, now):
    """One round of the delivery worker, giving up after as many attempts as configured."""
    transport = mail.SmtpTransport("127.0.0.1", smtp.port, timeout=5)
    return mail.deliver_due(transport, SENDER, current_app.config["MAIL_MAX_ATTEMPTS"], now=now)


def ride_out_the_outage(smtp, start):
    """A delivery worker running every minute through the hour: returns, per message, the
    minutes (from `start`) at which it was tried."""
    tried = {row.id: [] for row in outbox_rows()}
    for minute in range(int(OUTAGE.total_seconds() // 60) + 1):
        assert deliver(smtp, start + timedelta(minutes=minute)) == 0
        for row in outbox_rows():
            if row.attempts > len(tried[row.id]):
                tried[row.id].append(minute)
    return tried


def assert_each_arrived_once(smtp, rows):
    received = Counter(message["Message-ID"] for message in smtp.messages)
    assert received == Counter({mail.message_id(row): 1 for row in rows})
    assert sorted(message["To"] for message in smtp.messages) == sorted(row.recipient for row in rows)
    assert {row.state for row in outbox_rows()} == {"sent"}


def test_mail_queued_during_an_hour_long_outage_waits_then_arrives_exactly_once(app, smtp_not_started):
    rows = queue_confirmations(5)
    assert {row.template for row in rows} == {"registration_confirmed"}
    start = utcnow()

    tried = ride_out_the_outage(smtp_not_started, start)

    assert tried == {row.id: ATTEMPTS_DURING_THE_HOUR for row in rows}
    for row in outbox_rows():
        assert (row.state, row.attempts) == ("queued", len(ATTEMPTS_DURING_THE_HOUR))
        assert row.next_attempt_at == start + FIRST_ATTEMPT_AFTER_THE_HOUR
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
    assert smtp_not_started.messages == []

    with smtp_not_started as smtp:
        back = start + OUTAGE + timedelta(minutes=1)
        assert deliver(smtp, back) == 0  # still backing off: the next try is due at minute 63
        assert deliver(smtp, start + FIRST_ATTEMPT_AFTER_THE_HOUR) == len(rows)
        assert deliver(smtp, start + FIRST_ATTEMPT_AFTER_THE_HOUR + timedelta(hours=6)) == 0

        assert_each_arrived_once(smtp, rows)


def test_two_delivery_workers_after_the_outage_send_every_message_once(postgresql_app, smtp_not_started):
    rows = queue_confirmations(40)
    start = utcnow()
    ride_out_the_outage(smtp_not_started, start)
    due = start + FIRST_ATTEMPT_AFTER_THE_HOUR

    with smtp_not_started as smtp:
        sent_by_worker = run_workers_together(postgresql_app, 2, lambda: deliver(smtp, due))

        assert sum(sent_by_worker) == len(rows)
        assert all(sent > 0 for sent in sent_by_worker), f"the workers did not overlap: {sent_by_worker}"
        assert_each_arrived_once(smtp, rows)


def run_workers_together(app, count, work):
    """`count` delivery workers, each with its own database session, started at one moment."""
    barrier = threading.Barrier(count)
    sent = [0] * count

    def worker(n):
        with app.app_context():
            barrier.wait()
            try:
                sent[n] = work()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return sent
