"""Coupons: codes an organisation gives attendees for a discount (percent, fixed amount or free)."""

import re
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Coupon, TrainingSession
from app.services.money import AmountError, amount_error_message, parse_major_amount
from app.services.reports import day_end, day_start, local_iso, major_string, write_csv

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,39}$")


def normalize_code(code):
    """Codes are case-insensitive and typed by people: compare them upper-cased and trimmed."""
    return (code or "").strip().upper()


def find_coupon(organization_id, code):
    return db.session.execute(
        select(Coupon).where(
            Coupon.organization_id == organization_id, Coupon.code == normalize_code(code)
        )
    ).scalar_one_or_none()


# Administration: creating, switching off, generating in bulk, exporting -----------------------

KINDS = ("percent", "fixed", "free")
# Readable codes: no 0/O or 1/I to mix up when typed from paper. 32 symbols, 10 long: 50 bits.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_CODE_LENGTH = 10
PREFIX_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
MAX_GENERATED = 1000
MAX_USES_LIMIT = 1_000_000
_PERCENT_PATTERN = re.compile(r"^[0-9]{1,3}$")


class CouponRuleError(ValueError):
    """A coupon rule was broken; `field` names the form field the (lazy) message belongs to."""

    def __init__(self, message, field):
        super().__init__(str(message))
        self.message = message
        self.field = field


def random_code(prefix=""):
    return prefix + "".join(secrets.choice(CODE_ALPHABET) for _ in range(GENERATED_CODE_LENGTH))


def amount_to_minor(amount, currency):
    """A fixed discount typed in major units -> exact minor units, more than zero."""
    try:
        minor = parse_major_amount(amount, currency)
    except AmountError as error:
        raise CouponRuleError(amount_error_message(error, currency), "value") from None
    if minor <= 0:
        raise CouponRuleError(_l("Enter an amount greater than zero."), "value")
    return minor


def _percent(value):
    text = "" if value is None else str(value).strip()
    if not _PERCENT_PATTERN.match(text) or not 1 <= int(text) <= 100:
        raise CouponRuleError(_l("Enter a whole percentage from 1 to 100."), "value")
    return int(text)


def _moment(value, timezone_name, last):
    """A date is a whole day in the organisation's zone; an aware datetime is taken as it is."""
    if value is None or isinstance(value, datetime):
        return value
    return (day_end if last else day_start)(value, timezone_name)


def _coupon_fields(organization, kind, value, currency, max_uses, valid_from, valid_until, session_id):
    """Check the rules and return the Coupon's columns (all but the code)."""
    if kind not in KINDS:
        raise CouponRuleError(_l("Choose a kind of discount."), "kind")
    if kind == "percent":
        value, currency = _percent(value), None
    elif kind == "fixed":
        currency = currency or organization.currency
        value = amount_to_minor(value, currency)
    else:
        value, currency = 0, None
    if max_uses is not None and not 1 <= max_uses <= MAX_USES_LIMIT:
        raise CouponRuleError(
            _l("Enter a number from %(min)d to %(max)d.", min=1, max=MAX_USES_LIMIT), "max_uses"
        )
    valid_from = _moment(valid_from, organization.timezone, last=False)
    valid_until = _moment(valid_until, organization.timezone, last=True)
    if valid_from and valid_until and valid_until < valid_from:
        raise CouponRuleError(_l("The last day cannot be before the first day."), "valid_until")
    if session_id is not None and db.session.execute(
        select(TrainingSession.id).where(
            TrainingSession.id == session_id, TrainingSession.organization_id == organization.id
        )
    ).first() is None:
        raise CouponRuleError(_l("Choose one of your organisation's sessions."), "session_id")
    return dict(
        organization_id=organization.id, kind=kind, value=value, currency=currency,
        max_uses=max_uses, valid_from=valid_from, valid_until=valid_until, session_id=session_id,
    )


def _taken_codes(organization, codes):
    return set(db.session.scalars(
        select(Coupon.code).where(
            Coupon.organization_id == organization.id, func.upper(Coupon.code).in_(codes)
        )
    ))


def _free_codes(organization, count, prefix=""):
    """`count` random codes that no coupon of the organisation has yet."""
    codes = set()
    while len(codes) < count:
        candidates = {random_code(prefix) for _ in range(count - len(codes))} - codes
        codes |= candidates - _taken_codes(organization, candidates)
    return sorted(codes)


