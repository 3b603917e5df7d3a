"""The outbox: mail is rendered and queued inside the caller's transaction, delivered after commit.

`queue_mail` only adds a row to the session, so a rolled-back change mails nobody.
`deliver_due` claims queued rows one at a time (SKIP LOCKED on PostgreSQL, so several workers
never send the same message), sends them, and retries failures with exponential backoff.
"""

import base64
import json
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from pathlib import Path
from typing import NamedTuple

from flask import g, render_template
from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow

MAX_BACKOFF = timedelta(hours=6)


def queue_mail(recipient, locale, template, subject, attachments=(), sender=None, **context):
    """Render emails/<template>.txt and .html in the recipient's locale and queue them.

    `subject` is a lazy string, so it is translated here, in the recipient's language.
    `attachments` are (filename, content_type, content) triples: text (an .ics invitation) or
    bytes (stored base64-encoded); or DocumentAttachment, made only when the message is sent.
    `sender` overrides the server's From address (an organisation's own sender).
    """
    with force_locale(locale):
        message = OutboxMessage(
            recipient=recipient,
            sender=sender,
            locale=locale,
            template=template,
            subject=str(subject),
            body_text=render_template(f"emails/{template}.txt", **context),
            body_html=render_template(f"emails/{template}.html", **context),
            attachments=json.dumps([_stored_attachment(*attachment) for attachment in attachments]),
        )
    db.session.add(message)
    g.mail_queued = True  # lets a single-process set-up send it as soon as the request ends
    return message


class DocumentAttachment(NamedTuple):
    """An invoice or credit note, attached as its PDF when the message is sent: rendering it
    (about 0.1 s) is kept out of the payment's transaction, which holds the session's lock and
    the seller's invoice counter, and out of the outbox row."""

    filename: str
    content_type: str
    invoice_id: int


def _stored_attachment(filename, content_type, content):
    """One attachment as JSON: text as it is, bytes base64-encoded (marked by "encoding"), a
    document by its id (rendered when sent)."""
    if isinstance(content, int):
        return {"filename": filename, "content_type": content_type, "invoice_id": content}
    if isinstance(content, (bytes, bytearray)):
        return {"filename": filename, "content_type": content_type, "encoding": "base64",
                "content": base64.b64encode(bytes(content)).decode("ascii")}
    return {"filename": filename, "content_type": content_type, "content": content}


def attachment_bytes(attachment):
    """The bytes of a stored attachment (text is sent as UTF-8)."""
    if "invoice_id" in attachment:
        from app.services.invoice_pdf import render_by_id  # invoices use mail, not the reverse

        return render_by_id(attachment["invoice_id"])
    if attachment.get("encoding") == "base64":
        return base64.b64decode(attachment["content"])
    return attachment["content"].encode()


def backoff(attempts):
    """1, 2, 4, 8 … minutes after each failed attempt, at most six hours."""
    return min(timedelta(minutes=2 ** (attempts - 1)), MAX_BACKOFF)


def deliver_due(transport, sender, max_attempts, limit=50, now=None):
    """Send up to `limit` due messages; returns how many were sent."""
    now = now or utcnow()
    sent = 0
    for _ in range(limit):
        message = db.session.execute(
            select(OutboxMessage)
            .where(OutboxMessage.state == "queued", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if message is None:
            break
        message.attempts += 1
        try:
            transport.send(to_email(message, sender))
        except (OSError, smtplib.SMTPException) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= max_attempts:
                message.state = "failed"
            else:
                message.next_attempt_at = now + backoff(message.attempts)
        else:
            message.state = "sent"
            message.sent_at = now
            message.last_error = None
            sent += 1
        db.session.commit()
    return sent


def to_email(message, sender):
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = message.sender or sender
    email["To"] = message.recipient
    email["Date"] = rfc2822_date(message.created_at)
    email["Message-ID"] = message_id(message)
    email.set_content(message.body_text)
    email.add_alternative(message.body_html, subtype="html")
    for attachment in json.loads(message.attachments or "[]"):
        maintype, subtype = attachment["content_type"].split("/", 1)
        email.add_attachment(
            attachment_bytes(attachment), maintype=maintype, subtype=subtype,
            filename=attachment["filename"],
        )
    email["Content-Language"] = message.locale  # last: set_content would have dropped it
    return email


def message_id(message):
    """The same on every attempt: a message sent again because the server's answer was lost
    (or the worker died before recording it) can be recognised as the same message."""
    return f"<outbox-{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@lectern.localhost>"


class FileTransport:
    """Writes each message as an .eml file, so a developer can read what was sent."""

    def __init__(self, directory):
        self.directory = Path(directory)

    def send(self, email):
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        safe_to = "".join(c if c.isalnum() or c in "@.-_" else "_" for c in email["To"])
        path = self.directory / f"{stamp}-{safe_to}.eml"
        path.write_bytes(bytes(email))


class SmtpTransport:
    def __init__(self, host, port, timeout, starttls=False, username="", password=""):
        self.host, self.port, self.timeout = host, port, timeout
        self.starttls, self.username, self.password = starttls, username, password

    def send(self, email):
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(email)


def transport_from_config(config):
    if config["MAIL_TRANSPORT"] == "file":
        return FileTransport(config["MAIL_FILE_DIR"])
    if config["MAIL_TRANSPORT"] == "smtp":
        return SmtpTransport(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            config["MAIL_TIMEOUT"],
            starttls=config["MAIL_USE_STARTTLS"],
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
        )
    raise ValueError(f"unknown LECTERN_MAIL_TRANSPORT {config['MAIL_TRANSPORT']!r}")


def deliver_with_config(config, limit=50):
    return deliver_due(
        transport_from_config(config),
        sender=config["MAIL_DEFAULT_SENDER"],
        max_attempts=config["MAIL_MAX_ATTEMPTS"],
        limit=limit,
    )
