"""Email invitations to a session ("campaigns"): one message per recipient, in their language.

A campaign is sent in one transaction: the campaign row, for a free session a personal link per
recipient, and one outbox message per recipient. For a paid session nobody gets a personal link
(an invitation is never a free pass): {link} is the session's registration page.

Progress comes from the campaign's outbox rows (outbox_messages.campaign_id): the newest message
to each address counts. Nothing is resent by itself: `resend_failed` queues a fresh copy only of
the messages that failed.
"""

import re
from dataclasses import dataclass
from email.headerregistry import Address
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime
from flask import current_app, g
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import Invitation, InvitationCampaign, OutboxMessage, Subscriber, SubscriberList
from app.models.base import utcnow
from app.services import subscribers
from app.services.invitations import NAME_WITH_EMAIL, new_invitation
from app.services.mail import queue_mail
from app.web import external_url
from app.services.errors import ServiceError

TEMPLATE = "invitation"
PLACEHOLDERS = ("name", "title", "time", "link", "password")
# Exactly {name}, {title}, … — anything else ({foo}, {name.__class__}, {0}) is left as written.
PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
URL = re.compile(r"https?://[^\s<>\"']+")
MAX_RECIPIENTS = 10_000
CLOSED_STATES = ("ended", "canceled")


class CampaignError(ServiceError):
    """An invitation email cannot be sent as asked."""


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str
    locale: str
    timezone: str
    subscriber_id: int | None = None


@dataclass(frozen=True)
class Progress:
    queued: int = 0
    sent: int = 0
    failed: int = 0

    @property
    def total(self):
        return self.queued + self.sent + self.failed

    @property
    def in_progress(self):
        return self.queued > 0


# Text ---------------------------------------------------------------------------------------


def fill_placeholders(text, values):
    """Replace {name} {title} {time} {link} {password}; leave every other brace as it is.

    One pass with a fixed pattern, never str.format: a value is not scanned again, and no
    attribute or index lookup ({name.__class__}, {name[0]}) is ever evaluated.
    """
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text or "")


def text_to_html(text):
    """Plain text as HTML: escaped, line breaks kept, web addresses clickable."""
    text = text or ""
    parts, position = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        parts.append(escape(text[position:match.start()]))
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return Markup("").join(parts).replace("\n", Markup("<br>\n"))


def format_start(session, locale, zone):
    """'Tuesday, March 5, 2030, 4:00 AM (Eastern Standard Time)' in that language and zone."""
    language = Locale.parse(locale)
    pattern = (
        str(language.datetime_formats["full"])
        .replace("{1}", language.date_formats["full"].pattern)
        .replace("{0}", language.time_formats["short"].pattern)
    )
    return format_datetime(session.starts_at, pattern + " (zzzz)", tzinfo=ZoneInfo(zone), locale=language)


def sender_of(organization):
    """'Name <email>' from the organisation's sender settings, or None for the server's own."""
    if not organization.sender_email:
        return None
    try:
        sender = str(Address(display_name=organization.sender_name or organization.name,
                             addr_spec=organization.sender_email))
    except (ValueError, IndexError):
        return None
    return sender if len(sender) <= 300 else organization.sender_email


def one_line(text):
    return " ".join((text or "").split())


# Recipients ---------------------------------------------------------------------------------


def parse_addresses(text):
    """'Name <email>' or a bare address per line. Returns ([(name, email)], [(line, reason)])."""
    people, problems = [], []
    for number, raw in enumerate((text or "").splitlines(), 1):
        line = " ".join(raw.split())
        if not line:
            continue
        match = NAME_WITH_EMAIL.match(line)
        name, address = (match["name"].strip(), match["email"]) if match else ("", line)
        email = subscribers.normalize_email(address)
        if email is None:
            problems.append((number, _l("“%(line)s” is not a name with an email address.", line=line[:80])))
            continue
        people.append((name.strip('"').strip() or email, email))
    return people, problems


