"""The waitlist of a full session: a freed seat is offered, for a limited time, to the next in line.

  waiting -> offered -> accepted | lapsed ; offered -> waiting ; waiting | offered -> removed

An open offer (offered, not yet expired) keeps its seat: `registrations` counts it as taken
for everyone else, so nobody can register past the queue while it is open. The offer's link
carries a random token; only its SHA-256 is stored. Accepting it holds the seat exactly like a
registration does and leads to the payment page.

Offers are made under the training session's row lock, in the caller's transaction, so two
machines never offer the same seat twice. `run_due` (the worker, `flask waitlist run`) lets
offers that ran out lapse and offers their seats again.
"""

import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import TrainingSession
from app.models.base import utcnow
from app.models.lifecycle import OPEN_WAITLIST_STATES, WaitlistEntry
from app.services import registrations
from app.services.accounts import normalize_email
from app.services.claims import claim_row
from app.services.confirmations import local_time, session_time
from app.services.errors import ServiceError
from app.services.invitations import hash_token
from app.services.locks import lock_row
from app.services.mail import queue_mail


class WaitlistError(ServiceError):
    """Joining, accepting or managing the waitlist cannot go ahead."""


class OfferGone(WaitlistError):
    """The offer link is unknown, was used, or ran out."""

    def __init__(self, message, status, used=False):
        super().__init__(message)
        self.status = status  # 404 unknown, 410 expired or used
        self.used = used  # accepted: the person has a seat (or had, and let it go)


class SeatTaken(WaitlistError):
    """The seat was gone when the offer was accepted: the person is back in the queue."""


# Reading the queue -------------------------------------------------------------------------


def _queue_order():
    return (WaitlistEntry.joined_at, WaitlistEntry.id)


def queue(session_id):
    """Everyone still in the queue (waiting or offered), first in line first."""
    return db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.session_id == session_id, WaitlistEntry.state.in_(OPEN_WAITLIST_STATES))
        .order_by(*_queue_order())
    ).all()


def entries_for_host(session_id):
    """The whole list for the host: the open queue first, in order, then past entries."""
    entries = db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.session_id == session_id).order_by(*_queue_order())
    ).all()
    open_ = [e for e in entries if e.state in OPEN_WAITLIST_STATES]
    return open_, [e for e in entries if e.state not in OPEN_WAITLIST_STATES]


def position(entry):
    """1 for the first in line."""
    return db.session.scalar(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.session_id == entry.session_id,
            WaitlistEntry.state.in_(OPEN_WAITLIST_STATES),
            or_(
                WaitlistEntry.joined_at < entry.joined_at,
                and_(WaitlistEntry.joined_at == entry.joined_at, WaitlistEntry.id <= entry.id),
            ),
        )
    )


def is_open_offer(entry, now):
    return entry.state == "offered" and entry.offer_expires_at is not None and entry.offer_expires_at > now


def free_seats(session, now):
    """Seats nobody has or is being offered: capacity − (confirmed + live holds) − open offers."""
    return session.capacity - registrations.public_seats_taken(session.id, now)


def takes_registrations(session, now):
    """Open for registration, and (for a paid session) fee-based training switched on."""
    from app.services.commerce import settings_for

    if not registrations.is_open_for_registration(session, now):
        return False
    return not session.is_paid or settings_for(session.organization).fee_based_active


# Offering seats ------------------------------------------------------------------------------


def fill_free_seats(session, now):
    """Offer every free seat to the next waiting people, in queue order; returns the entries
    offered. Runs in the caller's transaction, which holds the session's row lock
    (`lock_row(TrainingSession, id)`). Offers that ran out are let go first."""
    lapse_expired_offers(session, now)
    # Nobody waiting (the usual case, and every registration comes through here): the seats
    # need no counting.
    waiting = db.session.scalars(
        select(WaitlistEntry)
        .where(WaitlistEntry.session_id == session.id, WaitlistEntry.state == "waiting")
        .order_by(*_queue_order())
        .limit(session.capacity)
    ).all()
    if not waiting or not takes_registrations(session, now):
        return []
    offered = waiting[:max(0, free_seats(session, now))]
    for entry in offered:
        make_offer(entry, now)
    return offered


def make_offer(entry, now):
    """Offer the seat to this person (in the caller's transaction, under the session's lock)
    and email them their personal link."""
    from app.services.commerce import settings_for
    from app.web import external_url

    session = entry.session
    token = secrets.token_urlsafe(32)
    hours = settings_for(session.organization).waitlist_offer_hours
    entry.state = "offered"
    entry.offer_token_hash = hash_token(token)
    entry.offered_at = now
    entry.offer_expires_at = now + timedelta(hours=hours)
    entry.offers_made += 1
    queue_mail(
        entry.email,
        entry.locale,
        "waitlist_offer",
        subject=_l("A seat is free for you: %(title)s", title=session.title),
        entry=entry,
        session=session,
        when=session_time(session, entry.locale, entry.timezone),
        expires=local_time(entry.offer_expires_at, entry.locale, entry.timezone or session.timezone),
        hours=hours,
        offer_url=external_url("waitlist.offer", token=token),
    )
    return token


