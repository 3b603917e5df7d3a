"""The emails an order sends its buyer: confirmation (with .ics), bank details, refunds."""

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.models.base import utcnow
from app.services import invoice_pdf
from app.services.calendar import session_ics
from app.services.mail import queue_mail
from app.services.order_links import make_order_token


def order_url(order):
    from app.web import external_url

    token = make_order_token(order, current_app.config["SECRET_KEY"])
    return external_url("checkout.receipt", token=token)


def _session_url(session):
    from app.web import external_url

    return external_url("scheduling.public_page", slug=session.slug)


def local_time(moment, locale, zone):
    """'Tuesday 15 January 2030, 09:00 (Europe/Stockholm)': a moment for an email, its zone named."""
    return f"{format_datetime(moment, 'full', tzinfo=ZoneInfo(zone), locale=locale)} ({zone})"


def session_time(session, locale, timezone=None):
    """The session's start in the reader's zone, or the session's own when the reader's is
    not known."""
    return local_time(session.starts_at, locale, timezone or session.timezone)


def queue_registration_confirmed(registration):
    """The confirmation carries the attendee's personal link into the room, made now: its
    token exists only in this email."""
    from app.services.cancellations import new_cancel_link
    from app.services.invitations import new_invitation
    from app.web import external_url

    session, order = registration.session, registration.order
    session_url = _session_url(session)
    invitation, token = new_invitation(session, registration.name, registration.email, registration)
    invitation.sent_at = utcnow()
    ics = session_ics(
        session, registration.id, session_url, urlsplit(current_app.config["EXTERNAL_URL"]).hostname
    )
    queue_mail(
        registration.email,
        registration.locale,
        "registration_confirmed",
        subject=_l("You are registered: %(title)s", title=session.title),
        attachments=[("session.ics", "text/calendar", ics), *invoice_pdf.order_attachments(order)],
        registration=registration,
        session=session,
        order=order,
        when=session_time(session, registration.locale, registration.timezone),
        session_url=session_url,
        order_url=order_url(order),
        join_url=external_url("join.personal_link", token=token),
        join_opens_minutes=current_app.config["JOIN_OPENS_MINUTES_BEFORE"],
        cancel_url=new_cancel_link(registration),  # None when the policy offers no self-service
    )


def queue_bank_transfer_instructions(order):
    from app.services.commerce import settings_for

    queue_mail(
        order.buyer_email,
        order.locale,
        "bank_transfer_instructions",
        subject=_l("How to pay order %(code)s", code=order.code),
        order=order,
        bank_details=settings_for(order.organization).bank_transfer_details,
        order_url=order_url(order),
    )


def queue_refund_notice(order, amount_minor, credit_note=None):
    """`credit_note`: the refund's credit note (an Invoice), attached as a PDF."""
    queue_mail(
        order.buyer_email,
        order.locale,
        "refund_issued",
        subject=_l("Refund for order %(code)s", code=order.code),
        attachments=[invoice_pdf.attachment(credit_note)] if credit_note is not None else [],
        order=order,
        amount_minor=amount_minor,
        order_url=order_url(order),
    )


def queue_session_canceled(registration):
    session = registration.session
    queue_mail(
        registration.email,
        registration.locale,
        "session_canceled",
        subject=_l("Canceled: %(title)s", title=session.title),
        registration=registration,
        session=session,
        when=session_time(session, registration.locale, registration.timezone),
    )
