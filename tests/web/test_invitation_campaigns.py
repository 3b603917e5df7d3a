"""Email invitations: written once, sent to each recipient in their language and time zone,
with a personal link for free sessions and the registration page for paid ones; progress from
the outbox, delivery over SMTP, and resending only what failed."""

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, InvitationCampaign, OutboxMessage, Subscriber, SubscriberList
from app.models.base import utcnow
from app.services import mail
from app.services.invitations import hash_token
from tests import factories
from tests.fakes.smtp import FakeSmtpServer

STARTS = datetime(2031, 3, 4, 14, 0, tzinfo=timezone.utc)  # a Tuesday; 9:00 in New York, 15:00 in Stockholm
SENDER = "Acme Training <training@acme.example>"
PERSONAL_LINK = re.compile(r"http://localhost/j/([A-Za-z0-9_-]+)")


@pytest.fixture
def host(csrf_client):
    organization = factories.make_organization(
        name="Acme", locale="fr", timezone="Europe/Stockholm", sender_name="Acme Training",
        sender_email="training@acme.example", signature="Acme Training AB\nStockholm",
    )
    user = factories.make_user(organization, role="host", locale="en")
    csrf_client.sign_in(user)
    return user


@pytest.fixture
def customers(host):
    """Ada (English, New York), Greta (Swedish, the organisation's zone), Boris (unsubscribed)."""
    subscriber_list = SubscriberList(organization_id=host.organization_id, name="Customers")
    db.session.add(subscriber_list)
    db.session.flush()
    db.session.add_all([
        Subscriber(list_id=subscriber_list.id, name="Ada", email="ada@example.com", locale="en",
                   timezone="America/New_York"),
        Subscriber(list_id=subscriber_list.id, name="Greta", email="greta@example.com", locale="sv"),
        Subscriber(list_id=subscriber_list.id, name="Boris", email="boris@example.com", locale="ru",
                   unsubscribed_at=utcnow()),
    ])
    db.session.commit()
    return subscriber_list


def session_of(host, **fields):
    return factories.make_session(host, starts_at=STARTS, title="Excel for managers", **fields)


def form(subscriber_list=None, **changes):
    data = {
        "subscriber_list": str(subscriber_list.id) if subscriber_list else "",
        "recipients": "",
        "subject": "Invitation: {title}",
        "body": "Hello {name},\n{title} starts {time}.\nJoin: {link}",
        "password": "",
        "action": "send",
    }
    data.update(changes)
    return data


def url(session):
    return f"/sessions/{session.id}/invitations/email"


def by_recipient(messages):
    return {m.recipient: m for m in messages}


def text(response):
    return response.get_data(as_text=True)


# Sending ------------------------------------------------------------------------------------


def test_a_free_session_invitation_goes_to_each_recipient_in_their_language_with_a_personal_link(
        csrf_client, host, customers, outbox):
    session = session_of(host)

    response = csrf_client.post(url(session), form(customers, recipients="Pierre Dupont <PIERRE@example.com>"))

    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    assert response.status_code == 302
    assert response.location.endswith(f"/sessions/{session.id}/invitations/email/{campaign.id}")
    messages = by_recipient(outbox())
    assert set(messages) == {"ada@example.com", "greta@example.com", "pierre@example.com"}  # not Boris
    assert {m.locale for m in messages.values()} == {"en", "sv", "fr"}
    assert messages["ada@example.com"].locale == "en" and messages["pierre@example.com"].locale == "fr"
    assert {m.sender for m in messages.values()} == {SENDER}
    assert {m.subject for m in messages.values()} == {"Invitation: Excel for managers"}
    assert {m.template for m in messages.values()} == {"invitation"}

    ada, greta, pierre = (messages[e].body_text for e in ("ada@example.com", "greta@example.com", "pierre@example.com"))
    assert ada.startswith("Hello Ada,\nExcel for managers starts Tuesday, March 4, 2031, 9:00\u202fAM (Eastern Standard Time).")
    assert "tisdag 4 mars 2031 15:00" in greta  # Swedish, the organisation's zone
    assert "mardi 4 mars 2031, 15:00" in pierre  # pasted: the organisation's language and zone
    assert "Hello Pierre Dupont," in pierre
    assert all("Acme Training AB\nStockholm" in body for body in (ada, greta, pierre))

    invitations = db.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    assert len(invitations) == 3
    for invitation in invitations:
        message = messages[invitation.email]
        [token] = PERSONAL_LINK.findall(message.body_text)
        assert hash_token(token) == invitation.token_hash
        assert (invitation.campaign_id, invitation.outbox_message_id) == (campaign.id, message.id)
        assert invitation.sent_at is not None and invitation.session_id == session.id
    assert len({i.token_hash for i in invitations}) == 3


