"""Plain callables that make model objects with sensible defaults."""

import itertools
from datetime import timedelta

from app.extensions import db
from app.models import Department, Organization, TrainingSession, User
from app.models.base import utcnow
from app.services.accounts import hash_password

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)
_password_hash = None


def _hash():
    """Hashing is deliberately slow; tests share one hash of PASSWORD."""
    global _password_hash
    if _password_hash is None:
        _password_hash = hash_password(PASSWORD)
    return _password_hash


def make_organization(**fields):
    n = next(_numbers)
    fields.setdefault("name", f"Organisation {n}")
    fields.setdefault("subdomain", f"org-{n}")
    organization = Organization(**fields)
    db.session.add(organization)
    db.session.commit()
    return organization


def make_department(organization, name=None):
    department = Department(organization=organization, name=name or f"Department {next(_numbers)}")
    db.session.add(department)
    db.session.commit()
    return department


def make_user(organization=None, role="admin", **fields):
    n = next(_numbers)
    fields.setdefault("email", f"user{n}@example.com")
    fields.setdefault("name", f"User {n}")
    user = User(
        organization=organization or make_organization(),
        role=role,
        password_hash=_hash(),
        **fields,
    )
    db.session.add(user)
    db.session.commit()
    return user


def make_session(host=None, **fields):
    host = host or make_user(role="host")
    n = next(_numbers)
    fields.setdefault("slug", f"session-{n}")
    fields.setdefault("title", f"Training session {n}")
    fields.setdefault("starts_at", utcnow() + timedelta(days=3))
    fields.setdefault("timezone", "Europe/Stockholm")
    fields.setdefault("duration_min", 60)
    fields.setdefault("capacity", 20)
    fields.setdefault("currency", host.organization.currency)
    session = TrainingSession(host=host, organization=host.organization, **fields)
    db.session.add(session)
    db.session.commit()
    return session
