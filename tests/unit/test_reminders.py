"""Reminders before a session: due at each of the site's offsets, sent once, only to confirmed
registrations of sessions that take place, with a working personal link and the .ics."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select

from app.extensions import db
from app.models import Attendance, Invitation, OutboxMessage
from app.models.base import utcnow
from app.models.lifecycle import ReminderDelivery
from app.services import commerce, invitations, reminders
from app.services.mail import to_email
from tests import factories
from tests.commerce_factories import make_order, make_registration

START = datetime(2030, 1, 15, 8, 0, tzinfo=timezone.utc)  # 09:00 in Stockholm, a Tuesday
MEETING = "https://meet.example/room-7"
JOIN_LINK = re.compile(r"http://localhost/j/([A-Za-z0-9_-]+)")


def registered(session, state="confirmed", locale="en", **fields):
    order = make_order(session, state="paid" if state == "confirmed" else "refunded")
    return make_registration(order, state=state, locale=locale, **fields)


def site_hours(organization, text):
    settings = commerce.settings_for(organization)
    settings.reminder_hours = text
    db.session.add(settings)
    db.session.commit()


def deliveries():
    db.session.expire_all()
    return sorted((d.registration_id, d.hours_before) for d in db.session.scalars(select(ReminderDelivery)))


def reminder_mails(outbox):
    return [m for m in outbox() if m.template == "session_reminder"]


# Parsing the site's setting -------------------------------------------------------------------


@pytest.mark.parametrize("text,offsets", [
    ("24,1", (1, 24)), (" 1 , 24 ", (1, 24)), ("48;2 6", (2, 6, 48)), ("24,24,1", (1, 24)),
    ("0,-3,x,1.5,24", (24,)), ("99999", ()), ("", ()), (None, (1, 24)), ("٣", ()),
])
def test_the_sites_reminder_hours_are_read_as_distinct_positive_whole_hours(text, offsets):
    assert reminders.parse_reminder_hours(text) == offsets


@pytest.mark.parametrize("before_start,due", [
    (timedelta(hours=24, seconds=1), None),  # not yet
    (timedelta(hours=24), 24),  # exactly 24 hours before: due
    (timedelta(hours=2), 24),
    (timedelta(hours=1), 1),  # the nearest offset wins
    (timedelta(seconds=1), 1),
    (timedelta(0), None),  # started: no more reminders
    (-timedelta(minutes=5), None),
])
def test_the_nearest_offset_is_due_from_its_moment_until_the_start(before_start, due):
    assert reminders.due_offset((24, 1), START, START - before_start) == due


# Which reminders go out ------------------------------------------------------------------------


def test_each_offset_is_queued_once_however_often_the_job_runs(app, outbox):
    session = factories.make_session(starts_at=START, title="Excel")
    registration = registered(session)

    assert reminders.send_due(START - timedelta(hours=25)) == 0
    assert reminders.send_due(START - timedelta(hours=24)) == 1
    assert reminders.send_due(START - timedelta(hours=23)) == 0
    assert reminders.send_due(START - timedelta(hours=1)) == 1
    assert reminders.send_due(START - timedelta(minutes=30)) == 0
    assert reminders.send_due(START + timedelta(minutes=1)) == 0

    assert deliveries() == [(registration.id, 1), (registration.id, 24)]
    assert [m.subject for m in reminder_mails(outbox)] == ["Starts in 24 hours: Excel", "Starts in 1 hour: Excel"]
    assert {m.recipient for m in reminder_mails(outbox)} == {registration.email}


def test_a_registration_made_30_minutes_before_the_start_gets_one_reminder_not_a_pile(app, outbox):
    session = factories.make_session(starts_at=START, title="Excel")
    registration = registered(session, created_at=START - timedelta(minutes=30))

    assert reminders.send_due(START - timedelta(minutes=29)) == 1
    assert reminders.send_due(START - timedelta(minutes=10)) == 0

    assert deliveries() == [(registration.id, 1)]
    [mail] = reminder_mails(outbox)
    assert mail.subject == "Starts in 29 minutes: Excel"  # the time actually left


def test_a_job_that_was_down_sends_only_the_nearest_reminder_and_says_the_time_left(app, outbox):
    session = factories.make_session(starts_at=START, title="Excel")
    site_hours(session.organization, "48,24,1")
    registration = registered(session)

    assert reminders.send_due(START - timedelta(hours=20)) == 1

    assert deliveries() == [(registration.id, 24)]
    assert reminder_mails(outbox)[0].subject == "Starts in 20 hours: Excel"


def test_the_sites_own_offsets_are_used(app, outbox):
    ours = factories.make_session(starts_at=START)
    site_hours(ours.organization, "3")
    theirs = factories.make_session(starts_at=START)  # no settings row: the default 24,1
    silent = factories.make_session(starts_at=START)
    site_hours(silent.organization, "")  # reminders switched off
    mine, other, muted = registered(ours), registered(theirs), registered(silent)

    reminders.send_due(START - timedelta(hours=5))
    reminders.send_due(START - timedelta(hours=2, minutes=30))

    assert deliveries() == [(mine.id, 3), (other.id, 24)]
    assert muted.email not in {m.recipient for m in outbox()}


@pytest.mark.parametrize("registration_state", ["held", "canceled", "refunded", "expired"])
def test_no_reminder_for_a_registration_that_is_not_confirmed(app, outbox, registration_state):
    session = factories.make_session(starts_at=START)
    registered(session, state=registration_state)

    assert reminders.send_due(START - timedelta(hours=1)) == 0
    assert reminder_mails(outbox) == []


@pytest.mark.parametrize("session_state", ["canceled", "draft", "ended"])
def test_no_reminder_for_a_session_that_will_not_take_place(app, outbox, session_state):
    session = factories.make_session(starts_at=START, state=session_state)
    registered(session)

    assert reminders.send_due(START - timedelta(hours=1)) == 0
    assert reminder_mails(outbox) == []


def test_a_registration_canceled_after_its_first_reminder_gets_no_second(app, outbox):
    session = factories.make_session(starts_at=START)
    registration = registered(session)
    reminders.send_due(START - timedelta(hours=24))
    registration.state = "canceled"
    db.session.commit()

    assert reminders.send_due(START - timedelta(hours=1)) == 0
    assert len(reminder_mails(outbox)) == 1


def test_finding_due_reminders_takes_the_same_queries_for_many_registrations_as_for_few(app):
    def statements_for(count):
        session = factories.make_session(starts_at=START + timedelta(days=count))
        for _ in range(count):
            registered(session)
        now = session.starts_at - timedelta(hours=24)
        reminders.send_due(now)  # queue them all
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert reminders.send_due(now) == 0
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    assert statements_for(3) == statements_for(30)


def test_work_is_read_in_bounded_pages(app):
    session = factories.make_session(starts_at=START)
    for _ in range(7):
        registered(session)

    assert reminders.send_due(START - timedelta(hours=1), batch=3) == 7
    assert len(deliveries()) == 7


# The email ---------------------------------------------------------------------------------------


def test_the_reminder_carries_a_personal_link_that_opens_the_room_and_the_ics(app, client, outbox):
    session = factories.make_session(starts_at=utcnow() + timedelta(minutes=10), meeting_url=MEETING,
                                     access_mode="unique_link", title="Excel")
    registration = registered(session, name="Ada")

    assert reminders.send_due() == 1

    [mail] = reminder_mails(outbox)
    [token] = set(JOIN_LINK.findall(mail.body_text))
    assert f'href="http://localhost/j/{token}"' in mail.body_html
    [ics] = json.loads(mail.attachments)
    assert (ics["filename"], ics["content_type"]) == ("session.ics", "text/calendar")
    assert "BEGIN:VEVENT" in ics["content"] and "SUMMARY:Excel" in ics["content"]
    assert f"UID:registration-{registration.id}@localhost" in ics["content"]
    link = invitations.invitation_for_token(token)
    assert (link.registration_id, link.email, link.sent_at is not None) == (registration.id, registration.email, True)

    response = client.get(f"/j/{token}")

    assert response.status_code == 302 and response.headers["Location"] == MEETING
    [joined] = db.session.scalars(select(Attendance)).all()
    assert (joined.name, joined.via) == ("Ada", "personal_link")


def test_each_reminder_has_its_own_fresh_link(app, outbox):
    session = factories.make_session(starts_at=START)
    registered(session)

    reminders.send_due(START - timedelta(hours=24))
    reminders.send_due(START - timedelta(hours=1))

    tokens = [JOIN_LINK.search(m.body_text).group(1) for m in reminder_mails(outbox)]
    assert len(set(tokens)) == 2
    assert db.session.query(Invitation).filter(Invitation.registration_id.isnot(None)).count() == 2


def test_the_reminder_is_in_the_attendees_language_with_the_time_in_the_sessions_zone(app, outbox):
    session = factories.make_session(starts_at=START, timezone="Europe/Stockholm", title="Excel")
    registered(session, locale="sv")

    reminders.send_due(START - timedelta(hours=1))

    [mail] = reminder_mails(outbox)
    assert mail.locale == "sv"
    assert to_email(mail, "noreply@example.com")["Content-Language"] == "sv"
    assert "tisdag 15 januari 2030" in mail.body_text  # Babel's Swedish date
    assert "09:00:00 centraleuropeisk normaltid (Europe/Stockholm)" in mail.body_text
    assert "09:00:00 centraleuropeisk normaltid (Europe/Stockholm)" in mail.body_html
    assert '<html lang="sv">' in mail.body_html


def test_flask_reminders_send_queues_what_is_due(app):
    session = factories.make_session(starts_at=utcnow() + timedelta(minutes=30))
    registered(session)

    first = app.test_cli_runner().invoke(args=["reminders", "send"])
    second = app.test_cli_runner().invoke(args=["reminders", "send"])

    assert first.exit_code == 0 and "reminders queued: 1" in first.output
    assert "reminders queued: 0" in second.output
    assert db.session.query(OutboxMessage).filter_by(template="session_reminder").count() == 1


def test_the_unique_delivery_key_stops_a_second_copy_that_got_past_the_checks(app, outbox, monkeypatch):
    session = factories.make_session(starts_at=START)
    registration = registered(session)
    now = START - timedelta(hours=1)
    assert reminders.send_due(now) == 1
    monkeypatch.setattr(reminders, "_still_due", lambda *args: True)  # as if it raced the first

    assert reminders._send_one(registration.id, 1, now) == 0
    assert len(reminder_mails(outbox)) == 1
    assert db.session.query(Invitation).count() == 1  # the second link was rolled back too


def test_the_worker_round_queues_due_reminders(app):
    session = factories.make_session(starts_at=utcnow() + timedelta(minutes=30))
    registration = registered(session)

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert deliveries() == [(registration.id, 1)]