def create_coupon(organization, code, kind, value, currency=None, max_uses=None, valid_from=None,
                  valid_until=None, session_id=None):
    """Make one coupon. One transaction.

    code: as typed (any case); empty makes a random readable one. value: a whole percent for
    "percent", an amount in major units of `currency` (text like "49.50" or a Decimal) for
    "fixed", nothing for "free". valid_from/valid_until: dates, meaning the first and the last
    whole day in the organisation's time zone (or aware datetimes). Raises CouponRuleError.
    """
    fields = _coupon_fields(
        organization, kind, value, currency, max_uses, valid_from, valid_until, session_id
    )
    code = normalize_code(code)
    if not code:
        [code] = _free_codes(organization, 1)
    elif not CODE_PATTERN.match(code):
        raise CouponRuleError(
            _l("Use 3 to 40 letters A–Z, digits, hyphens or underscores, starting with a letter or digit."),
            "code",
        )
    elif _taken_codes(organization, [code]):
        raise CouponRuleError(_l("A coupon with this code already exists."), "code")
    coupon = Coupon(code=code, **fields)
    db.session.add(coupon)
    try:
        db.session.commit()
    except IntegrityError:  # the same code was added a moment ago by someone else
        db.session.rollback()
        raise CouponRuleError(_l("A coupon with this code already exists."), "code") from None
    return coupon


def set_coupon_active(organization, coupon, active):
    """Switch a coupon off (it stops being accepted) or on again."""
    if coupon.organization_id != organization.id:
        raise ValueError("the coupon belongs to another organisation")
    coupon.active = bool(active)
    db.session.commit()
    return coupon


def generate_codes(organization, count, prefix="", **coupon_fields):
    """`count` one-use coupons with random codes after an optional prefix. One transaction.

    coupon_fields: kind, value, currency, valid_from, valid_until, session_id, as for
    create_coupon. Raises CouponRuleError.
    """
    if not isinstance(count, int) or not 1 <= count <= MAX_GENERATED:
        raise CouponRuleError(
            _l("Enter a number from %(min)d to %(max)d.", min=1, max=MAX_GENERATED), "count"
        )
    prefix = normalize_code(prefix)
    if prefix and not PREFIX_PATTERN.match(prefix):
        raise CouponRuleError(
            _l("Use at most 20 letters A–Z, digits, hyphens or underscores, starting with a letter or digit."),
            "prefix",
        )
    fields = _coupon_fields(
        organization,
        coupon_fields.pop("kind"),
        coupon_fields.pop("value", None),
        coupon_fields.pop("currency", None),
        1,
        coupon_fields.pop("valid_from", None),
        coupon_fields.pop("valid_until", None),
        coupon_fields.pop("session_id", None),
    )
    if coupon_fields:
        raise TypeError(f"unexpected coupon fields: {sorted(coupon_fields)}")
    coupons = [Coupon(code=code, **fields) for code in _free_codes(organization, count, prefix)]
    db.session.add_all(coupons)
    db.session.commit()
    return coupons


def coupons_page(organization, page=1, per_page=50):
    """One page of the organisation's coupons, newest first (a Flask-SQLAlchemy Pagination)."""
    return db.paginate(
        _coupons_query(organization), page=max(page, 1), per_page=per_page, error_out=False,
        max_per_page=per_page,
    )


def all_coupons(organization):
    return db.session.scalars(_coupons_query(organization)).all()


def _coupons_query(organization):
    return (
        select(Coupon)
        .options(selectinload(Coupon.session))
        .where(Coupon.organization_id == organization.id)
        .order_by(Coupon.created_at.desc(), Coupon.id.desc())
    )


COUPONS_CSV_HEADER = (
    "code", "kind", "value", "currency", "max_uses", "used_count", "valid_from", "valid_until",
    "session", "active",
)


def coupons_csv(coupons, timezone_name="UTC"):
    """Coupons as CSV: a fixed value in major units of its currency, moments in ISO 8601."""

    def value(coupon):
        if coupon.kind == "fixed":
            return major_string(coupon.value, coupon.currency)
        return str(coupon.value) if coupon.kind == "percent" else ""

    return write_csv(COUPONS_CSV_HEADER, (
        (
            coupon.code,
            coupon.kind,
            value(coupon),
            coupon.currency or "",
            "" if coupon.max_uses is None else coupon.max_uses,
            coupon.used_count,
            local_iso(coupon.valid_from, timezone_name),
            local_iso(coupon.valid_until, timezone_name),
            coupon.session.title if coupon.session else "",
            "true" if coupon.active else "false",
        )
        for coupon in coupons
    ))
