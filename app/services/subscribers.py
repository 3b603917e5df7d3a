"""Subscriber lists: the people an organisation invites by email, their language and time zone.

Emails are stored lower-cased and are unique per list, so adding or importing someone who is
already on the list updates them. Someone who unsubscribed stays unsubscribed: a later import
or addition changes their name, language and zone, never their choice.

Framework-free: plain functions over the database session; messages are lazy translations.
"""

import csv
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Organization, Subscriber, SubscriberList
from app.models.base import utcnow
from app.services.errors import ServiceError
from config import SUPPORTED_LOCALES

UNSUBSCRIBE_SALT = "lectern.unsubscribe"
MAX_IMPORT_LINES = 20_000
# A first line made only of such words (and no "@") is a header, in any of our languages.
HEADER_WORDS = {
    "name", "email", "e-mail", "email address", "language", "locale", "time zone", "timezone",
    "namn", "e-post", "e-postadress", "språk", "tidszon", "nom", "courriel", "adresse e-mail",
    "langue", "fuseau horaire", "ime", "e-pošta", "e-naslov", "jezik", "časovni pas", "nume",
    "adresă de email", "limbă", "limba", "fus orar", "имя", "почта", "эл. почта",
    "электронная почта", "язык", "часовой пояс",
}


class SubscriberError(ServiceError):
    """A rule was broken; `field` names the form field it belongs to, if any."""


# Reading and checking values ----------------------------------------------------------------


def normalize_email(text):
    """The address lower-cased, or None when it is not a valid email address."""
    text = (text or "").strip()
    if not text or len(text) > 254:
        return None
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return None
    return text.lower()


def normalize_locale(text, default):
    """'SV', 'sv-SE' or 'sv_SE' → 'sv'; empty → default; None when not one of our languages."""
    text = (text or "").strip()
    if not text:
        return default
    code = text.replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED_LOCALES else None


def is_timezone(name):
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# Lists --------------------------------------------------------------------------------------


def lists_with_counts(organization):
    """[(list, subscribers, still subscribed)] of the organisation, by name."""
    active = func.count(case((Subscriber.unsubscribed_at.is_(None), Subscriber.id)))
    rows = db.session.execute(
        select(SubscriberList, func.count(Subscriber.id), active)
        .outerjoin(Subscriber, Subscriber.list_id == SubscriberList.id)
        .where(SubscriberList.organization_id == organization.id)
        .group_by(SubscriberList.id)
        .order_by(SubscriberList.name, SubscriberList.id)
    ).all()
    return [(subscriber_list, total, still) for subscriber_list, total, still in rows]


def create_list(organization, name):
    name = " ".join((name or "").split())
    if not name:
        raise SubscriberError(_l("This field is required."), "name")
    exists = db.session.scalar(
        select(SubscriberList.id).where(
            SubscriberList.organization_id == organization.id,
            func.lower(SubscriberList.name) == name.lower(),
        )
    )
    if exists:
        raise SubscriberError(_l("There is already a list with this name."), "name")
    subscriber_list = SubscriberList(organization_id=organization.id, name=name[:120])
    db.session.add(subscriber_list)
    db.session.commit()
    return subscriber_list


def delete_list(subscriber_list):
    """The list and everyone on it."""
    db.session.delete(subscriber_list)
    db.session.commit()


def subscribers_of(subscriber_list):
    return db.session.scalars(
        select(Subscriber)
        .where(Subscriber.list_id == subscriber_list.id)
        .order_by(func.lower(Subscriber.name), Subscriber.id)
    ).all()


def _default_locale(subscriber_list):
    organization = db.session.get(Organization, subscriber_list.organization_id)
    return organization.locale if organization else "en"


# Subscribers --------------------------------------------------------------------------------


def _existing_by_email(subscriber_list):
    return {s.email: s for s in db.session.scalars(
        select(Subscriber).where(Subscriber.list_id == subscriber_list.id)
    )}


def _put(subscriber_list, existing, name, email, locale, timezone):
    """Add someone, or update them when the email is already on the list; returns (subscriber, created)."""
    subscriber = existing.get(email)
    if subscriber is not None:
        subscriber.name, subscriber.locale, subscriber.timezone = name[:200], locale, timezone
        return subscriber, False
    subscriber = Subscriber(
        list_id=subscriber_list.id, name=name[:200], email=email, locale=locale, timezone=timezone
    )
    db.session.add(subscriber)
    existing[email] = subscriber
    return subscriber, True


def add_subscriber(subscriber_list, name, email, locale, timezone=None):
    """Add one person (or update them if their email is on the list); returns (subscriber, created)."""
    address = normalize_email(email)
    if address is None:
        raise SubscriberError(_l("Enter a valid email address."), "email")
    if locale not in SUPPORTED_LOCALES:
        raise SubscriberError(_l("Not a valid choice."), "locale")
    if timezone and not is_timezone(timezone):
        raise SubscriberError(_l("Not a valid choice."), "timezone")
    name = " ".join((name or "").split()) or address
    made = _put(subscriber_list, _existing_by_email(subscriber_list), name, address, locale, timezone or None)
    db.session.commit()
    return made


