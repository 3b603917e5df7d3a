"""Closed rooms: personal links, the room password and the gate that lets in only those invited
(and, for paid sessions, only those who paid), during the session's window."""

import csv
import io
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Attendance, Invitation, TrainingSession
from app.models.base import utcnow
from app.services import checkout, commerce, invitations, registrations, room_gate
from tests import factories

MEETING = "https://meet.example/room-42"


@pytest.fixture
def host(csrf_client):
    user = factories.make_user(role="host")
    csrf_client.sign_in(user)
    return user


def live_session(host, **fields):
    """A session that started five minutes ago: its room is open."""
    fields.setdefault("starts_at", utcnow() - timedelta(minutes=5))
    fields.setdefault("meeting_url", MEETING)
    fields.setdefault("access_mode", "unique_link")
    return factories.make_session(host=host, **fields)


def links_in(html):
    return re.findall(r'value="(http://localhost/j/[^"]+)"', html)


def test_pasted_names_become_personal_links_skipping_blank_and_repeated_lines(csrf_client, host):
    session = live_session(host)
    pasted = "Ada Lovelace <ada@example.com>\n\n  Grace Hopper  \nAda Lovelace <ADA@example.com>\nGrace Hopper\n"

    response = csrf_client.htmx_post(f"/sessions/{session.id}/invitations", {"names": pasted},
                                     page=f"/sessions/{session.id}/invitations")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert len(links_in(html)) == 2
    made = db.session.query(Invitation).order_by(Invitation.id).all()
    assert [(i.name, i.email) for i in made] == [("Ada Lovelace", "ada@example.com"), ("Grace Hopper", None)]
    token = links_in(html)[0].rsplit("/", 1)[1]
    assert len(token) >= 43  # 256 random bits
    assert made[0].token_hash == invitations.hash_token(token) and token not in made[0].token_hash


