"""Pay-per-use: Schedule leads to the Estimated session cost; the session is scheduled once paid."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Order, SessionCost, TrainingSession
from app.services import commerce, invitations
from app.services.order_links import make_order_token
from tests import factories

SESSION_FORM = {
    "title": "Budget planning", "description": "", "time_of_day": "10:00",
    "timezone": "Europe/Stockholm", "duration_min": "90", "capacity": "12",
    "access_mode": "unique_link", "meeting_url": "https://meet.example/budget",
}


@pytest.fixture
def host(csrf_client):
    user = factories.make_user(role="host")
    user.organization.currency = "SEK"
    db.session.commit()
    commerce.update_settings(user.organization, enabled=True, pay_per_use=True, bank_transfer_enabled=True,
                             bank_transfer_details="IBAN", person_minute_rate=Decimal("0.35"),
                             teleconference_minute_rate=Decimal("1.5"))
    csrf_client.sign_in(user)
    return user


def schedule(csrf_client):
    data = dict(SESSION_FORM, day=(date.today() + timedelta(days=7)).isoformat())
    response = csrf_client.post("/sessions/new", data)
    assert response.status_code == 302
    return response


def shown_total(html):
    return re.search(r'name="shown_total"[^>]*value="(\d+)"', html).group(1)


def test_schedule_leads_to_the_estimated_cost_and_the_session_waits_for_payment(csrf_client, host):
    response = schedule(csrf_client)

    session = db.session.query(TrainingSession).one()
    assert response.headers["Location"] == f"/sessions/{session.id}/cost"
    assert session.state == "awaiting_payment"
    html = csrf_client.get(f"/sessions/{session.id}/cost?lang=en").get_data(as_text=True)
    # 90 min × 12 computers × 0.35 öre = 378 öre; no teleconference yet
    assert "1080" in html and "SEK3.78" in html
    assert shown_total(html) == "378"


def test_the_estimate_updates_in_place_as_the_host_types(csrf_client, host):
    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()

    response = csrf_client.htmx_post(
        f"/sessions/{session.id}/cost/preview",
        {"duration_min": "60", "computers": "20", "teleconference_computers": "4"},
        page=f"/sessions/{session.id}/cost",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="estimate"')
    # 60 × 20 × 0.35 = 420; 60 × 4 × 1.5 = 360; total 780 öre
    assert "SEK7.80" in html and shown_total(html) == "780"


@pytest.mark.parametrize("duration,computers,tele", [("0", "5", "0"), ("-10", "5", "0"), ("abc", "5", "0"),
                                                     ("60", "0", "0"), ("60", "5", "-1"),
                                                     ("99999", "5", "0"), ("60", "9999999", "0")])
def test_nonsense_numbers_get_field_errors_and_no_estimate(csrf_client, host, duration, computers, tele):
    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()

    response = csrf_client.htmx_post(
        f"/sessions/{session.id}/cost/preview",
        {"duration_min": duration, "computers": computers, "teleconference_computers": tele},
        page=f"/sessions/{session.id}/cost",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Correct the numbers above to see the estimate." in html
    assert 'name="shown_total"' not in html


def pay_estimate(csrf_client, session, **numbers):
    page = csrf_client.get(f"/sessions/{session.id}/cost").get_data(as_text=True)
    data = {"duration_min": "90", "computers": "12", "teleconference_computers": "0",
            "shown_total": shown_total(page)}
    data.update(numbers)
    return csrf_client.post(f"/sessions/{session.id}/cost", data, page=f"/sessions/{session.id}/cost")


def test_paying_the_estimate_schedules_the_session(app, csrf_client, host):
    from app.services import checkout

    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()

    response = pay_estimate(csrf_client, session)

    assert response.headers["Location"].startswith("/checkout/")
    order = db.session.query(Order).one()
    assert (order.purpose, order.total_minor, order.buyer_email) == ("pay_per_use", 378, host.email)
    checkout.begin_payment(order, "bank_transfer", 378, None, "", "", timedelta(days=1))
    checkout.mark_bank_transfer_paid(order)
    db.session.refresh(session)
    assert session.state == "scheduled"
    assert db.session.query(SessionCost).one().state == "paid"


def test_an_unpaid_session_cannot_be_joined(client, csrf_client, host):
    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()
    _, token = invitations.new_invitation(session, "Ada")
    db.session.commit()

    response = client.get(f"/j/{token}")

    assert response.status_code == 200
    assert "its host has not paid for it" in response.get_data(as_text=True)


def test_a_changed_estimate_is_refused_and_shown_again(csrf_client, host):
    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()

    response = pay_estimate(csrf_client, session, computers="30")  # shown total was for 12

    assert response.status_code == 422
    assert "The estimate has changed." in response.get_data(as_text=True)
    assert db.session.query(Order).count() == 0


def test_rates_changed_after_payment_do_not_touch_the_paid_estimate(csrf_client, host):
    from app.services import checkout

    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()
    pay_estimate(csrf_client, session)
    order = db.session.query(Order).one()
    checkout.begin_payment(order, "bank_transfer", 378, None, "", "", timedelta(days=1))
    checkout.mark_bank_transfer_paid(order)

    commerce.update_settings(host.organization, person_minute_rate=Decimal("9"))

    cost = db.session.query(SessionCost).one()
    assert (cost.person_rate, cost.total_minor) == (Decimal("0.35"), 378)


def test_changing_a_paid_session_reopens_the_estimate_for_the_difference_only(csrf_client, host):
    from app.services import checkout

    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()
    pay_estimate(csrf_client, session)
    first = db.session.query(Order).one()
    checkout.begin_payment(first, "bank_transfer", 378, None, "", "", timedelta(days=1))
    checkout.mark_bank_transfer_paid(first)

    page = csrf_client.htmx_post(f"/sessions/{session.id}/cost/preview",
                                 {"duration_min": "90", "computers": "20", "teleconference_computers": "0"},
                                 page=f"/sessions/{session.id}/cost").get_data(as_text=True)
    response = pay_estimate(csrf_client, session, computers="20", shown_total=shown_total(page))

    assert shown_total(page) == str(630 - 378)  # 90 × 20 × 0.35 = 630, 378 already paid
    second = db.session.query(Order).order_by(Order.id.desc()).first()
    assert response.status_code == 302 and second.total_minor == 252


def test_a_host_cannot_see_or_pay_for_another_hosts_session(csrf_client, host):
    colleague = factories.make_user(host.organization, role="host")
    theirs = factories.make_session(host=colleague, state="awaiting_payment")

    assert csrf_client.get(f"/sessions/{theirs.id}/cost").status_code == 403
    assert csrf_client.post(f"/sessions/{theirs.id}/cost", {"duration_min": "60", "computers": "1",
                                                            "teleconference_computers": "0",
                                                            "shown_total": "21"}).status_code == 403
    foreign = factories.make_session(state="awaiting_payment")
    assert csrf_client.get(f"/sessions/{foreign.id}/cost").status_code == 404


def test_without_pay_per_use_scheduling_is_direct_and_the_cost_page_is_absent(csrf_client, host):
    commerce.update_settings(host.organization, pay_per_use=False)

    schedule(csrf_client)

    session = db.session.query(TrainingSession).one()
    assert session.state == "scheduled"
    assert csrf_client.get(f"/sessions/{session.id}/cost").status_code == 404


def test_the_checkout_for_an_estimate_is_the_same_payment_page(app, csrf_client, host):
    schedule(csrf_client)
    session = db.session.query(TrainingSession).one()
    pay_estimate(csrf_client, session)
    order = db.session.query(Order).one()

    html = csrf_client.get(f"/checkout/{make_order_token(order, app.config['SECRET_KEY'])}").get_data(as_text=True)

    assert "Estimated session cost: Budget planning" in html
    assert 'value="bank_transfer"' in html