def remove_subscriber(subscriber):
    db.session.delete(subscriber)
    db.session.commit()


# CSV import ---------------------------------------------------------------------------------


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    problems: list = field(default_factory=list)  # [(line number, reason)], reasons are lazy strings

    @property
    def imported(self):
        return self.added + self.updated


def _dialect(text):
    first = next((line for line in text.splitlines() if line.strip()), "")
    for delimiter in (",", ";", "\t"):
        if delimiter in first:
            return delimiter
    return ","


def _is_header(cells):
    return all("@" not in cell for cell in cells) and any(
        cell.strip().lower() in HEADER_WORDS for cell in cells
    )


def parse_csv(text, default_locale="en"):
    """Rows of name,email[,language[,time zone]], with or without a header line.

    Returns (rows, problems): rows as (line number, name, email, locale, zone-or-None), problems as
    (line number, reason). An email seen earlier in the file is a problem on the later line.
    """
    rows, problems, first_line_of = [], [], {}
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(text))
    first = True
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append((start, _l("This line is not valid CSV.")))
            break
        line = start
        cells = [cell.strip() for cell in cells]
        if not any(cells):
            continue
        if first:
            first = False
            if _is_header(cells):
                continue
        if len(rows) + len(problems) >= MAX_IMPORT_LINES:
            problems.append((line, _l("Too many lines: import at most %(num)d at a time.", num=MAX_IMPORT_LINES)))
            break
        problem, row = _check_row(cells, default_locale)
        if problem is None:
            name, email, locale, zone = row
            if email in first_line_of:
                problem = _l("%(email)s is a duplicate of line %(line)d.", email=email, line=first_line_of[email])
            else:
                first_line_of[email] = line
                rows.append((line, name, email, locale, zone))
                continue
        problems.append((line, problem))
    return rows, problems


def _check_row(cells, default_locale):
    if len(cells) < 2:
        return _l("Give a name and an email address, separated by a comma."), None
    if len(cells) > 4:
        return _l("Too many columns: name, email, language and time zone at most."), None
    name, raw_email = " ".join(cells[0].split()), cells[1]
    language = cells[2] if len(cells) > 2 else ""
    zone = cells[3] if len(cells) > 3 else ""
    email = normalize_email(raw_email)
    if email is None:
        return _l("“%(email)s” is not a valid email address.", email=raw_email[:100]), None
    if len(name) > 200:
        return _l("The name is longer than %(num)d characters.", num=200), None
    locale = normalize_locale(language, default_locale)
    if locale is None:
        return _l(
            "Unknown language “%(code)s”; use one of %(codes)s.",
            code=language[:20], codes=", ".join(SUPPORTED_LOCALES),
        ), None
    if zone and not is_timezone(zone):
        return _l("Unknown time zone “%(zone)s”.", zone=zone[:64]), None
    return None, (name or email, email, locale, zone or None)


def import_csv(subscriber_list, text):
    """Import the good lines (one transaction) and report each bad one with its line number."""
    rows, problems = parse_csv(text, _default_locale(subscriber_list))
    result = ImportResult(problems=problems)
    existing = _existing_by_email(subscriber_list)
    for _line, name, email, locale, zone in rows:
        _subscriber, created = _put(subscriber_list, existing, name, email, locale, zone)
        if created:
            result.added += 1
        else:
            result.updated += 1
    db.session.commit()
    return result


def decode_upload(data):
    """Text of an uploaded file: UTF-8 (with or without BOM); None if it is not text."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# Unsubscribing ------------------------------------------------------------------------------


def _serializer(secret_key):
    return URLSafeSerializer(secret_key, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(subscriber, secret_key):
    return _serializer(secret_key).dumps(subscriber.id)


def subscriber_for_token(token, secret_key):
    """The subscriber a signed token names, or None for forged, malformed or stale tokens."""
    if not token or len(token) > 200:
        return None
    try:
        subscriber_id = _serializer(secret_key).loads(token)
    except BadSignature:
        return None
    if not isinstance(subscriber_id, int) or isinstance(subscriber_id, bool):
        return None
    return db.session.get(Subscriber, subscriber_id)


def unsubscribe(subscriber, now=None):
    """Stop invitations to this person; doing it twice keeps the first time."""
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now or utcnow()
    db.session.commit()


def unsubscribed_emails(organization):
    """Addresses that unsubscribed from any of the organisation's lists."""
    return set(db.session.scalars(
        select(Subscriber.email)
        .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
        .where(SubscriberList.organization_id == organization.id, Subscriber.unsubscribed_at.is_not(None))
    ))
