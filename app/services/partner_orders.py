"""Partner orders: placing one, sending "Set up now" on the start date, escalating when
nobody starts, and the signed, expiring setup links.

A setup link carries the order and whom it was given to ("contact", "colleague" or
"customer"), signed with the site's secret; nothing about it is stored, so resending simply
mails a fresh one. Dispatch and escalation change an order's state under its row lock before
queuing the email in the same transaction, so running them twice sends nothing twice. On
several machines at once, each skips the orders another holds (services/claims.py).
"""

import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Organization, PartnerOrder
from app.models.base import utcnow
from app.services import plan_catalog
from app.services.accounts import find_user_by_email
from app.services.claims import claim_row
from app.services.errors import ServiceError
from app.services.locks import lock_row
from app.services.mail import queue_mail
from app.services.plan_pricing import MAX_LICENSES

SETUP_SALT = "lectern.partner-setup"
HANDOFFS = ("contact", "colleague", "customer")
AWAITING_SETUP = ("placed", "setup_sent")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class PartnerOrderError(ServiceError):
    """A partner order cannot be placed or its setup link cannot be used as asked."""


def may_place_orders(user):
    """Users of a partner organisation order for their customers; the operator's
    administrators order for partners (a new partner's first order, say)."""
    return user.organization.kind == "partner" or (user.is_admin and user.organization.is_operator)


@dataclass(frozen=True)
class OrderRequest:
    plan_code: str
    cycle: str
    licenses: int
    add_on_codes: tuple
    customer_name: str
    requested_start_on: date
    contact_email: str
    partner_name: str = ""  # the operator's desk: a partner not on the portal yet
    partner_organization_id: int | None = None  # the operator's desk: an existing partner


def place_order(user, request, today):
    """Record the order; its "Set up now" email goes out on the requested start date."""
    if not may_place_orders(user):
        raise PermissionError("only partners and the operator place partner orders")
    plan = plan_catalog.plan_on_sale(request.plan_code)
    if plan is None:
        raise PartnerOrderError(_l("This plan is no longer on sale. Please choose another plan."), "plan")
    if request.cycle not in ("monthly", "annual"):
        raise PartnerOrderError(_l("Choose monthly or annual renewal."), "cycle")
    if not 1 <= request.licenses <= MAX_LICENSES:
        raise PartnerOrderError(_l("Enter a number of licenses between 1 and %(max)s.", max=MAX_LICENSES), "licenses")
    add_ons = plan_catalog.add_ons_by_code(request.add_on_codes)
    if len(add_ons) != len(set(request.add_on_codes)):
        raise PartnerOrderError(_l("An add-on you chose is no longer on sale. Please check your choice."),
                                "add_ons")
    if request.requested_start_on < today:
        raise PartnerOrderError(_l("The start date cannot be in the past."), "requested_start_on")
    partner, partner_name = _partner_of(user, request)
    order = PartnerOrder(
        code=_new_code(), partner=partner, partner_name=partner_name, placed_by=user, plan=plan,
        cycle=request.cycle, licenses=request.licenses, add_on_codes="\n".join(sorted(add_ons)),
        customer_name=request.customer_name.strip(), requested_start_on=request.requested_start_on,
        contact_email=request.contact_email.strip().lower(), state="placed",
    )
    db.session.add(order)
    db.session.commit()
    return order


def _partner_of(user, request):
    if user.organization.kind == "partner":
        return user.organization, user.organization.name
    if request.partner_organization_id:
        partner = db.session.get(Organization, request.partner_organization_id)
        if partner is None or partner.kind != "partner":
            raise PartnerOrderError(_l("Choose a partner from the list."), "partner_organization_id")
        return partner, partner.name
    if not request.partner_name.strip():
        raise PartnerOrderError(_l("Choose a partner, or enter the name of a new one."), "partner_name")
    return None, request.partner_name.strip()


def _new_code():
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def orders_for(user):
    """The orders a user may see: their partner organisation's, or all of them for the operator."""
    query = select(PartnerOrder).order_by(PartnerOrder.requested_start_on.desc(), PartnerOrder.id.desc())
    if user.organization.kind == "partner":
        query = query.where(PartnerOrder.partner_organization_id == user.organization_id)
    elif not (user.is_admin and user.organization.is_operator):
        return []
    return db.session.scalars(query).all()


def order_visible_to(user, order_id):
    order = db.session.get(PartnerOrder, order_id)
    if order is None:
        return None
    if user.is_admin and user.organization.is_operator:
        return order
    return order if order.partner_organization_id == user.organization_id else None


def partner_organizations():
    return db.session.scalars(
        select(Organization).where(Organization.kind == "partner").order_by(Organization.name)
    ).all()


# Setup links -----------------------------------------------------------------------------------


