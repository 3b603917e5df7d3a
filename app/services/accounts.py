"""Sign-up, sign-in, password reset and organisation membership."""

import hashlib
import re
import secrets
import unicodedata

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Department, Organization, User
from app.services.mail import queue_mail
from app.services.errors import ServiceError

# A reset link and a new member's "choose your password" link differ only in how long they live.
TOKEN_SALTS = {"reset": "lectern.password-reset", "setup": "lectern.account-setup"}
# Checked against when the email is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


class AccountError(ServiceError):
    """A rule was broken; `field` names the form field the message belongs to."""


def normalize_email(email):
    return email.strip().lower()


def hash_password(password):
    return generate_password_hash(password)  # scrypt, Werkzeug's current default


def find_user_by_email(email):
    return db.session.execute(
        select(User).where(User.email == normalize_email(email))
    ).scalar_one_or_none()


def suggest_subdomain(name):
    """A free DNS label made from a name: 'Acme Training AB' -> 'acme-training-ab'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:50] or "site"
    candidate, n = base, 1
    while db.session.execute(
        select(Organization.id).where(Organization.subdomain == candidate)
    ).first():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def sign_up(name, email, password, organization_name, locale, timezone):
    """Create an organisation and its first user, its administrator. One transaction."""
    email = normalize_email(email)
    if find_user_by_email(email):
        raise AccountError(_l("An account with this email address already exists."), "email")
    organization = Organization(
        name=organization_name.strip(),
        subdomain=suggest_subdomain(organization_name),
        locale=locale,
        timezone=timezone,
    )
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        organization=organization,
        role="admin",
        locale=locale,
        timezone=timezone,
    )
    db.session.add_all([organization, user])
    db.session.commit()
    return user


def authenticate(email, password):
    """The user if the password is right, else None (in about the same time either way)."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def change_password(user, current_password, new_password):
    if not check_password_hash(user.password_hash, current_password):
        raise AccountError(_l("The current password is not correct."), "current_password")
    user.password_hash = hash_password(new_password)
    db.session.commit()


def update_profile(user, name, locale, timezone):
    user.name = name.strip()
    user.locale = locale or None
    user.timezone = timezone or None
    db.session.commit()


# Password reset ---------------------------------------------------------------------------
# The token is signed and time-limited, and carries a fingerprint of the current password
# hash: once the password changes, every earlier link stops working. Nothing is stored.


def _reset_serializer(secret_key, purpose):
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALTS[purpose])


def _password_fingerprint(user):
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(user, secret_key, purpose="reset"):
    return _reset_serializer(secret_key, purpose).dumps([user.id, _password_fingerprint(user)])


def user_for_reset_token(token, secret_key, max_age, purpose="reset"):
    """The user the token belongs to; raises AccountError when expired, used or forged."""
    try:
        user_id, fingerprint = _reset_serializer(secret_key, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise AccountError(_l("This reset link has expired. Please ask for a new one."))
    except (BadSignature, ValueError, TypeError):
        raise AccountError(_l("This reset link is not valid. Please ask for a new one."))
    user = db.session.get(User, user_id)
    if user is None or fingerprint != _password_fingerprint(user):
        raise AccountError(_l("This reset link has already been used. Please ask for a new one."))
    return user


def request_password_reset(email, fallback_locale, reset_url_for, valid_hours):
    """Queue a reset email if the account exists. Says nothing about whether it does.

    `reset_url_for(user)` builds the link (the caller knows the site's address).
    """
    user = find_user_by_email(email)
    if user is None:
        return
    queue_mail(
        user.email,
        user.locale or fallback_locale,
        "password_reset",
        subject=_l("Reset your Lectern password"),
        user=user,
        reset_url=reset_url_for(user),
        valid_hours=valid_hours,
    )
    db.session.commit()


def reset_password(user, new_password):
    user.password_hash = hash_password(new_password)
    db.session.commit()


# Organisation membership ------------------------------------------------------------------


def add_member(organization, name, email, role, department_id, invite_url_for, locale, valid_days):
    """Add a user to the organisation and email them a link to choose their password."""
    email = normalize_email(email)
    if find_user_by_email(email):
        raise AccountError(
            _l("This email address already belongs to a user. A user belongs to exactly one organisation."),
            "email",
        )
    _check_license(organization, None, role)
    department = _department_of(organization, department_id)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(secrets.token_urlsafe(32)),  # unusable until they set one
        organization=organization,
        role=role,
        department=department,
    )
    db.session.add(user)
    db.session.flush()
    queue_mail(
        user.email,
        locale,
        "member_invitation",
        subject=_l("You have been added to %(organization)s on Lectern", organization=organization.name),
        user=user,
        organization=organization,
        setup_url=invite_url_for(user),
        valid_days=valid_days,
    )
    db.session.commit()
    return user


def update_member(organization, member, role, department_id):
    """Change a member's role and department; the last administrator stays an administrator."""
    if member.organization_id != organization.id:
        raise PermissionError("member of another organisation")
    if member.role == "admin" and role != "admin" and count_admins(organization) == 1:
        raise AccountError(_l("An organisation needs at least one administrator."), "role")
    _check_license(organization, member.role, role)
    department = _department_of(organization, department_id)
    member.role = role
    member.department = department
    db.session.commit()


def _check_license(organization, current_role, new_role):
    """Hosts and administrators need a license when the organisation has a plan."""
    from app.services.subscriptions import PlanError, check_license_for_role

    try:
        check_license_for_role(organization.id, current_role, new_role)
    except PlanError as error:
        raise AccountError(error.message, "role") from error


def count_admins(organization):
    return db.session.scalar(
        select(func.count(User.id)).where(
            User.organization_id == organization.id, User.role == "admin"
        )
    )


def _department_of(organization, department_id):
    if not department_id:
        return None
    department = db.session.get(Department, department_id)
    if department is None or department.organization_id != organization.id:
        raise AccountError(_l("Choose a department of your organisation."), "department")
    return department


def add_department(organization, name):
    name = name.strip()
    exists = db.session.execute(
        select(Department.id).where(
            Department.organization_id == organization.id,
            func.lower(Department.name) == name.lower(),
        )
    ).first()
    if exists:
        raise AccountError(_l("A department with this name already exists."), "name")
    department = Department(organization=organization, name=name)
    db.session.add(department)
    db.session.commit()
    return department


def remove_department(organization, department):
    """Delete a department; its members simply have none afterwards."""
    if department.organization_id != organization.id:
        raise PermissionError("department of another organisation")
    for member in db.session.scalars(select(User).where(User.department_id == department.id)):
        member.department = None
    db.session.delete(department)
    db.session.commit()


def update_organization(organization, name, locale, timezone, currency, *,
                        sender_name=None, sender_email=None, signature=None, tax_exempt=None,
                        account_representative_email=None):
    """Save the site's settings; the sender settings (used by invitation emails) change only
    when given: sender_name, sender_email ("" = the server's address) and signature."""
    organization.name = name.strip()
    organization.locale = locale
    organization.timezone = timezone
    organization.currency = currency
    if sender_name is not None:
        organization.sender_name = " ".join(sender_name.split())
    if sender_email is not None:
        organization.sender_email = sender_email.strip().lower()
    if signature is not None:
        organization.signature = signature.replace("\r\n", "\n").strip()
    if tax_exempt is not None:
        organization.tax_exempt = tax_exempt
    if account_representative_email is not None:
        organization.account_representative_email = account_representative_email.strip().lower()
    db.session.commit()


def set_preferred_locale(user, locale):
    user.locale = locale
    db.session.commit()