def lapse_expired_offers(session, now):
    """Offers that ran out untaken lapse (the person is told); under the session's lock."""
    lapsed = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.session_id == session.id,
            WaitlistEntry.state == "offered",
            WaitlistEntry.offer_expires_at <= now,
        )
    ).all()
    for entry in lapsed:
        entry.state = "lapsed"
        queue_mail(
            entry.email,
            entry.locale,
            "waitlist_lapsed",
            subject=_l("Your offer has expired: %(title)s", title=session.title),
            entry=entry,
            session=session,
            when=session_time(session, entry.locale, entry.timezone),
        )
    return lapsed


def close_for_canceled_session(session, now):
    """The host canceled the session: everyone still waiting (or holding an offer) is taken
    off the queue and told. In the caller's transaction, under the session's lock."""
    entries = db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.session_id == session.id, WaitlistEntry.state.in_(OPEN_WAITLIST_STATES)
        )
    ).all()
    for entry in entries:
        entry.state = "removed"
        entry.removed_at = now
        queue_mail(
            entry.email,
            entry.locale,
            "waitlist_session_canceled",
            subject=_l("Canceled: %(title)s", title=session.title),
            entry=entry,
            session=session,
            when=session_time(session, entry.locale, entry.timezone),
        )
    return entries


# Joining -------------------------------------------------------------------------------------


def join(session, name, email, locale, timezone=None, now=None):
    """Put someone in the queue of a full session; emails them their place. One transaction."""
    now = now or utcnow()
    email = normalize_email(email)
    session = lock_row(TrainingSession, session.id)
    if not takes_registrations(session, now):
        db.session.rollback()
        raise WaitlistError(_l("Registration for this session is closed."))
    registrations.expire_stale_holds(now, session_id=session.id)
    fill_free_seats(session, now)
    if registrations.has_live_registration(session.id, email):
        db.session.rollback()
        raise WaitlistError(_l("This email address is already registered for this session."), "email")
    if _open_entry(session.id, email) is not None:
        db.session.rollback()
        raise WaitlistError(_l("This email address is already on the waitlist for this session."), "email")
    if free_seats(session, now) > 0:
        db.session.commit()  # holds let go and offers made are kept
        raise WaitlistError(_l("A seat is free: you can register now."))
    entry = WaitlistEntry(
        session=session, name=name.strip(), email=email, locale=locale,
        timezone=timezone or None, state="waiting", joined_at=now,
    )
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:  # the same person, joining in another tab at this very moment
        db.session.rollback()
        raise WaitlistError(
            _l("This email address is already on the waitlist for this session."), "email"
        ) from None
    queue_mail(
        entry.email,
        entry.locale,
        "waitlist_joined",
        subject=_l("You are on the waitlist: %(title)s", title=session.title),
        entry=entry,
        session=session,
        when=session_time(session, entry.locale, entry.timezone),
        position=position(entry),
    )
    db.session.commit()
    return entry


def leave_on_registering(session, email, now):
    """Someone in the queue got a seat by registering: they leave the queue (in the caller's
    transaction, under the session's lock); a seat offered to them goes to the next."""
    entry = _open_entry(session.id, email)
    if entry is None:
        return
    was_offered = entry.state == "offered"
    _close(entry, "removed", now)
    if was_offered:
        fill_free_seats(session, now)


def _open_entry(session_id, email):
    return db.session.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.session_id == session_id,
            WaitlistEntry.email == email,
            WaitlistEntry.state.in_(OPEN_WAITLIST_STATES),
        )
    ).first()


# The offer link ------------------------------------------------------------------------------


def entry_for_token(token):
    """The entry an offer link names, whatever its state; None when no entry has that token."""
    if not token or len(token) > 200:
        return None
    return db.session.scalars(
        select(WaitlistEntry).where(WaitlistEntry.offer_token_hash == hash_token(token))
    ).first()


def _gone(entry, now):
    """Why an offer link can no longer be used, or None while it can. A used or past link keeps
    its hash on the entry (until a new offer replaces it), so it can say what became of it."""
    if entry is None:
        return OfferGone(_l("This offer link is not valid. Check that you copied the whole link."), 404)
    if entry.state == "accepted":
        return OfferGone(_l("This offer was already used. Your order is in the email we sent you."), 410,
                         used=True)
    if entry.state == "waiting":
        return OfferGone(_l("This offer is no longer open: the seat was taken. You are still on "
                            "the waitlist at your place, and we will email you a new offer."), 410)
    if entry.state == "removed":
        return OfferGone(_l("This offer is no longer valid: you are not on the waitlist any more."), 410)
    if not is_open_offer(entry, now):
        return OfferGone(_l("This offer has expired, and the seat has gone to the next person "
                            "on the waitlist."), 410)
    return None


