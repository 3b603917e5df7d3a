"""Cancellation policies: until when an attendee may cancel by themselves, and what comes back.

A policy is a list of tiers, stored as JSON (CommerceSettings.cancellation_policy is the site's
default, TrainingSession.cancellation_policy a session's own; None there = the site's):

    [{"hours_before": 168, "refund_percent": 100},   until 7 days before: everything back
     {"hours_before": 48, "refund_percent": 50},     until 48 hours before: half back
     {"hours_before": 24, "fee_minor": 1000}]        until 24 hours before: all but a 10.00 fee

A tier applies while the start is more than `hours_before` hours away; when several do, the one
with the most hours (the earliest limit). After the smallest `hours_before` (the deadline) there
is no self-service cancellation. An empty list: no self-service cancellation at all.

Money stays exact: a percentage is rounded half-up once, and a refund is never more than what
is left to refund on the order, nor negative.
"""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l

from app.services.errors import ServiceError
from app.services.money import AmountError, amount_error_message, format_money, parse_major_amount, to_major
from app.services.pricing import round_half_up

# The editor's help, next to the text box where a policy is written one tier per line.
EDITOR_HINT = _l(
    "One tier per line: the hours before the start until which it applies, then the refund. "
    "For example \"168 100%\" (everything back until 7 days before), \"48 50%\" (half back "
    "until 48 hours before), \"24 fee 10.00\" (all but a fee of 10.00 until 24 hours before). "
    "After the last tier attendees cannot cancel by themselves. Empty: no self-service cancellation."
)
MAX_TIERS = 10
MAX_HOURS = 24 * 365  # a year before the start
MAX_FEE_MINOR = 2_000_000_000


class PolicyError(ServiceError):
    """A policy that cannot be stored as written."""


@dataclass(frozen=True)
class Tier:
    hours_before: int
    refund_percent: int | None = None  # 0..100 of what was paid
    fee_minor: int | None = None  # or: this much is kept, the rest refunded

    def refund_of(self, paid_minor):
        """What this tier gives back of `paid_minor`, before capping at what is refundable."""
        if self.refund_percent is not None:
            return round_half_up(Decimal(paid_minor) * self.refund_percent / 100)
        return paid_minor - self.fee_minor

    def as_dict(self):
        if self.refund_percent is not None:
            return {"hours_before": self.hours_before, "refund_percent": self.refund_percent}
        return {"hours_before": self.hours_before, "fee_minor": self.fee_minor}


@dataclass(frozen=True)
class Quote:
    allowed: bool  # may the attendee cancel by themselves now?
    refund_minor: int  # what comes back if they do (0 when not allowed)
    deadline: object  # datetime (UTC) after which self-service cancellation ends; None: never offered
    tier: Tier | None  # the tier that applies now


# Reading and writing ----------------------------------------------------------------------------


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _checked(tiers):
    """Sorted from the earliest limit (most hours) to the deadline; refuses duplicates and excess."""
    if len(tiers) > MAX_TIERS:
        raise PolicyError(
            _l("A policy has at most %(num)d tiers.", num=MAX_TIERS), "cancellation_policy"
        )
    hours = [tier.hours_before for tier in tiers]
    if len(set(hours)) != len(hours):
        raise PolicyError(
            _l("Each number of hours may appear only once in a policy."), "cancellation_policy"
        )
    return tuple(sorted(tiers, key=lambda tier: tier.hours_before, reverse=True))


def _tier(hours_before, refund_percent=None, fee_minor=None, line=None):
    def refuse(message):
        if line is not None:
            message = _l("Line %(line)d: %(problem)s", line=line, problem=message)
        raise PolicyError(message, "cancellation_policy")

    if not _is_int(hours_before) or not 0 <= hours_before <= MAX_HOURS:
        refuse(_l("The hours before the start must be a whole number from 0 to %(max)d.", max=MAX_HOURS))
    if (refund_percent is None) == (fee_minor is None):
        refuse(_l("Give either a refund percentage or a fee to keep."))
    if refund_percent is not None and (not _is_int(refund_percent) or not 0 <= refund_percent <= 100):
        refuse(_l("A refund percentage must be a whole number from 0 to 100."))
    if fee_minor is not None and (not _is_int(fee_minor) or not 0 <= fee_minor <= MAX_FEE_MINOR):
        refuse(_l("A fee must be an amount of zero or more."))
    return Tier(hours_before, refund_percent, fee_minor)


def parse(stored):
    """The tiers of a stored policy (JSON text, or an already decoded list). Raises PolicyError."""
    if stored is None or stored == "":
        return ()
    try:
        data = json.loads(stored) if isinstance(stored, str) else stored
    except ValueError:
        raise PolicyError(_l("This cancellation policy cannot be read."), "cancellation_policy") from None
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise PolicyError(_l("This cancellation policy cannot be read."), "cancellation_policy")
    tiers = []
    for item in data:
        if set(item) - {"hours_before", "refund_percent", "fee_minor"}:
            raise PolicyError(_l("This cancellation policy cannot be read."), "cancellation_policy")
        tiers.append(_tier(item.get("hours_before"), item.get("refund_percent"), item.get("fee_minor")))
    return _checked(tiers)


