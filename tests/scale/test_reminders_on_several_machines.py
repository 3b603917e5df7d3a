"""`flask reminders send` started on three machines at once (separate processes, one PostgreSQL
database built by the migrations): each attendee gets the reminder exactly once."""

import re
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow
from app.models.lifecycle import ReminderDelivery
from tests import factories
from tests.commerce_factories import make_sale
from tests.processes import flask_commands_at_once, portal_env


def test_reminders_send_on_three_machines_queues_each_reminder_once(shared_db, shared_database_url, tmp_path):
    session = factories.make_session(starts_at=utcnow() + timedelta(minutes=40), capacity=100)
    for _ in range(30):
        make_sale(session)
    env = portal_env(DATABASE_URL=shared_database_url, MAIL_FILE_DIR=tmp_path / "mail")

    outputs = flask_commands_at_once([["reminders", "send"]] * 3, env)

    assert sum(int(n) for output in outputs for n in re.findall(r"reminders queued: (\d+)", output)) == 30
    db.session.expire_all()
    per_recipient = Counter(db.session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.template == "session_reminder")
    ))
    assert len(per_recipient) == 30 and set(per_recipient.values()) == {1}
    assert Counter(db.session.scalars(select(ReminderDelivery.hours_before))) == {1: 30}
