"""The waitlist in the browser: joining a full session from its public page, the offer link,
the host's queue, and `flask waitlist run`."""

import html as html_lib
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Registration
from app.models.base import utcnow
from app.models.lifecycle import WaitlistEntry
from app.services import waitlist
from tests import factories
from tests.waitlist_helpers import entry, free_a_seat, full_session, join, offer_token, states


def text_of(response):
    return html_lib.unescape(response.get_data(as_text=True))


def registrations_of(email):
    db.session.expire_all()
    return db.session.scalar(select(func.count(Registration.id)).where(Registration.email == email))


# Joining from the public page ----------------------------------------------------------------


def test_a_full_session_shows_the_waitlist_form_and_joining_confirms_the_place(csrf_client):
    session, _ = full_session(capacity=1)
    page = text_of(csrf_client.get(f"/s/{session.slug}"))
    assert "Sorry, this session is full." in page and "Join the waitlist" in page

    response = csrf_client.post(f"/s/{session.slug}/waitlist", {"name": "Ana", "email": "ana@example.com"},
                                page=f"/s/{session.slug}", follow_redirects=True)

    assert response.status_code == 200
    assert "You are on the waitlist, in position 1." in text_of(response)
    assert states(session.id) == [("Ana", "waiting")]


def test_joining_waitlists_is_rate_limited_per_address_as_each_place_sends_an_email(app, csrf_client):
    app.config["RATELIMIT_WAITLIST_JOIN"] = "2 per minute"
    session, _ = full_session(capacity=1)

    answers = [csrf_client.post(f"/s/{session.slug}/waitlist", {"name": "A", "email": f"a{n}@example.com"},
                                page=f"/s/{session.slug}").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert len(states(session.id)) == 2


def test_a_session_with_seats_shows_no_waitlist_form(client):
    session, sold = full_session(capacity=2)
    sold[0].state = "canceled"
    db.session.commit()

    page = text_of(client.get(f"/s/{session.slug}"))

    assert "Join the waitlist" not in page and "Register" in page


def test_joining_with_a_bad_email_keeps_the_input_and_says_what_is_wrong(csrf_client):
    session, _ = full_session(capacity=1)

    response = csrf_client.post(f"/s/{session.slug}/waitlist", {"name": "Ana", "email": "not-an-email"},
                                page=f"/s/{session.slug}")

    page = text_of(response)
    assert response.status_code == 422
    assert 'value="Ana"' in page and 'value="not-an-email"' in page
    assert 'aria-invalid="true"' in page
    assert db.session.scalar(select(func.count(WaitlistEntry.id))) == 0


def test_joining_twice_is_refused_on_the_same_page(csrf_client):
    session, _ = full_session(capacity=1)
    join(session, "Ana")

    response = csrf_client.post(f"/s/{session.slug}/waitlist", {"name": "Ana", "email": "ANA@example.com"},
                                page=f"/s/{session.slug}")

    assert response.status_code == 422
    assert "This email address is already on the waitlist for this session." in text_of(response)
    assert len(states(session.id)) == 1


def test_someone_already_registered_is_told_so_next_to_the_email_field(csrf_client):
    session, sold = full_session(capacity=1)

    response = csrf_client.post(f"/s/{session.slug}/waitlist", {"name": "Bo", "email": sold[0].email},
                                page=f"/s/{session.slug}")

    page = text_of(response)
    assert response.status_code == 422
    assert ('<small id="email-error" class="field-error">This email address is already registered '
            'for this session.</small>') in page
    assert 'value="Bo"' in page


# The offer link ------------------------------------------------------------------------------


def test_the_offer_page_shows_the_seat_and_taking_it_leads_to_payment(csrf_client):
    now = utcnow()
    session, sold = full_session(capacity=1)
    [ana] = join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    url = f"/w/{offer_token('ana@example.com')}"

    page = text_of(csrf_client.get(url))
    response = csrf_client.post(url)

    assert session.title in page and "Take the seat" in page and "€49.00" in page
    assert "hours left" in page
    assert response.status_code == 302 and "/checkout/" in response.headers["Location"]
    payment_page = csrf_client.get(response.headers["Location"])
    assert payment_page.status_code == 200 and "Payment information" in text_of(payment_page)
    assert entry(ana.id).state == "accepted"
    assert registrations_of("ana@example.com") == 1


def test_an_offer_link_after_expiry_shows_a_clear_page_and_gives_no_seat(csrf_client):
    then = utcnow() - timedelta(hours=25)
    session, sold = full_session(capacity=1)
    join(session, "Ana", now=then)
    free_a_seat(sold[0], then)  # offered 25 hours ago: valid for 24
    url = f"/w/{offer_token('ana@example.com')}"
    token_page = csrf_client.get(url)  # no form on it: post with a token from another page

    response = csrf_client.post(url, page=f"/s/{session.slug}")

    assert token_page.status_code == 410
    assert response.status_code == 410
    assert "This offer has expired" in text_of(response)
    assert "Take the seat" not in text_of(response)
    assert registrations_of("ana@example.com") == 0


def test_a_used_offer_link_says_so_and_an_unknown_one_is_not_found(csrf_client):
    now = utcnow()
    session, sold = full_session(capacity=1)
    join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    url = f"/w/{offer_token('ana@example.com')}"
    csrf_client.post(url)

    used = csrf_client.get(url)
    unknown = csrf_client.get("/w/" + "x" * 43)

    assert used.status_code == 410 and "already used" in text_of(used)
    assert unknown.status_code == 404 and "not valid" in text_of(unknown)
    assert registrations_of("ana@example.com") == 1


def test_taking_a_seat_someone_else_took_first_puts_you_back_in_the_queue_and_says_so(csrf_client):
    now = utcnow()
    session, sold = full_session(capacity=1)
    ana, bo = join(session, "Ana", "Bo", now=now)
    free_a_seat(sold[0], now)
    waitlist.promote(session, bo.id, now)
    waitlist.accept(offer_token("bo@example.com"), 15, now)

    response = csrf_client.post(f"/w/{offer_token('ana@example.com')}")

    assert response.status_code == 409
    assert "You are back on the waitlist at your old place" in text_of(response)
    assert entry(ana.id).state == "waiting"
    assert registrations_of("ana@example.com") == 0


# The host's queue ------------------------------------------------------------------------------


def test_the_host_sees_the_queue_in_order_and_can_offer_and_remove(csrf_client):
    now = utcnow()
    session, _ = full_session(capacity=1)
    ana, bo = join(session, "Ana", "Bo", now=now)
    csrf_client.sign_in(session.host)
    page_url = f"/sessions/{session.id}/waitlist"

    page = text_of(csrf_client.get(page_url))
    offered = csrf_client.post(f"{page_url}/{bo.id}/offer", page=page_url, follow_redirects=True)
    removed = csrf_client.post(f"{page_url}/{ana.id}/remove", page=page_url, follow_redirects=True)

    assert page.index("ana@example.com") < page.index("bo@example.com")
    assert "Send offer now" in page
    assert "An offer has been emailed to Bo." in text_of(offered)
    assert "Offer sent, valid until" in text_of(offered)
    assert "Ana has been removed from the waitlist." in text_of(removed)
    assert states(session.id) == [("Bo", "offered")]
    assert offer_token("bo@example.com")


def test_the_host_list_links_to_the_waitlist(csrf_client):
    session, _ = full_session(capacity=1)
    csrf_client.sign_in(session.host)

    assert f"/sessions/{session.id}/waitlist" in csrf_client.get("/sessions/").get_data(as_text=True)


def test_another_organisations_host_gets_not_found_and_changes_nothing(csrf_client):
    session, _ = full_session(capacity=1)
    [ana] = join(session, "Ana")
    csrf_client.sign_in(factories.make_user(role="host"))
    page_url = f"/sessions/{session.id}/waitlist"

    answers = [csrf_client.get(page_url).status_code,
               csrf_client.post(f"{page_url}/{ana.id}/offer", page="/").status_code,
               csrf_client.post(f"{page_url}/{ana.id}/remove", page="/").status_code]

    assert answers == [404, 404, 404]
    assert entry(ana.id).state == "waiting"


def test_an_entry_of_another_session_is_not_found_through_the_hosts_own_session(csrf_client):
    session, _ = full_session(capacity=1)
    other = factories.make_session(host=session.host, capacity=1)
    [ana] = join(session, "Ana")
    csrf_client.sign_in(session.host)

    response = csrf_client.post(f"/sessions/{other.id}/waitlist/{ana.id}/remove", page="/")

    assert response.status_code == 404
    assert entry(ana.id).state == "waiting"


# The periodic job ------------------------------------------------------------------------------


def test_flask_waitlist_run_offers_a_freed_seat(app):
    session, sold = full_session(capacity=1)
    [ana] = join(session, "Ana")
    sold[0].state = "refunded"
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["waitlist", "run"])

    assert result.exit_code == 0, result.output
    assert result.output == "lapsed: 0, offered: 1\n"
    assert entry(ana.id).state == "offered"