def serialise(tiers):
    """JSON text for the database, earliest limit first."""
    return json.dumps([tier.as_dict() for tier in _checked(list(tiers))], separators=(",", ":"))


# One tier per line, as people type it: "168 100%", "48 50%", "24 fee 10.00" (any word may name
# the fee: "avgift 10,00", "frais 10"). Hours may be written 168 or 168h, days as 7d.
_LINE = re.compile(
    r"^(?P<amount>\d{1,6})\s*(?P<unit>[hHdD]?)\s+"
    r"(?:(?P<percent>\d{1,3})\s*%|(?P<word>[^\d\s%]+)\s+(?P<fee>[0-9.,]+))$"
)


def parse_text(text, currency):
    """Tiers from the policy editor's text, one per line. Raises PolicyError naming the line."""
    tiers = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = " ".join(raw.split())
        if not line:
            continue
        match = _LINE.match(line)
        if not match:
            raise PolicyError(
                _l("Line %(line)d: write the hours before the start, then a refund such as 50%% "
                   "or a fee such as fee 10.00 (for example: 48 50%%).", line=number),
                "cancellation_policy",
            )
        hours = int(match["amount"]) * (24 if match["unit"].lower() == "d" else 1)
        if match["percent"] is not None:
            tiers.append(_tier(hours, refund_percent=int(match["percent"]), line=number))
            continue
        try:
            fee_minor = parse_major_amount(match["fee"], currency)
        except AmountError as error:
            raise PolicyError(
                _l("Line %(line)d: %(problem)s", line=number, problem=amount_error_message(error, currency)),
                "cancellation_policy",
            ) from None
        tiers.append(_tier(hours, fee_minor=fee_minor, line=number))
    return _checked(tiers)


def to_text(tiers, currency):
    """The editor's text for stored tiers (the inverse of parse_text)."""
    lines = []
    for tier in tiers:
        if tier.refund_percent is not None:
            lines.append(f"{tier.hours_before} {tier.refund_percent}%")
        else:
            word = gettext("fee")  # in the reader's language: the parser takes any one word
            lines.append(f"{tier.hours_before} {word} {to_major(tier.fee_minor, currency)}")
    return "\n".join(lines)


# Applying ---------------------------------------------------------------------------------------


def read(stored):
    """The tiers of a stored policy. One that cannot be read offers no self-service
    cancellation (policies are checked when they are saved, so this is a safeguard)."""
    try:
        return parse(stored)
    except PolicyError:
        return ()


def policy_for(session, settings):
    """The session's own tiers, else the site's default."""
    if session.cancellation_policy is not None:
        return read(session.cancellation_policy)
    return read(settings.cancellation_policy if settings is not None else "[]")


def deadline(tiers, session):
    """The moment self-service cancellation ends; None when the policy offers none."""
    if not tiers:
        return None
    return session.starts_at - timedelta(hours=min(tier.hours_before for tier in tiers))


def tier_at(tiers, session, now):
    """The tier that applies at `now`: the most hours before the start whose limit is still ahead."""
    ahead = [tier for tier in tiers if now < session.starts_at - timedelta(hours=tier.hours_before)]
    return max(ahead, key=lambda tier: tier.hours_before) if ahead else None


def quote(tiers, order, session, now):
    """Whether the order's attendee may cancel at `now`, and what they would get back."""
    tier = tier_at(tiers, session, now)
    if tier is None:
        return Quote(False, 0, deadline(tiers, session), None)
    refundable = max(0, order.total_minor - order.refunded_minor)
    refund = min(max(0, tier.refund_of(order.total_minor)), refundable)
    return Quote(True, refund, deadline(tiers, session), tier)


# Describing -------------------------------------------------------------------------------------


def _before(hours):
    """'7 days' or '48 hours' (whole days from three days on), in the reader's language."""
    if hours >= 72 and hours % 24 == 0:
        return ngettext("%(num)d day", "%(num)d days", hours // 24)
    return ngettext("%(num)d hour", "%(num)d hours", hours)


def _phrase(tier, currency, first):
    before = _before(tier.hours_before)
    if tier.refund_percent == 100:
        if first:
            return gettext("Free cancellation until %(before)s before the start", before=before)
        return gettext("full refund until %(before)s before", before=before)
    if tier.refund_percent == 0:
        return gettext("cancellation without refund until %(before)s before", before=before)
    if tier.refund_percent is not None:
        return gettext("%(percent)d %% refund until %(before)s before",
                       percent=tier.refund_percent, before=before)
    fee = format_money(tier.fee_minor, currency, str(get_locale()))
    return gettext("refund minus a fee of %(fee)s until %(before)s before", fee=fee, before=before)


def describe(tiers, currency):
    """The policy in one sentence, in the current language: 'Free cancellation until 7 days
    before the start; 50 % refund until 48 hours before; no self-service cancellation after that.'"""
    if not tiers:
        return gettext("Self-service cancellation is not offered for this session.")
    parts = [_phrase(tier, currency, index == 0) for index, tier in enumerate(tiers)]
    parts.append(gettext("no self-service cancellation after that."))
    # TRANSLATORS: between the clauses of the cancellation policy's sentence ("; " in English).
    sentence = gettext("; ").join(parts)
    return sentence[0].upper() + sentence[1:]