def test_subscribers_get_a_working_unsubscribe_link_and_are_skipped_afterwards(
        csrf_client, host, customers, outbox):
    session = session_of(host)
    csrf_client.post(url(session), form(customers, recipients="Pierre <pierre@example.com>"))
    messages = by_recipient(outbox())
    [link] = re.findall(r"http://localhost(/unsubscribe/[^\s?]+)\?lang=en", messages["ada@example.com"].body_text)
    assert "/unsubscribe/" in messages["ada@example.com"].body_html
    assert "/unsubscribe/" not in messages["pierre@example.com"].body_text  # not on any list

    csrf_client.post(link, page=link)
    csrf_client.post(url(session), form(customers, recipients="Ada <ada@example.com>\nPierre <pierre@example.com>"))

    later = [m.recipient for m in outbox()[3:]]
    assert sorted(later) == ["greta@example.com", "pierre@example.com"]  # Ada, listed or pasted, is left out


def test_an_invitation_to_a_paid_session_links_to_its_registration_page_and_is_no_free_pass(
        csrf_client, host, customers, outbox):
    session = session_of(host, fee_minor=4900)

    response = csrf_client.post(url(session), form(customers))

    assert response.status_code == 302
    messages = outbox()
    assert len(messages) == 2
    for message in messages:
        assert f"http://localhost/s/{session.slug}/register" in message.body_text
        assert "/j/" not in message.body_text and "/j/" not in message.body_html
    assert db.session.query(Invitation).count() == 0
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    progress = csrf_client.client.get(f"{url(session)}/{campaign.id}", headers={"HX-Request": "true"})
    assert re.search(r'data-count="queued">2<', text(progress))


def test_the_html_email_escapes_the_message_and_makes_the_link_clickable(csrf_client, host, customers, outbox):
    session = session_of(host)

    csrf_client.post(url(session), form(customers, body="<b>Hi</b> {name}\nJoin: {link}"))

    html = by_recipient(outbox())["ada@example.com"].body_html
    [token] = PERSONAL_LINK.findall(html)[:1]
    assert "&lt;b&gt;Hi&lt;/b&gt; Ada<br>" in html and "<b>Hi</b>" not in html
    assert f'<a href="http://localhost/j/{token}">http://localhost/j/{token}</a>' in html
    assert "Acme Training AB<br>" in html


# Placeholders -------------------------------------------------------------------------------


def test_unknown_placeholders_and_attribute_lookups_are_left_as_written(csrf_client, host, customers, outbox):
    session = session_of(host)
    body = "{foo} {name.__class__} {name[0]} {0} {{name}} {name}"

    csrf_client.post(url(session), form(customers, body=body, subject="{name.__init__.__globals__} {title}"))

    ada = by_recipient(outbox())["ada@example.com"]
    assert ada.body_text.startswith("{foo} {name.__class__} {name[0]} {0} {Ada} Ada")
    assert ada.subject == "{name.__init__.__globals__} Excel for managers"
    assert "<class" not in ada.body_text