def recipients_for(organization, subscriber_list=None, pasted=""):
    """Everyone to invite: the list's subscribers, then the pasted people, each email once.

    Returns (recipients, problems, skipped): problems of the pasted lines as (line, reason);
    skipped counts people left out because they unsubscribed (from any of the site's lists).
    A pasted address that is on one of the site's lists gets that subscriber's language,
    zone and unsubscribe link; others get the organisation's language and zone.
    """
    unsubscribed = subscribers.unsubscribed_emails(organization)
    known = {}
    for subscriber in db.session.scalars(
        select(Subscriber)
        .join(SubscriberList, SubscriberList.id == Subscriber.list_id)
        .where(SubscriberList.organization_id == organization.id, Subscriber.unsubscribed_at.is_(None))
        .order_by(Subscriber.id)
    ):
        known.setdefault(subscriber.email, subscriber)

    recipients, seen, skipped = [], set(), 0

    def add(name, email, subscriber):
        nonlocal skipped
        if email in seen:
            return
        seen.add(email)
        if email in unsubscribed:
            skipped += 1
            return
        if subscriber is not None:
            recipients.append(Recipient(name, email, subscriber.locale,
                                        subscriber.timezone or organization.timezone, subscriber.id))
        else:
            recipients.append(Recipient(name, email, organization.locale, organization.timezone))

    if subscriber_list is not None:
        for subscriber in subscribers.subscribers_of(subscriber_list):
            if subscriber.unsubscribed_at is None:
                add(subscriber.name, subscriber.email, subscriber)
            elif subscriber.email not in seen:
                seen.add(subscriber.email)
                skipped += 1
    people, problems = parse_addresses(pasted)
    for name, email in people:
        add(name, email, known.get(email))
    return recipients, problems, skipped


# Rendering ----------------------------------------------------------------------------------


def _values(session, recipient, link, password):
    return {
        "name": recipient.name,
        "title": session.title,
        "time": format_start(session, recipient.locale, recipient.timezone),
        "link": link,
        "password": password or "",
    }


def render_message(session, recipient, subject, body, link, password=""):
    """(subject, body) for one recipient."""
    values = _values(session, recipient, link, password)
    return one_line(fill_placeholders(subject, values))[:300], fill_placeholders(body, values)


def registration_url(session):
    return external_url("scheduling.register", slug=session.slug)


def unsubscribe_url(recipient):
    if recipient.subscriber_id is None:
        return None
    subscriber = db.session.get(Subscriber, recipient.subscriber_id)
    token = subscribers.unsubscribe_token(subscriber, current_app.config["SECRET_KEY"])
    return external_url("invitations.unsubscribe", token=token, lang=subscriber.locale)


@dataclass(frozen=True)
class Preview:
    recipient: Recipient
    subject: str
    body: str
    signature: str
    unsubscribe_url: str | None
    personal_links: bool  # True: {link} stands for a link each recipient gets when it is sent


def preview(session, organization, recipients, subject, body, password=""):
    """The message as the first recipient would get it; nothing is written or sent."""
    if not recipients:
        raise CampaignError(_l("Choose a subscriber list or add recipients."), "recipients")
    first = recipients[0]
    if session.is_paid:
        link = registration_url(session)
    else:
        with force_locale(first.locale):
            link = str(_l("[a personal link, made for each recipient when sending]"))
    shown_subject, shown_body = render_message(session, first, subject, body, link, password)
    return Preview(first, shown_subject, shown_body, organization.signature, unsubscribe_url(first),
                   not session.is_paid)


# Sending ------------------------------------------------------------------------------------


def check_can_send(session, recipients, body, password):
    if session.state in CLOSED_STATES:
        raise CampaignError(_l("This session has ended or was canceled; invitations can no longer be sent."))
    if not recipients:
        raise CampaignError(_l("Choose a subscriber list or add recipients."), "recipients")
    if len(recipients) > MAX_RECIPIENTS:
        raise CampaignError(
            _l("Send to at most %(num)d people at a time.", num=MAX_RECIPIENTS), "recipients"
        )
    if "{password}" in (body or "") and not password:
        raise CampaignError(
            _l("The message uses {password}: type the room password to include."), "password"
        )


