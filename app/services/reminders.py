"""Reminders before a session starts: by default 24 hours and 1 hour before (per site, in its
e-commerce settings), each with the attendee's personal link into the room and the .ics.

Which reminder is due: for each offset H of the site, the reminder is due from H hours before
the start until the start. A registration gets at most one reminder per run: the one of the
smallest offset that is due (the nearest). So a person who registers 30 minutes before the start,
or a job that was down for a day, sends one reminder, not a pile of stale ones; the larger
offsets whose time passed are simply never sent.

Sent once, even with the job on several machines at once: each reminder is one transaction that
claims the registration's row (SKIP LOCKED), inserts a ReminderDelivery (unique per registration
and offset) and queues the mail; a second machine skips the claimed row or, if it comes later,
finds the delivery and queues nothing.
"""

import math
import re
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_ngettext
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import CommerceSettings, Registration, TrainingSession
from app.models.base import utcnow
from app.models.lifecycle import ReminderDelivery
from app.services.calendar import session_ics
from app.services.claims import claim_row
from app.services.confirmations import session_time
from app.services.mail import queue_mail

DEFAULT_REMINDER_HOURS = "24,1"  # the model's default, for a site without a settings row
MAX_REMINDER_HOURS = 24 * 366  # an offset beyond a year is a typo, not a reminder
SESSION_STATES = ("scheduled", "live")  # a session that will still take place
BATCH = 200


def parse_reminder_hours(text):
    """'24, 1' -> (1, 24): the distinct whole positive hours, smallest first.

    Items may be separated by commas, semicolons or spaces; anything that is not a whole
    number of hours between 1 and a year is ignored. None means the default; an empty text
    means no reminders.
    """
    if text is None:
        text = DEFAULT_REMINDER_HOURS
    hours = set()
    for item in re.split(r"[\s,;]+", str(text)):
        if item.isascii() and item.isdigit() and 0 < int(item) <= MAX_REMINDER_HOURS:
            hours.add(int(item))
    return tuple(sorted(hours))


def due_offset(offsets, starts_at, now):
    """The nearest offset due at `now` (the smallest H with start − H hours <= now), or None
    when none is due yet or the session has started."""
    if now >= starts_at:
        return None
    for hours in sorted(offsets):
        if now >= starts_at - timedelta(hours=hours):
            return hours
    return None


def send_due(now=None, batch=BATCH):
    """Queue every reminder due at `now`; returns how many were queued.

    Candidates are read in pages of `batch` (a few queries per page, whatever the number of
    registrations), then each reminder is its own transaction.
    """
    now = now or utcnow()
    queued = 0
    while True:
        candidates = _candidates(now, batch)
        queued_now = sum(_send_one(registration_id, hours, now) for registration_id, hours in candidates)
        queued += queued_now
        # A page with nothing queued was all taken by another machine (or went stale): stop,
        # the next run picks up what is left.
        if len(candidates) < batch or not queued_now:
            return queued


def _offset_groups():
    """{offsets: [reminder_hours texts]} over the texts the sites use (and the default)."""
    texts = set(db.session.scalars(select(CommerceSettings.reminder_hours).distinct()))
    texts.add(DEFAULT_REMINDER_HOURS)
    groups = {}
    for text in texts:
        groups.setdefault(parse_reminder_hours(text), []).append(text)
    return groups


def _candidates(now, limit):
    """Up to `limit` (registration id, offset) pairs due at `now` and not yet delivered.

    One query per (offset set, offset): a registration's nearest due offset is H when its
    session starts between the next smaller offset and H hours from now.
    """
    site_hours = func.coalesce(CommerceSettings.reminder_hours, DEFAULT_REMINDER_HOURS)
    found = []
    for offsets, texts in _offset_groups().items():
        previous = 0
        for hours in offsets:
            if len(found) >= limit:
                return found
            delivered = exists().where(
                ReminderDelivery.registration_id == Registration.id,
                ReminderDelivery.hours_before == hours,
            )
            rows = db.session.execute(
                select(Registration.id)
                .join(TrainingSession, TrainingSession.id == Registration.session_id)
                .outerjoin(CommerceSettings,
                           CommerceSettings.organization_id == TrainingSession.organization_id)
                .where(
                    Registration.state == "confirmed",
                    TrainingSession.state.in_(SESSION_STATES),
                    and_(TrainingSession.starts_at > now + timedelta(hours=previous),
                         TrainingSession.starts_at <= now + timedelta(hours=hours)),
                    site_hours.in_(texts),
                    ~delivered,
                )
                .order_by(TrainingSession.starts_at, Registration.id)
                .limit(limit - len(found))
            ).scalars().all()
            found += [(registration_id, hours) for registration_id in rows]
            previous = hours
    return found


def _send_one(registration_id, hours, now):
    """Queue one reminder in its own transaction; 1 when queued, 0 when skipped."""
    try:
        registration = claim_row(Registration, registration_id)
        if registration is None or not _still_due(registration, hours, now):
            db.session.rollback()
            return 0
        db.session.add(ReminderDelivery(registration_id=registration.id, hours_before=hours, queued_at=now))
        db.session.flush()  # another machine's delivery of the same reminder: IntegrityError
        queue_reminder(registration, hours, now)
        db.session.commit()
        return 1
    except IntegrityError:
        db.session.rollback()
        return 0


def _still_due(registration, hours, now):
    session = registration.session
    db.session.refresh(session)  # canceled a moment ago by someone else?
    if registration.state != "confirmed" or session.state not in SESSION_STATES:
        return False
    if due_offset((hours,), session.starts_at, now) is None:
        return False
    return not db.session.scalar(
        select(exists().where(ReminderDelivery.registration_id == registration.id,
                              ReminderDelivery.hours_before == hours))
    )


def reminder_subject(session, hours, now):
    """'Starts in 24 hours: Excel' — the time actually left (a late run says less), in whole
    hours, or in minutes when less than 50 minutes are left."""
    left = session.starts_at - now
    if left < timedelta(minutes=50):
        minutes = max(1, math.ceil(left.total_seconds() / 60))
        return lazy_ngettext("Starts in %(num)d minute: %(title)s", "Starts in %(num)d minutes: %(title)s",
                             minutes, title=session.title)
    shown = max(1, min(hours, round(left.total_seconds() / 3600)))
    return lazy_ngettext("Starts in %(num)d hour: %(title)s", "Starts in %(num)d hours: %(title)s",
                         shown, title=session.title)


def queue_reminder(registration, hours, now):
    """The reminder email, in the attendee's language, with times in the session's zone (a
    registration has no zone of its own), a fresh personal link and the calendar file.

    The link's token exists only in this email; canceling the registration revokes it with the
    registration's other links.
    """
    from app.services.invitations import new_invitation
    from app.web import external_url

    session = registration.session
    session_url = external_url("scheduling.public_page", slug=session.slug)
    invitation, token = new_invitation(session, registration.name, registration.email, registration)
    invitation.sent_at = now
    ics = session_ics(
        session, registration.id, session_url, urlsplit(current_app.config["EXTERNAL_URL"]).hostname
    )
    return queue_mail(
        registration.email,
        registration.locale,
        "session_reminder",
        subject=reminder_subject(session, hours, now),
        attachments=[("session.ics", "text/calendar", ics)],
        registration=registration,
        session=session,
        when=session_time(session, registration.locale, registration.timezone),
        session_url=session_url,
        join_url=external_url("join.personal_link", token=token),
        join_opens_minutes=current_app.config["JOIN_OPENS_MINUTES_BEFORE"],
    )