def test_the_room_password_is_put_into_the_email_and_not_stored(csrf_client, host, customers, outbox):
    session = session_of(host)

    refused = csrf_client.post(url(session), form(customers, body="Password: {password}"))
    sent = csrf_client.post(url(session), form(customers, body="Password: {password}", password="s3cret-room"))

    assert refused.status_code == 422 and "type the room password to include" in text(refused)
    assert sent.status_code == 302
    assert all(m.body_text.startswith("Password: s3cret-room") for m in outbox())
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    assert "s3cret-room" not in campaign.body and "{password}" in campaign.body


# Preview and invalid forms ------------------------------------------------------------------


def test_preview_shows_the_first_recipients_message_with_htmx_and_sends_nothing(csrf_client, host, customers, outbox):
    session = session_of(host)

    response = csrf_client.htmx_post(url(session), form(customers, action="preview"))

    page = text(response)
    assert response.status_code == 200
    assert "<html" not in page and 'id="campaign-form"' in page
    assert "Hello Ada," in page and "9:00\u202fAM" in page
    assert "Nothing has been sent." in page
    assert "1 person who unsubscribed will be left out." in page
    assert outbox() == []
    assert db.session.query(InvitationCampaign).count() == 0
    assert db.session.query(Invitation).count() == 0


def test_preview_works_without_javascript_as_a_full_page(csrf_client, host, outbox):
    session = session_of(host, fee_minor=1000)

    response = csrf_client.post(url(session), form(recipients="Zoe <zoe@example.com>", action="preview"))

    page = text(response)
    assert response.status_code == 200 and "<html" in page
    assert "Hello Zoe," in page and f"/s/{session.slug}/register" in page
    assert outbox() == []


def test_an_invalid_invitation_keeps_the_input_shows_each_problem_and_sends_nothing(csrf_client, host, outbox):
    session = session_of(host)
    pasted = "Ada <ada@example.com>\nnot an address\nBo <bo@example>"

    response = csrf_client.post(url(session), form(recipients=pasted, subject=""))

    page = text(response)
    assert response.status_code == 422
    assert "This field is required." in page
    assert "Line 2: “not an address” is not a name with an email address." in page
    assert "Line 3:" in page
    assert "Bo &lt;bo@example&gt;</textarea>" in page
    assert outbox() == [] and db.session.query(InvitationCampaign).count() == 0


def test_an_invitation_needs_someone_to_send_to(csrf_client, host, customers, outbox):
    session = session_of(host)

    nobody = csrf_client.post(url(session), form())
    only_unsubscribed = csrf_client.post(url(session), form(recipients="Boris <boris@example.com>"))

    assert nobody.status_code == 422 and "Choose a subscriber list or add recipients." in text(nobody)
    assert only_unsubscribed.status_code == 422 and "everyone chosen has unsubscribed" in text(only_unsubscribed)
    assert outbox() == []


# Who may send -------------------------------------------------------------------------------


def test_other_organisations_sessions_and_lists_are_not_found_and_colleagues_sessions_are_forbidden(
        csrf_client, host, customers, outbox):
    foreign_host = factories.make_user(role="host")
    foreign_session = session_of(foreign_host)
    colleagues_session = session_of(factories.make_user(host.organization, role="host"))
    foreign_list = SubscriberList(organization_id=foreign_host.organization_id, name="Theirs")
    db.session.add(foreign_list)
    db.session.commit()
    mine = session_of(host)

    statuses = [
        csrf_client.get(url(foreign_session)).status_code,
        csrf_client.post(url(foreign_session), form(recipients="a@example.com"), page=url(mine)).status_code,
        csrf_client.get(url(colleagues_session)).status_code,
        csrf_client.post(url(colleagues_session), form(recipients="a@example.com"), page=url(mine)).status_code,
        csrf_client.post(url(mine), form(foreign_list)).status_code,  # not one of the choices
    ]

    assert statuses == [404, 404, 403, 403, 422]
    assert outbox() == []


def test_a_campaign_of_another_session_is_not_found(csrf_client, host, customers):
    first, second = session_of(host), session_of(host)
    csrf_client.post(url(first), form(customers))
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()

    assert csrf_client.get(f"{url(second)}/{campaign.id}").status_code == 404
    assert csrf_client.post(f"{url(second)}/{campaign.id}/resend", page=url(second)).status_code == 404