def test_a_thousand_links_in_one_go_and_as_csv(csrf_client, host):
    session = live_session(host)
    pasted = "\n".join(f"Participant {n} <p{n}@example.com>" for n in range(1000))

    response = csrf_client.post(f"/sessions/{session.id}/invitations", {"names": pasted, "format": "csv"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["name", "email", "link"] and len(rows) == 1001
    assert len({row[2] for row in rows[1:]}) == 1000
    assert db.session.query(Invitation).filter_by(session_id=session.id).count() == 1000


def test_a_line_that_is_not_a_name_is_reported_and_nothing_is_made(csrf_client, host):
    session = live_session(host)

    response = csrf_client.post(f"/sessions/{session.id}/invitations", {"names": "Ada\nx <y> <z>\n"})

    assert response.status_code == 422
    assert "Line 2 is not a name" in response.get_data(as_text=True)
    assert db.session.query(Invitation).count() == 0


def test_a_personal_link_opens_the_room_in_its_window_and_records_the_join(client, host):
    session = live_session(host)
    invitation, token = invitations.new_invitation(session, "Ada", "ada@example.com")
    db.session.commit()

    response = client.get(f"/j/{token}")

    assert response.status_code == 302
    assert response.headers["Location"] == MEETING
    [joined] = db.session.query(Attendance).all()
    assert (joined.name, joined.via, joined.session_id) == ("Ada", "personal_link", session.id)
    db.session.refresh(invitation)
    assert invitation.opened_at and invitation.used_at


def test_before_the_window_a_countdown_shows_and_after_the_end_the_room_is_closed(app, client, host):
    soon = live_session(host, starts_at=utcnow() + timedelta(hours=2))
    over = live_session(host, starts_at=utcnow() - timedelta(hours=3), duration_min=60)
    _, early = invitations.new_invitation(soon, "Ada")
    _, late = invitations.new_invitation(over, "Ada")
    db.session.commit()

    waiting = client.get(f"/j/{early}")
    closed = client.get(f"/j/{late}")

    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.get_data(as_text=True)
    assert "The room opens at" in waiting.get_data(as_text=True)
    assert "This session has ended" in closed.get_data(as_text=True)
    assert db.session.query(Attendance).count() == 0


def test_the_window_opens_the_configured_minutes_before_the_start(app, client, host):
    session = live_session(host, starts_at=utcnow() + timedelta(minutes=10))
    _, token = invitations.new_invitation(session, "Ada")
    db.session.commit()

    assert client.get(f"/j/{token}").status_code == 302  # 15 minutes by default
    app.config["JOIN_OPENS_MINUTES_BEFORE"] = 5
    assert client.get(f"/j/{token}").status_code == 200


@pytest.mark.parametrize("kind", ["unknown", "revoked", "malformed"])
def test_unknown_revoked_and_malformed_links_get_the_same_neutral_page(client, host, kind):
    session = live_session(host)
    invitation, token = invitations.new_invitation(session, "Ada")
    db.session.commit()
    if kind == "revoked":
        invitations.revoke(invitation)
    url = {"unknown": "/j/" + "x" * 43, "revoked": f"/j/{token}", "malformed": "/j/%00%FF" + "y" * 200}[kind]

    response = client.get(url)

    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)
    assert MEETING not in response.get_data(as_text=True)


def test_reissuing_a_link_stops_the_old_one_and_the_new_one_works(csrf_client, client, host):
    session = live_session(host)
    invitation, old = invitations.new_invitation(session, "Ada")
    db.session.commit()

    response = csrf_client.post(f"/sessions/{session.id}/invitations/{invitation.id}/reissue",
                                page=f"/sessions/{session.id}/invitations")

    [new_link] = links_in(response.get_data(as_text=True))
    assert client.get(f"/j/{old}").status_code == 404
    assert client.get(new_link.replace("http://localhost", "")).status_code == 302


def test_a_link_only_ever_opens_its_own_session(client, host):
    mine = live_session(host, meeting_url="https://meet.example/mine")
    live_session(host, meeting_url="https://meet.example/other")
    _, token = invitations.new_invitation(mine, "Ada")
    db.session.commit()

    assert client.get(f"/j/{token}").headers["Location"] == "https://meet.example/mine"


def paid_and_confirmed(session, outbox):
    commerce.update_settings(session.organization, enabled=True, fee_based=True,
                             bank_transfer_enabled=True, bank_transfer_details="IBAN")
    order = registrations.register(session, "Ana", "ana@example.com", "sv", 15)
    checkout.begin_payment(order, "bank_transfer", session.fee_minor, None, "", "", timedelta(days=1))
    checkout.mark_bank_transfer_paid(order)
    confirmation = [m for m in outbox() if m.template == "registration_confirmed"][-1]
    link = re.search(r"http://localhost(/j/\S+)", confirmation.body_text).group(1)
    return order, link


def test_a_paid_attendee_enters_with_the_link_from_the_confirmation_until_refunded(client, host, outbox):
    session = live_session(host, fee_minor=5000, starts_at=utcnow() + timedelta(minutes=5))
    order, link = paid_and_confirmed(session, outbox)

    assert client.get(link).headers["Location"] == MEETING

    checkout.refund_order(order, order.total_minor, provider=None)
    refused = client.get(link)

    assert refused.status_code in (403, 404)
    assert db.session.query(Attendance).count() == 1


def test_links_made_by_hand_for_a_paid_session_are_no_free_pass(client, host):
    session = live_session(host, fee_minor=5000)
    _, token = invitations.new_invitation(session, "Stranger")
    db.session.commit()

    response = client.get(f"/j/{token}")

    assert response.status_code == 403
    assert "only opens the room for attendees whose registration is paid" in response.get_data(as_text=True)


def test_a_password_room_lets_in_with_the_right_password(client, csrf_client, host):
    session = live_session(host, access_mode="password")
    room_gate.set_room_password(session, "open sesame")

    wrong = csrf_client.post(f"/s/{session.slug}/join", {"name": "Bo", "password": "guess"})
    right = csrf_client.post(f"/s/{session.slug}/join", {"name": "Bo", "password": "open sesame"})

    assert wrong.status_code == 422
    assert "The room password is not correct." in wrong.get_data(as_text=True)
    assert right.headers["Location"] == MEETING
    assert db.session.get(TrainingSession, session.id).room_password_hash != "open sesame"


def test_password_guessing_is_limited_per_room_and_address_only(app, csrf_client, host):
    app.config["RATELIMIT_ROOM_PASSWORD"] = "3 per minute"
    session = live_session(host, access_mode="password")
    other_room = live_session(host, access_mode="password")
    for room in (session, other_room):
        room_gate.set_room_password(room, "secret")

    guesses = [csrf_client.post(f"/s/{session.slug}/join", {"name": "X", "password": "no"}).status_code
               for _ in range(4)]
    other_address = csrf_client.post(
        f"/s/{session.slug}/join", {"name": "Y", "password": "secret"},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    other_room_same_address = csrf_client.post(f"/s/{other_room.slug}/join",
                                               {"name": "X", "password": "secret"})

    assert guesses == [422, 422, 422, 429]
    assert other_address.status_code == 302
    assert other_room_same_address.status_code == 302


def test_a_paid_password_room_also_needs_a_paid_registration(client, csrf_client, host, outbox):
    session = live_session(host, access_mode="password", fee_minor=5000,
                           starts_at=utcnow() + timedelta(minutes=5))
    room_gate.set_room_password(session, "secret")
    paid_and_confirmed(session, outbox)

    stranger = csrf_client.post(f"/s/{session.slug}/join",
                                {"name": "X", "email": "x@example.com", "password": "secret"})
    attendee = csrf_client.post(f"/s/{session.slug}/join",
                                {"name": "Ana", "email": "ANA@example.com", "password": "secret"})

    assert stranger.status_code == 422
    assert attendee.headers["Location"] == MEETING


def test_the_host_sees_who_joined_and_others_cannot(csrf_client, host):
    session = live_session(host)
    _, token = invitations.new_invitation(session, "Ada Lovelace")
    db.session.commit()
    csrf_client.client.get(f"/j/{token}")
    colleague_session = live_session(factories.make_user(host.organization, role="host"))
    foreign = live_session(factories.make_user(role="host"))

    page = csrf_client.get(f"/sessions/{session.id}/attendance").get_data(as_text=True)

    assert "Ada Lovelace" in page
    assert csrf_client.get(f"/sessions/{colleague_session.id}/attendance").status_code == 403
    assert csrf_client.get(f"/sessions/{foreign.id}/invitations").status_code == 404