def _serializer(secret_key):
    return URLSafeTimedSerializer(secret_key, salt=SETUP_SALT)


def make_setup_token(order, secret_key, handoff="contact", email=None):
    return _serializer(secret_key).dumps(
        {"o": order.id, "c": order.code, "h": handoff, "e": (email or order.contact_email).lower()}
    )


@dataclass(frozen=True)
class SetupLink:
    order: PartnerOrder
    handoff: str  # "contact" | "colleague" | "customer"
    email: str  # whom the link was sent to


def read_setup_token(token, secret_key, max_age_seconds):
    """The link's order and recipient; PartnerOrderError("expired" | "invalid") otherwise."""
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age_seconds)
    except SignatureExpired as error:
        raise PartnerOrderError(_l("This setup link has expired."), "expired") from error
    except (BadSignature, ValueError, TypeError) as error:
        raise PartnerOrderError(_l("This setup link is not valid."), "invalid") from error
    order = db.session.get(PartnerOrder, data.get("o")) if isinstance(data, dict) else None
    if order is None or order.code != data.get("c") or data.get("h") not in HANDOFFS:
        raise PartnerOrderError(_l("This setup link is not valid."), "invalid")
    return SetupLink(order, data["h"], data.get("e", ""))


def send_setup_link(order, link_for, handoff="contact", email=None, locale="en"):
    """Queue a "Set up now" email (in the caller's transaction). `link_for(order, handoff,
    email)` makes the link's URL (see make_setup_token)."""
    recipient = (email or order.contact_email).lower()
    queue_mail(recipient, locale, "partner_order",
               subject=_l("Set up %(customer)s on Lectern", customer=order.customer_name),
               kind="setup_link", order=order, setup_url=link_for(order, handoff, recipient), handoff=handoff)


def resend_setup_link(order, link_for, locale="en"):
    """The partner (or the expired-link page) asks for a fresh link to the contact."""
    order = lock_row(PartnerOrder, order.id)
    if order.state not in AWAITING_SETUP:
        db.session.rollback()
        raise PartnerOrderError(_l("This order has already been set up."))
    send_setup_link(order, link_for)
    if order.state == "placed":
        order.state, order.setup_sent_at = "setup_sent", utcnow()
    db.session.commit()


def request_new_link(code, email, link_for):
    """From the expired-link page: a fresh link goes to the order's contact, only if the
    code and the contact's address match (answered the same either way, so nothing leaks)."""
    order = db.session.scalars(select(PartnerOrder).where(PartnerOrder.code == (code or "").strip().upper())).first()
    if order is None or order.contact_email != (email or "").strip().lower() or order.state not in AWAITING_SETUP:
        return False
    resend_setup_link(order, link_for)
    return True


# Dispatch and escalation -----------------------------------------------------------------------


@dataclass
class DispatchResult:
    sent: int = 0
    escalated: int = 0


def dispatch(link_for, representative_email, now=None):
    """Send "Set up now" for orders whose start date has come, and alert the representative
    once about orders nobody has set up a day after their start date. Idempotent."""
    now = now or utcnow()
    today = now.date()
    result = DispatchResult()
    due = db.session.scalars(
        select(PartnerOrder.id).where(PartnerOrder.state == "placed", PartnerOrder.requested_start_on <= today)
    ).all()
    for order_id in due:
        order = claim_row(PartnerOrder, order_id)
        if order is None or order.state != "placed":
            db.session.rollback()
            continue
        send_setup_link(order, link_for)
        order.state, order.setup_sent_at = "setup_sent", now
        db.session.commit()
        result.sent += 1
    late = db.session.scalars(
        select(PartnerOrder.id).where(
            PartnerOrder.state.in_(AWAITING_SETUP),
            PartnerOrder.escalated.is_(False),
            PartnerOrder.requested_start_on <= today - timedelta(days=1),
        )
    ).all()
    for order_id in late:
        order = claim_row(PartnerOrder, order_id)
        if order is None or order.escalated or order.state not in AWAITING_SETUP:
            db.session.rollback()
            continue
        order.escalated, order.escalated_at = True, now
        queue_mail(representative_email, "en", "partner_order",
                   subject=_l("Partner order %(code)s has not been set up", code=order.code),
                   kind="escalation", order=order, setup_url="", handoff="contact")
        db.session.commit()
        result.escalated += 1
    return result


def representative_email(default):
    """The operator's account representative (Manage plans → settings), else the server's."""
    operator = db.session.scalars(select(Organization).where(Organization.is_operator.is_(True))).first()
    return (operator.account_representative_email if operator else "") or default


def user_in_other_organization(email, organization_id=None):
    """The user with this email when they belong to an organisation other than the one given."""
    user = find_user_by_email(email or "")
    if user is None or user.organization_id == organization_id:
        return None
    return user