def test_members_cannot_send_invitations(csrf_client):
    host = factories.make_user(role="host")
    session = session_of(host)
    member = factories.make_user(host.organization, role="member")
    csrf_client.sign_in(member)

    assert csrf_client.get(url(session)).status_code == 403
    assert csrf_client.post(url(session), form(recipients="a@example.com"), page="/").status_code == 403


# Progress, delivery and resending -----------------------------------------------------------


def campaign_progress(csrf_client, session, campaign):
    response = csrf_client.client.get(f"{url(session)}/{campaign.id}", headers={"HX-Request": "true"})
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', text(response)))
    return response, {state: int(n) for state, n in counts.items()}


def test_the_progress_fragment_counts_queued_sent_and_failed_and_polls_only_while_queued(
        csrf_client, host, customers, outbox):
    session = session_of(host)
    csrf_client.post(url(session), form(customers, recipients="Pierre <pierre@example.com>"))
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()

    queued_page = csrf_client.get(f"{url(session)}/{campaign.id}")
    polling, counts_while_queued = campaign_progress(csrf_client, session, campaign)
    ada, greta, pierre = (by_recipient(outbox())[e] for e in ("ada@example.com", "greta@example.com", "pierre@example.com"))
    ada.state, greta.state = "sent", "failed"
    pierre.state = "sent"
    db.session.commit()
    finished, counts_when_done = campaign_progress(csrf_client, session, campaign)

    assert 'aria-live="polite"' in text(queued_page) and "<html" in text(queued_page)
    assert "<html" not in text(polling) and 'hx-trigger="every 2s"' in text(polling)
    assert counts_while_queued == {"queued": 3, "sent": 0, "failed": 0}
    assert counts_when_done == {"queued": 0, "sent": 2, "failed": 1}
    assert "hx-trigger" not in text(finished)
    assert "Resend to the 1 person whose message failed" in text(finished)


def test_resending_queues_new_messages_only_for_recipients_whose_message_failed(
        csrf_client, host, customers, outbox):
    session = session_of(host)
    csrf_client.post(url(session), form(customers, recipients="Pierre <pierre@example.com>"))
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    first = by_recipient(outbox())
    first["ada@example.com"].state = "failed"
    first["greta@example.com"].state = "sent"  # Pierre's stays queued: the sender retries it itself
    db.session.commit()
    resend = f"{url(session)}/{campaign.id}/resend"

    response = csrf_client.post(resend, page=f"{url(session)}/{campaign.id}", follow_redirects=True)
    again = csrf_client.post(resend, page=f"{url(session)}/{campaign.id}", follow_redirects=True)

    messages = outbox()
    assert [m.recipient for m in messages[3:]] == ["ada@example.com"]
    copy = messages[3]
    assert copy.state == "queued" and copy.body_text == first["ada@example.com"].body_text
    ada_invitation = db.session.scalar(select(Invitation).filter_by(email="ada@example.com"))
    assert ada_invitation.outbox_message_id == copy.id
    assert db.session.query(Invitation).count() == 3  # the same personal links, none added
    assert "1 message has been queued again." in text(response)
    assert "No message had failed; nothing was resent." in text(again)
    _, counts = campaign_progress(csrf_client, session, campaign)
    assert counts == {"queued": 2, "sent": 1, "failed": 0}


def test_resending_for_a_paid_session_replaces_only_the_failed_message(csrf_client, host, customers, outbox):
    session = session_of(host, fee_minor=2500)
    csrf_client.post(url(session), form(customers))
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    by_recipient(outbox())["greta@example.com"].state = "failed"
    db.session.commit()

    csrf_client.post(f"{url(session)}/{campaign.id}/resend", page=f"{url(session)}/{campaign.id}")

    assert [m.recipient for m in outbox()[2:]] == ["greta@example.com"]
    _, counts = campaign_progress(csrf_client, session, campaign)
    assert counts == {"queued": 2, "sent": 0, "failed": 0}
    assert db.session.query(Invitation).count() == 0


