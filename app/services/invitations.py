"""Personal links into a session's room: made, listed, revoked, re-issued.

A link's token has 256 bits from `secrets`; only its SHA-256 hash is stored, so the link is
shown once (and in the email it is sent in). Losing it means re-issuing it.
"""

import hashlib
import re
import secrets
from typing import NamedTuple

from sqlalchemy import insert, select

from app.extensions import db
from app.models import Invitation
from app.models.base import utcnow

# "Ada Lovelace <ada@example.com>" or just "Ada Lovelace"
NAME_WITH_EMAIL = re.compile(r"^(?P<name>.*?)\s*<\s*(?P<email>[^<>\s]+@[^<>\s]+)\s*>$")
MAX_LINKS_AT_ONCE = 10_000


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def new_invitation(session, name, email=None, registration=None, campaign=None):
    """Add a personal link to the session (in the caller's transaction); returns it and its token."""
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        session_id=session.id, name=name[:200], email=email, token_hash=hash_token(token),
        registration=registration, campaign_id=campaign.id if campaign else None,
    )
    db.session.add(invitation)
    return invitation, token


def parse_pasted_names(text):
    """One person per line, 'Name' or 'Name <email>'. Blank lines are skipped and repeated
    lines count once. Returns (people, problems): people as (name, email-or-None)."""
    people, seen, problems = [], set(), []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = " ".join(raw.split())
        if not line:
            continue
        match = NAME_WITH_EMAIL.match(line)
        name, email = (match["name"].strip(), match["email"].lower()) if match else (line, None)
        if not name:
            name = email or ""
        if "<" in name or ">" in name or len(name) > 200:
            problems.append((number, raw.strip()))
            continue
        key = (name.casefold(), email)
        if key in seen:
            continue
        seen.add(key)
        people.append((name, email))
    return people, problems


class NewLink(NamedTuple):
    """A link just made: the only moment its token is known."""

    id: int
    name: str
    email: str | None
    token: str


def generate_links(session, people):
    """Personal links for everyone pasted, in one transaction; returns [NewLink].

    One bulk INSERT … RETURNING rather than the ORM's row-by-row flush: a host may paste
    thousands of names at once.
    """
    now = utcnow()
    tokens = [secrets.token_urlsafe(32) for _ in people[:MAX_LINKS_AT_ONCE]]
    rows = [
        {"session_id": session.id, "name": name[:200], "email": email,
         "token_hash": hash_token(token), "created_at": now}
        for (name, email), token in zip(people, tokens)
    ]
    if not rows:
        return []
    ids = db.session.scalars(
        insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True), rows
    ).all()
    db.session.commit()
    return [NewLink(i, row["name"], row["email"], t) for i, row, t in zip(ids, rows, tokens)]


def invitation_for_token(token):
    """The live invitation behind a link, or None for unknown, malformed or revoked ones."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.execute(
        select(Invitation).where(Invitation.token_hash == hash_token(token))
    ).scalar_one_or_none()
    if invitation is None or invitation.revoked_at is not None:
        return None
    return invitation


def revoke(invitation):
    invitation.revoked_at = invitation.revoked_at or utcnow()
    db.session.commit()


def reissue(invitation):
    """Revoke a link and make a new one for the same person; returns the NewLink."""
    invitation.revoked_at = invitation.revoked_at or utcnow()
    new, token = new_invitation(invitation.session, invitation.name, invitation.email,
                                invitation.registration)
    db.session.commit()
    return NewLink(new.id, new.name, new.email, token)


def links_of(session):
    return db.session.scalars(
        select(Invitation)
        .where(Invitation.session_id == session.id, Invitation.campaign_id.is_(None))
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()


def revoke_for_registration(registration):
    """A canceled or refunded registration's personal links stop working (caller commits)."""
    now = utcnow()
    for invitation in db.session.scalars(
        select(Invitation).where(
            Invitation.registration_id == registration.id, Invitation.revoked_at.is_(None)
        )
    ):
        invitation.revoked_at = now
