"""The outbox: queued with the change, delivered over real SMTP after commit, retried, never twice."""

from datetime import timedelta

import pytest
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import OutboxMessage
from app.models.base import utcnow
from app.services import mail
from tests import factories
from tests.fakes.smtp import FakeSmtpServer
from tests.i18n_helpers import translated


@pytest.fixture
def smtp():
    with FakeSmtpServer() as server:
        yield server


def smtp_transport(smtp):
    return mail.SmtpTransport("127.0.0.1", smtp.port, timeout=5)


def queue_reset_mail(user, locale="en"):
    mail.queue_mail(
        user.email, locale, "password_reset", subject=_l("Reset your Lectern password"),
        user=user, reset_url="http://localhost/reset", valid_hours=1,
    )


def test_queued_mail_is_rendered_in_the_recipients_language_with_text_and_html(app, smtp):
    user = factories.make_user(name="Greta")
    queue_reset_mail(user, locale="sv")
    db.session.commit()

    sent = mail.deliver_due(smtp_transport(smtp), sender="Lectern <no-reply@example.com>", max_attempts=3)

    assert sent == 1
    [email] = smtp.messages
    assert email["Subject"] == translated("sv", "Reset your Lectern password")
    assert email["To"] == user.email
    text = email.get_body(("plain",)).get_content()
    html = email.get_body(("html",)).get_content()
    assert translated("sv", "Hello %(name)s,", name="Greta") in text
    assert '<html lang="sv">' in html and "http://localhost/reset" in html


def test_mail_queued_in_a_rolled_back_change_is_never_sent(app, smtp):
    queue_reset_mail(factories.make_user())
    db.session.rollback()

    assert mail.deliver_due(smtp_transport(smtp), sender="x@example.com", max_attempts=3) == 0
    assert smtp.messages == []


def test_a_refused_message_is_retried_later_with_backoff_and_then_sent_once(app, smtp):
    queue_reset_mail(factories.make_user())
    db.session.commit()
    smtp.handler.refuse = True
    now = utcnow()

    assert mail.deliver_due(smtp_transport(smtp), "x@example.com", 5, now=now) == 0
    message = db.session.query(OutboxMessage).one()
    assert (message.state, message.attempts) == ("queued", 1)
    assert message.next_attempt_at == now + timedelta(minutes=1)
    assert "451" in message.last_error

    smtp.handler.refuse = False
    assert mail.deliver_due(smtp_transport(smtp), "x@example.com", 5, now=now) == 0  # not due yet
    later = now + timedelta(minutes=2)
    assert mail.deliver_due(smtp_transport(smtp), "x@example.com", 5, now=later) == 1
    assert mail.deliver_due(smtp_transport(smtp), "x@example.com", 5, now=later) == 0
    assert len(smtp.messages) == 1
    assert db.session.query(OutboxMessage).one().state == "sent"


def test_a_server_that_is_down_counts_as_a_failed_attempt(app):
    queue_reset_mail(factories.make_user())
    db.session.commit()
    unreachable = mail.SmtpTransport("127.0.0.1", 1, timeout=2)

    mail.deliver_due(unreachable, "x@example.com", max_attempts=1)

    message = db.session.query(OutboxMessage).one()
    assert (message.state, message.attempts) == ("failed", 1)
    assert "Connection refused" in message.last_error or "Errno" in message.last_error


@pytest.mark.parametrize("attempts,minutes", [(1, 1), (2, 2), (3, 4), (6, 32), (20, 360)])
def test_backoff_doubles_up_to_six_hours(attempts, minutes):
    assert mail.backoff(attempts) == timedelta(minutes=minutes)


def test_the_file_transport_writes_readable_eml_files(app, tmp_path):
    user = factories.make_user()
    queue_reset_mail(user)
    db.session.commit()

    mail.deliver_due(mail.FileTransport(tmp_path), "Lectern <x@example.com>", max_attempts=3)

    [eml] = list(tmp_path.glob("*.eml"))
    content = eml.read_text()
    assert f"To: {user.email}" in content and "Subject: Reset your Lectern password" in content


def test_flask_mail_send_delivers_the_queue_over_smtp(app, smtp):
    app.config.update(MAIL_TRANSPORT="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    queue_reset_mail(factories.make_user())
    queue_reset_mail(factories.make_user())
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["mail", "send"])

    assert result.exit_code == 0, result.output
    assert "sent 2 message(s)" in result.output
    assert len(smtp.messages) == 2


def test_delivered_mail_says_which_language_it_is_in(app, smtp):
    queue_reset_mail(factories.make_user(), locale="ru")
    db.session.commit()

    mail.deliver_due(smtp_transport(smtp), "x@example.com", 3)

    assert smtp.messages[0]["Content-Language"] == "ru"