@pytest.fixture
def smtp():
    with FakeSmtpServer() as server:
        yield server


def deliver(smtp, now=None):
    return mail.deliver_due(mail.SmtpTransport("127.0.0.1", smtp.port, 5), "x@example.com", 3, now=now)


def test_invitations_are_delivered_over_smtp_once_each_from_the_organisations_sender(
        csrf_client, host, customers, smtp):
    session = session_of(host)
    csrf_client.post(url(session), form(customers, recipients="Pierre <pierre@example.com>"))

    assert deliver(smtp) == 3
    assert deliver(smtp) == 0
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "greta@example.com", "pierre@example.com"]
    assert {m["From"] for m in smtp.messages} == {SENDER}
    greta = next(m for m in smtp.messages if m["To"] == "greta@example.com")
    assert "tisdag 4 mars 2031 15:00" in greta.get_body(("plain",)).get_content()
    [campaign] = db.session.scalars(select(InvitationCampaign)).all()
    _, counts = campaign_progress(csrf_client, session, campaign)
    assert counts == {"queued": 0, "sent": 3, "failed": 0}


def test_a_refusing_smtp_server_leaves_invitations_queued_and_a_later_delivery_sends_each_once(
        csrf_client, host, customers, smtp):
    session = session_of(host)
    csrf_client.post(url(session), form(customers))
    smtp.handler.refuse = True
    now = utcnow()

    assert deliver(smtp, now) == 0
    db.session.expire_all()
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert [(m.state, m.attempts) for m in messages] == [("queued", 1), ("queued", 1)]
    assert all("451" in m.last_error for m in messages)

    smtp.handler.refuse = False
    later = now + (messages[0].next_attempt_at - now) * 2
    assert deliver(smtp, later) == 2
    assert deliver(smtp, later) == 0
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "greta@example.com"]


# The organisation's sender settings ---------------------------------------------------------

SETTINGS = {"name": "Nordic Courses", "locale": "sv", "timezone": "Europe/Stockholm", "currency": "SEK"}


def test_an_admin_sets_the_sender_and_signature_that_invitations_use(csrf_client, outbox):
    admin = factories.make_user(role="admin", locale="en")
    csrf_client.sign_in(admin)

    saved = csrf_client.post("/admin/organization", dict(
        SETTINGS, sender_name="Nordic  Courses", sender_email="Hello@Nordic.example",
        signature="Nordic Courses AB\r\nGöteborg",
    ))
    csrf_client.post(url(session_of(admin)), form(recipients="Ada <ada@example.com>"))

    assert saved.status_code == 302
    db.session.refresh(admin.organization)
    assert (admin.organization.sender_name, admin.organization.sender_email) == ("Nordic Courses", "hello@nordic.example")
    [message] = outbox()
    assert message.sender == "Nordic Courses <hello@nordic.example>"
    assert "\n-- \nNordic Courses AB\nGöteborg" in message.body_text
    assert message.locale == "sv"  # a pasted address gets the site's language


@pytest.mark.parametrize("field, value, message", [
    ("sender_email", "not-an-address", "Enter a valid email address."),
    ("sender_name", "Evil <x@evil.example>", "Leave out the characters"),
])
def test_bad_sender_settings_are_refused_with_422_and_change_nothing(csrf_client, field, value, message):
    admin = factories.make_user(role="admin", locale="en")
    csrf_client.sign_in(admin)

    response = csrf_client.post("/admin/organization", dict(SETTINGS, **{field: value}))

    assert response.status_code == 422 and message in text(response)
    db.session.refresh(admin.organization)
    assert admin.organization.name != "Nordic Courses"
    assert admin.organization.sender_email == "" and admin.organization.sender_name == ""


def test_without_a_sender_email_invitations_come_from_the_servers_address(csrf_client, host, outbox):
    host.organization.sender_email = ""
    db.session.commit()

    csrf_client.post(url(session_of(host)), form(recipients="ada@example.com"))

    assert [m.sender for m in outbox()] == [None]
