"""Who may enter a session's live room, and when. Every admission is recorded."""

from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Attendance, Registration
from app.models.base import utcnow
from app.services.accounts import normalize_email

# Why the gate says no (the view turns each into a translated page).
NOT_YET, CLOSED, CANCELED, NOT_PAID, NO_ROOM = "not_yet", "closed", "canceled", "not_paid", "no_room"
AWAITING_HOST_PAYMENT = "awaiting_payment"


def window(session, opens_minutes_before):
    return session.starts_at - timedelta(minutes=opens_minutes_before), session.ends_at


def timing_refusal(session, opens_minutes_before, now):
    """None while the room is open, else why not."""
    if session.state == "canceled":
        return CANCELED
    if session.state in ("draft", "awaiting_payment"):
        return AWAITING_HOST_PAYMENT
    opens, closes = window(session, opens_minutes_before)
    if now < opens:
        return NOT_YET
    if now >= closes or session.state == "ended":
        return CLOSED
    if not session.meeting_url:
        return NO_ROOM
    return None


def link_refusal(invitation):
    """A personal link into a paid session lets in only a paid (confirmed) registration."""
    session = invitation.session
    if session.is_paid:
        registration = invitation.registration
        if registration is None or registration.state != "confirmed":
            return NOT_PAID
    return None


def mark_opened(invitation, now=None):
    if invitation.opened_at is None:
        invitation.opened_at = now or utcnow()
        db.session.commit()


def admit(session, name, email, via, invitation=None, now=None):
    """Record that someone was let into the room."""
    now = now or utcnow()
    if invitation is not None and invitation.used_at is None:
        invitation.used_at = now
    db.session.add(Attendance(session_id=session.id, invitation_id=invitation.id if invitation else None,
                              name=name[:200], email=email, via=via, joined_at=now))
    db.session.commit()


def confirmed_registration(session, email):
    return db.session.query(Registration).filter_by(
        session_id=session.id, email=normalize_email(email), state="confirmed"
    ).one_or_none()


def set_room_password(session, password):
    """Set (or, with an empty password, clear) the room password; only its hash is kept."""
    session.room_password_hash = generate_password_hash(password) if password else None
    db.session.commit()


def password_matches(session, password):
    return bool(session.room_password_hash) and check_password_hash(session.room_password_hash, password)


def attendance_of(session):
    return db.session.query(Attendance).filter_by(session_id=session.id).order_by(Attendance.joined_at).all()
