"""The reminder job started on several machines at the same moment (PostgreSQL: SQLite
serialises writers): every registration gets each reminder exactly once."""

from collections import Counter
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.lifecycle import ReminderDelivery
from app.services import reminders
from tests import factories
from tests.commerce_factories import make_sale
from tests.concurrency.test_races import run_together

START = datetime(2030, 1, 15, 8, 0, tzinfo=timezone.utc)


def test_four_reminder_jobs_at_once_queue_one_message_per_registration_and_offset(postgresql_app):
    session = factories.make_session(starts_at=START, capacity=100)
    for _ in range(40):
        make_sale(session)

    for now in (START - timedelta(hours=24), START - timedelta(minutes=59)):
        results = run_together(postgresql_app, 4, lambda n, now=now: reminders.send_due(now, batch=7))
        assert all(isinstance(r, int) for r in results), results
        assert sum(results) == 40

    db.session.expire_all()
    per_recipient = Counter(db.session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.template == "session_reminder")
    ))
    assert len(per_recipient) == 40 and set(per_recipient.values()) == {2}
    offsets = Counter(db.session.scalars(select(ReminderDelivery.hours_before)))
    assert offsets == {24: 40, 1: 40}


def test_a_reminder_already_recorded_by_another_machine_is_not_queued_again(postgresql_app):
    """The machine that read its candidates before the other committed: once it holds the
    registration it finds the delivery recorded and queues nothing."""
    session = factories.make_session(starts_at=START)
    order = make_sale(session)
    registration_id = order.registration.id
    now = START - timedelta(hours=1)
    stale = reminders._candidates(now, 10)
    assert reminders.send_due(now) == 1

    assert [reminders._send_one(rid, hours, now) for rid, hours in stale] == [0]
    assert db.session.query(OutboxMessage).filter_by(template="session_reminder").count() == 1
    assert db.session.query(ReminderDelivery).filter_by(registration_id=registration_id).count() == 1
