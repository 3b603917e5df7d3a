"""Hosts schedule, edit and cancel sessions; the Fee box exists only with fee-based training on."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import Order, TrainingSession
from app.models.base import utcnow
from app.services import checkout, commerce, registrations
from app.services.scheduling import SESSIONS_PER_PAGE
from tests import factories

FORM = {
    "title": "Excel for managers",
    "description": "Hands-on.",
    "time_of_day": "09:30",
    "timezone": "Europe/Stockholm",
    "duration_min": "90",
    "capacity": "12",
    "access_mode": "registration",
    "meeting_url": "https://meet.example/room-1",
}


def form(**changes):
    data = dict(FORM, day=(date.today() + timedelta(days=10)).isoformat())
    data.update(changes)
    return data


@pytest.fixture
def host(csrf_client):
    user = factories.make_user(role="host")
    user.organization.currency = "SEK"
    db.session.commit()
    csrf_client.sign_in(user)
    return user


def fee_based_on(organization):
    commerce.update_settings(organization, enabled=True, fee_based=True, bank_transfer_enabled=True,
                             bank_transfer_details="IBAN")


def paid_order(session, name, email):
    """A registration paid by bank transfer and marked received."""
    order = registrations.register(session, name, email, "en", 15)
    checkout.begin_payment(order, "bank_transfer", session.fee_minor, None, "", "", timedelta(days=1))
    checkout.mark_bank_transfer_paid(order)
    return order


def test_the_fee_box_appears_only_when_fee_based_training_is_on(csrf_client, host):
    assert 'name="fee"' not in csrf_client.get("/sessions/new").get_data(as_text=True)

    fee_based_on(host.organization)

    assert 'name="fee"' in csrf_client.get("/sessions/new").get_data(as_text=True)


def test_scheduling_a_paid_session_stores_the_fee_in_minor_units_and_the_start_in_utc(csrf_client, host):
    fee_based_on(host.organization)

    response = csrf_client.post("/sessions/new", form(fee="490,50"))

    assert response.status_code == 302
    session = db.session.query(TrainingSession).one()
    assert (session.fee_minor, session.currency, session.host) == (49050, "SEK", host)
    local = session.starts_at.astimezone(ZoneInfo("Europe/Stockholm"))
    assert (local.hour, local.minute) == (9, 30)
    assert response.headers["Location"] == f"/s/{session.slug}"


def test_a_fee_sent_while_fee_based_training_is_off_is_ignored(csrf_client, host):
    csrf_client.post("/sessions/new", form(fee="100"))

    assert db.session.query(TrainingSession).one().fee_minor == 0


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(fee="12.345"), "Use at most 2 decimal places."),
        (dict(fee="12 kr"), "Enter an amount such as 50 or 49.50."),
        (dict(capacity="0"), "Enter a whole number from 1 to 10000."),
        (dict(day="2020-01-01"), "Choose a start time in the future."),
        (dict(meeting_url="not a url"), "Enter a full web address"),
        (dict(title=""), "This field is required."),
    ],
)
def test_bad_input_is_explained_and_kept_and_nothing_is_scheduled(csrf_client, host, changes, message):
    fee_based_on(host.organization)

    response = csrf_client.post("/sessions/new", form(**changes))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'value="Excel for managers"' in html or changes.get("title") == ""
    assert db.session.query(TrainingSession).count() == 0


def test_members_cannot_schedule(csrf_client):
    csrf_client.sign_in(factories.make_user(role="member"))

    assert csrf_client.get("/sessions/new").status_code == 403


def test_another_hosts_session_cannot_be_edited_and_another_organisations_is_not_found(csrf_client, host):
    colleague = factories.make_user(host.organization, role="host")
    theirs = factories.make_session(host=colleague)
    foreign = factories.make_session()

    assert csrf_client.get(f"/sessions/{theirs.id}/edit").status_code == 403
    assert csrf_client.get(f"/sessions/{foreign.id}/edit").status_code == 404
    assert csrf_client.get(f"/sessions/{foreign.id}/orders").status_code == 404


def test_editing_cannot_lower_capacity_below_seats_taken(csrf_client, host):
    session = factories.make_session(host=host, capacity=3)
    for n in range(2):
        registrations.register(session, f"P{n}", f"p{n}@example.com", "en", 15)

    response = csrf_client.post(f"/sessions/{session.id}/edit", form(capacity="1"))

    assert response.status_code == 422
    assert "2 seats are already taken" in response.get_data(as_text=True)
    db.session.refresh(session)
    assert session.capacity == 3


def test_my_sessions_lists_seats_sold_and_revenue(csrf_client, host):
    fee_based_on(host.organization)
    session = factories.make_session(host=host, fee_minor=10000, currency="SEK", title="Sold one")
    paid_order(session, "Ana", "ana@example.com")

    html = csrf_client.get("/sessions/?lang=en").get_data(as_text=True)

    assert "Sold one" in html
    assert "1 of 20" in html
    assert "SEK100.00" in html


def test_my_sessions_shows_today_and_upcoming_soonest_first_and_past_ones_apart(csrf_client, host):
    now = utcnow()
    factories.make_session(host=host, title="Next month", starts_at=now + timedelta(days=30))
    factories.make_session(host=host, title="Tomorrow", starts_at=now + timedelta(days=1))
    factories.make_session(host=host, title="Last week", starts_at=now - timedelta(days=7))

    upcoming = csrf_client.get("/sessions/?lang=en").get_data(as_text=True)
    past = csrf_client.get("/sessions/?past=1&lang=en").get_data(as_text=True)

    assert upcoming.index("Tomorrow") < upcoming.index("Next month")
    assert "Last week" not in upcoming
    assert "Last week" in past and "Tomorrow" not in past


def test_my_sessions_pages_through_many_sessions(csrf_client, host):
    for number in range(SESSIONS_PER_PAGE + 2):
        factories.make_session(host=host, title=f"Course {number:02d}",
                               starts_at=utcnow() + timedelta(days=1 + number))

    first = csrf_client.get("/sessions/?lang=en").get_data(as_text=True)
    second = csrf_client.get("/sessions/?page=2&lang=en").get_data(as_text=True)

    assert f"Course {SESSIONS_PER_PAGE - 1:02d}" in first and f"Course {SESSIONS_PER_PAGE:02d}" not in first
    assert "Page 1 of 2" in first and 'rel="next"' in first
    assert f"Course {SESSIONS_PER_PAGE:02d}" in second and f"Course {SESSIONS_PER_PAGE + 1:02d}" in second


def test_canceling_a_session_refunds_paid_orders_cancels_holds_and_emails(csrf_client, host, outbox):
    fee_based_on(host.organization)
    session = factories.make_session(host=host, fee_minor=10000, currency="SEK")
    paid = paid_order(session, "Ana", "ana@example.com")
    held = registrations.register(session, "Bo", "bo@example.com", "sv", 15)

    response = csrf_client.post(f"/sessions/{session.id}/cancel", {"confirm": "y"},
                                page=f"/sessions/{session.id}/edit")

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).state == "canceled"
    paid, held = db.session.get(Order, paid.id), db.session.get(Order, held.id)
    assert (paid.state, paid.refunded_minor, paid.registration.state) == ("refunded", 10000, "refunded")
    assert (held.state, held.registration.state) == ("canceled", "canceled")
    templates = [m.template for m in outbox() if m.recipient == "ana@example.com"]
    assert "session_canceled" in templates and "refund_issued" in templates


def test_a_partial_refund_keeps_the_registration(csrf_client, host, outbox):
    fee_based_on(host.organization)
    session = factories.make_session(host=host, fee_minor=10000, currency="SEK")
    order = paid_order(session, "Ana", "ana@example.com")

    csrf_client.post(f"/sessions/{session.id}/orders/{order.id}/refund", {"amount": "25"},
                     page=f"/sessions/{session.id}/orders")
    too_much = csrf_client.post(f"/sessions/{session.id}/orders/{order.id}/refund", {"amount": "80"},
                                page=f"/sessions/{session.id}/orders")

    db.session.refresh(order)
    assert (order.state, order.refunded_minor) == ("partially_refunded", 2500)
    assert order.registration.state == "confirmed"
    assert too_much.status_code == 302 and order.refunded_minor == 2500
    assert outbox()[-1].template == "refund_issued"


def test_the_host_downloads_the_sessions_orders_as_csv_and_nobody_else_can(csrf_client, host):
    import csv
    import io

    fee_based_on(host.organization)
    session = factories.make_session(host=host, fee_minor=10000, currency="SEK")
    paid_order(session, "Ana", "ana@example.com")
    other_host_session = factories.make_session(host=factories.make_user(host.organization, role="host"))

    response = csrf_client.get(f"/sessions/{session.id}/orders.csv")

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert response.mimetype == "text/csv"
    assert [(r["buyer_email"], r["total"], r["state"]) for r in rows] == [("ana@example.com", "100.00", "paid")]
    assert csrf_client.get(f"/sessions/{other_host_session.id}/orders.csv").status_code == 403