def send_campaign(session, user, recipients, subject, body, password="", now=None):
    """Queue one invitation email per recipient, in one transaction; returns the campaign."""
    check_can_send(session, recipients, body, password)
    now = now or utcnow()
    organization = session.organization
    sender = sender_of(organization)
    campaign = InvitationCampaign(
        session_id=session.id, subject=one_line(subject)[:300], body=body,
        created_by_id=user.id if user else None, created_at=now,
    )
    db.session.add(campaign)
    db.session.flush()
    linked = []  # (invitation, message): tied together once the messages have ids
    for recipient in recipients:
        invitation = None
        if session.is_paid:
            link = registration_url(session)
        else:
            invitation, token = new_invitation(session, recipient.name, recipient.email, campaign=campaign)
            link = external_url("join.personal_link", token=token)
        message_subject, message_body = render_message(session, recipient, subject, body, link, password)
        message = queue_mail(
            recipient.email, recipient.locale, TEMPLATE, message_subject, sender=sender,
            body=message_body, body_html=text_to_html(message_body),
            signature=organization.signature, signature_html=text_to_html(organization.signature),
            unsubscribe_url=unsubscribe_url(recipient), organization=organization,
        )
        message.campaign_id = campaign.id
        if invitation is not None:
            linked.append((invitation, message))
    db.session.flush()
    for invitation, message in linked:
        invitation.outbox_message_id = message.id
        invitation.sent_at = now
    db.session.commit()
    return campaign


def _latest_message_ids(campaign):
    """The newest of the campaign's messages to each address (a resend replaces a failure)."""
    return (
        select(func.max(OutboxMessage.id))
        .where(OutboxMessage.campaign_id == campaign.id)
        .group_by(OutboxMessage.recipient)
    )


def progress(campaign):
    counts = dict(db.session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.id.in_(_latest_message_ids(campaign)))
        .group_by(OutboxMessage.state)
    ).all())
    return Progress(counts.get("queued", 0), counts.get("sent", 0), counts.get("failed", 0))


def _copy(message):
    copy = OutboxMessage(
        recipient=message.recipient, sender=message.sender, locale=message.locale,
        template=message.template, subject=message.subject, body_text=message.body_text,
        body_html=message.body_html, attachments=message.attachments,
        campaign_id=message.campaign_id,
    )
    db.session.add(copy)
    return copy


def resend_failed(campaign, now=None):
    """Queue the same message again for each recipient whose message failed; returns how many.

    Queued messages are left to the sender's own retries, sent ones are never repeated, and
    people who have unsubscribed since, or whose link was revoked, are skipped.
    """
    now = now or utcnow()
    unsubscribed = subscribers.unsubscribed_emails(campaign.session.organization)
    links = {
        invitation.outbox_message_id: invitation
        for invitation in db.session.scalars(
            select(Invitation).where(Invitation.campaign_id == campaign.id)
        )
    }
    count = 0
    failed = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(_latest_message_ids(campaign)), OutboxMessage.state == "failed")
        .order_by(OutboxMessage.id)
    ).all()
    for message in failed:
        invitation = links.get(message.id)
        if message.recipient in unsubscribed or (invitation and invitation.revoked_at):
            continue
        copy = _copy(message)
        if invitation is not None:
            db.session.flush()
            invitation.outbox_message_id = copy.id
            invitation.sent_at = now
        count += 1
    db.session.commit()
    if count:
        g.mail_queued = True  # a single-process set-up sends them after the request
    return count


def campaigns_of(session):
    """[(campaign, progress)] of the session, newest first."""
    found = db.session.scalars(
        select(InvitationCampaign)
        .where(InvitationCampaign.session_id == session.id)
        .order_by(InvitationCampaign.created_at.desc(), InvitationCampaign.id.desc())
    ).all()
    return [(campaign, progress(campaign)) for campaign in found]