def offer_for_token(token, now=None):
    """The open offer behind a link; raises OfferGone for an unknown, used or expired link."""
    entry = entry_for_token(token)
    problem = _gone(entry, now or utcnow())
    if problem:
        raise problem
    return entry


def accept(token, hold_minutes, now=None):
    """Take the offered seat: hold it and create the order, exactly as a registration does.

    Under the session's lock the seat is recounted without the open offers (they are what
    the seat was kept for). When it is gone — a host offered it by hand to someone else who
    took it first — the person goes back to the queue at their old place and SeatTaken says so.
    """
    now = now or utcnow()
    entry = entry_for_token(token)
    if entry is None:
        raise _gone(None, now)
    session = lock_row(TrainingSession, entry.session_id)
    entry = db.session.execute(
        select(WaitlistEntry).where(WaitlistEntry.id == entry.id).execution_options(populate_existing=True)
    ).scalar_one()
    problem = _gone(entry, now)
    if problem:
        db.session.rollback()
        raise problem
    if not takes_registrations(session, now):
        db.session.rollback()
        raise WaitlistError(_l("Registration for this session is closed."))
    registrations.expire_stale_holds(now, session_id=session.id)
    if registrations.has_live_registration(session.id, entry.email):
        _close(entry, "removed", now)
        db.session.commit()
        raise WaitlistError(_l("This email address is already registered for this session."))
    if registrations.live_seats_taken(session.id, now) >= session.capacity:
        _back_to_queue(entry)
        db.session.commit()
        raise SeatTaken(_l(
            "Sorry, someone else took this seat a moment before you. You are back on the "
            "waitlist at your old place, and we will email you when the next seat is free."
        ))
    order = registrations.hold_seat(session, entry.name, entry.email, entry.locale, hold_minutes, now,
                                    entry.timezone)
    entry.state = "accepted"
    entry.order = order
    fill_free_seats(session, now)  # holds let go just now may have freed more seats
    db.session.commit()
    return order


def _back_to_queue(entry):
    """The offer is withdrawn; joined_at is kept, so the person keeps their place. The old
    link's hash stays until a new offer replaces it, so the old link explains itself."""
    entry.state = "waiting"
    entry.offered_at = None
    entry.offer_expires_at = None


def _close(entry, state, now):
    entry.state = state
    entry.offer_expires_at = None
    if state == "removed":
        entry.removed_at = now


# The host's hand ---------------------------------------------------------------------------


def _locked_open_entry(session, entry_id):
    lock_row(TrainingSession, session.id)
    entry = db.session.execute(
        select(WaitlistEntry).where(WaitlistEntry.id == entry_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if entry is None or entry.session_id != session.id:
        db.session.rollback()
        return None
    return entry


def promote(session, entry_id, now=None):
    """The host offers a seat by hand, out of order if they wish (even past capacity: whoever
    accepts first gets the seat, the other goes back to the queue). Returns the entry."""
    now = now or utcnow()
    entry = _locked_open_entry(session, entry_id)
    if entry is None:
        return None
    if entry.state != "waiting" or not takes_registrations(entry.session, now):
        db.session.rollback()
        raise WaitlistError(_l("Only someone still waiting can be offered a seat, and only while "
                               "the session takes registrations."))
    make_offer(entry, now)
    db.session.commit()
    return entry


def remove(session, entry_id, now=None):
    """The host takes someone off the queue; a seat they were offered goes to the next."""
    now = now or utcnow()
    entry = _locked_open_entry(session, entry_id)
    if entry is None:
        return None
    if entry.state not in OPEN_WAITLIST_STATES:
        db.session.rollback()
        raise WaitlistError(_l("This person is no longer on the waitlist."))
    _close(entry, "removed", now)
    fill_free_seats(entry.session, now)
    db.session.commit()
    return entry


# The periodic job ----------------------------------------------------------------------------


def run_due(now=None):
    """Let run-out offers lapse and offer free seats, for every session with a queue.

    Each session is claimed (`claim_row`): on several machines, one does a session, the others
    skip it this round. Returns {"lapsed": n, "offered": n}."""
    now = now or utcnow()
    counts = {"lapsed": 0, "offered": 0}
    session_ids = db.session.scalars(
        select(TrainingSession.id).where(
            TrainingSession.state == "scheduled",
            exists().where(
                WaitlistEntry.session_id == TrainingSession.id,
                WaitlistEntry.state.in_(OPEN_WAITLIST_STATES),
            ),
        ).order_by(TrainingSession.id)
    ).all()
    db.session.rollback()
    for session_id in session_ids:
        session = claim_row(TrainingSession, session_id)
        if session is None:  # another machine is doing this session
            db.session.rollback()
            continue
        registrations.expire_stale_holds(now, session_id=session.id)
        counts["lapsed"] += len(lapse_expired_offers(session, now))
        counts["offered"] += len(fill_free_seats(session, now))
        db.session.commit()
    return counts

