"""Settling a pay-per-use session on actual usage: refunded through PayPal, credited, or owed
(never charged); once only, after the session ended, by its host or an administrator."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Attendance, Order, SessionCost, TrainingSession, UsageCorrection
from app.models.base import utcnow
from app.services import commerce
from tests import factories
from tests.conftest import CsrfClient

SESSION_FORM = {
    "title": "Budget planning", "description": "", "time_of_day": "10:00",
    "timezone": "Europe/Stockholm", "duration_min": "60", "capacity": "10",
    "access_mode": "unique_link", "meeting_url": "https://meet.example/budget",
}
# 60 min × 10 computers × 10 cents = 6000; 60 min × 2 computers × 5 cents = 600; total 66.00 EUR
ESTIMATE = {"duration_min": "60", "computers": "10", "teleconference_computers": "2"}
ESTIMATE_TOTAL = 6600


@pytest.fixture
def host(app, csrf_client, paypal):
    user = factories.make_user(role="host", name="Hanna Host")
    user.organization.currency = "EUR"
    db.session.commit()
    commerce.update_settings(
        user.organization, enabled=True, pay_per_use=True, paypal_enabled=True,
        paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
        person_minute_rate=Decimal("10"), teleconference_minute_rate=Decimal("5"),
    )
    csrf_client.sign_in(user)
    return user


def shown_total(html):
    return re.search(r'name="shown_total"[^>]*value="(\d+)"', html).group(1)


def schedule_and_pay(csrf_client, paypal):
    """The host schedules, confirms the estimate and pays it with PayPal, as in a browser."""
    data = dict(SESSION_FORM, day=(date.today() + timedelta(days=7)).isoformat())
    response = csrf_client.post("/sessions/new", data)
    session = db.session.query(TrainingSession).one()
    assert response.headers["Location"] == f"/sessions/{session.id}/cost"
    confirm_and_pay(csrf_client, paypal, session, ESTIMATE)
    cost = db.session.query(SessionCost).one()
    assert (cost.state, cost.total_minor, cost.order.state) == ("paid", ESTIMATE_TOTAL, "paid")
    return session, cost


def confirm_and_pay(csrf_client, paypal, session, estimate):
    cost_page = f"/sessions/{session.id}/cost"
    preview = csrf_client.htmx_post(f"{cost_page}/preview", estimate, page=cost_page).get_data(as_text=True)
    due = shown_total(preview)
    response = csrf_client.post(cost_page, dict(estimate, shown_total=due), page=cost_page)
    checkout_url = response.headers["Location"]
    assert checkout_url.startswith("/checkout/")

    response = csrf_client.post(f"{checkout_url}/pay", {"method": "paypal", "shown_total": due},
                                page=checkout_url)
    paypal_order = re.search(r"token=([^&]+)", response.headers["Location"]).group(1)
    paypal.approve(paypal_order)
    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}&PayerID=FAKEPAYER")
    db.session.expire_all()


def move_into_the_past(session):
    """Started two hours ago, so the 60-minute session ended an hour ago."""
    session.starts_at = utcnow() - timedelta(hours=2)
    db.session.commit()


def joined(session, name, email, minutes_after_start):
    db.session.add(Attendance(session_id=session.id, name=name, email=email, via="personal_link",
                              joined_at=session.starts_at + timedelta(minutes=minutes_after_start)))
    db.session.commit()


def settle(csrf_client, session, person_minutes, teleconference_minutes=0, reason=""):
    url = f"/sessions/{session.id}/cost/settlement"
    return csrf_client.post(url, {"person_minutes": str(person_minutes),
                                  "teleconference_minutes": str(teleconference_minutes),
                                  "reason": reason})


def paypal_refunds(paypal):
    return [r for r in paypal.requests_log if r.method == "POST" and r.path.endswith("/refund")]


@pytest.fixture
def ended(csrf_client, host, paypal):
    """A paid pay-per-use session that ended; three people were in it for the whole hour."""
    session, cost = schedule_and_pay(csrf_client, paypal)
    move_into_the_past(session)
    for n in range(3):
        joined(session, f"Person {n}", f"person{n}@example.com", 0)
    return session, cost


def test_settling_on_less_usage_refunds_the_difference_through_paypal(csrf_client, ended, paypal):
    session, cost = ended

    # 3 people × 60 min = 180 person-minutes × 10 cents = 18.00 EUR; paid 66.00 EUR
    response = settle(csrf_client, session, 180)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/sessions/{session.id}/cost/settlement"
    db.session.expire_all()
    cost = db.session.get(SessionCost, cost.id)
    assert (cost.state, cost.settlement, cost.actual_total_minor) == ("settled", "refunded", 1800)
    assert cost.order.refunded_minor == ESTIMATE_TOTAL - 1800
    assert cost.order.state == "partially_refunded"
    assert cost.order.refunds[-1].reason == "pay-per-use settlement"
    assert len(paypal_refunds(paypal)) == 1
    assert cost.order.refunds[-1].provider_refund_id
    capture = paypal.captures[cost.order.payments[-1].capture_id]
    assert capture["status"] == "PARTIALLY_REFUNDED"
    html = csrf_client.get(response.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "The session is settled and the difference has been refunded." in html
    assert "€48.00 was refunded to the payment it came from." in html


def test_the_page_shows_the_estimate_beside_the_actual_usage(csrf_client, ended):
    session, _ = ended
    settle(csrf_client, session, 180, 30)

    html = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en").get_data(as_text=True)

    assert re.search(r'id="estimate-total"><strong>€66.00<', html)
    assert re.search(r'id="actual-total"><strong>€19.50<', html)  # 180 × 10 + 30 × 5 cents
    assert re.search(r'id="actual-person-minutes">180<', html)
    assert "3 people joined" in html
    assert re.search(r'id="difference">€46.50<', html)
    assert "settlement-form" not in html


def test_in_credit_mode_the_difference_is_kept_as_credit_and_nothing_is_refunded(
        csrf_client, ended, host, paypal):
    commerce.update_settings(host.organization, settlement_mode="credit")
    session, cost = ended

    settle(csrf_client, session, 180)

    db.session.expire_all()
    cost = db.session.get(SessionCost, cost.id)
    assert (cost.state, cost.settlement) == ("settled", "credited")
    assert cost.order.refunded_minor == 0 and cost.order.state == "paid"
    assert paypal_refunds(paypal) == []
    html = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en").get_data(as_text=True)
    assert "€48.00 is kept as a credit for the host." in html


def test_more_usage_than_paid_is_shown_as_owed_and_never_charged(csrf_client, ended, paypal):
    session, cost = ended
    orders_at_paypal = len(paypal.orders)

    response = settle(csrf_client, session, 700, reason="Ten more people joined by phone bridge")

    assert response.status_code == 302
    db.session.expire_all()
    cost = db.session.get(SessionCost, cost.id)
    assert (cost.settlement, cost.actual_total_minor) == ("owed", 7000)
    assert db.session.query(Order).count() == 1  # no new order to pay
    assert len(paypal.orders) == orders_at_paypal and paypal_refunds(paypal) == []
    assert cost.order.total_minor == ESTIMATE_TOTAL and cost.order.refunded_minor == 0
    html = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en").get_data(as_text=True)
    assert "Owed by the host (not charged)" in html
    assert "The session used €4.00 more than was paid." in html


def test_an_admin_sees_what_a_host_owes(app, csrf_client, ended, host):
    session, _ = ended
    settle(csrf_client, session, 700, reason="Ten more people joined by phone bridge")
    admin_client = CsrfClient(app.test_client())
    admin_client.sign_in(factories.make_user(host.organization, role="admin"))

    response = admin_client.get(f"/sessions/{session.id}/cost/settlement?lang=en")

    assert response.status_code == 200
    assert "The session used €4.00 more than was paid." in response.get_data(as_text=True)


def test_settling_a_second_time_is_refused_and_refunds_nothing_more(csrf_client, ended, paypal):
    session, cost = ended
    settle(csrf_client, session, 180)

    response = settle(csrf_client, session, 0, reason="Nobody came after all")

    assert response.status_code == 409
    assert "This session is already settled. It cannot be settled twice." in response.get_data(as_text=True)
    db.session.expire_all()
    cost = db.session.get(SessionCost, cost.id)
    assert (cost.actual_person_minutes, cost.order.refunded_minor) == (180, ESTIMATE_TOTAL - 1800)
    assert len(paypal_refunds(paypal)) == 1
    assert db.session.query(UsageCorrection).count() == 1


def test_before_the_session_ends_settling_is_not_offered(csrf_client, host, paypal):
    session, cost = schedule_and_pay(csrf_client, paypal)

    page = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en")
    response = settle(csrf_client, session, 0, reason="early")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You can settle once the session has ended." in html
    assert 'id="settlement-form"' not in html and 'name="person_minutes"' not in html
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(SessionCost, cost.id).state == "paid"
    assert db.session.query(UsageCorrection).count() == 0


def test_the_form_is_prefilled_with_person_minutes_measured_from_the_join_records(csrf_client, host, paypal):
    session, _ = schedule_and_pay(csrf_client, paypal)
    move_into_the_past(session)
    joined(session, "Ada", "ada@example.com", -10)  # early: counts from the start, 60
    joined(session, "Ada", "ada@example.com", 5)  # joined again: her first join counts
    joined(session, "Bo", "bo@example.com", 30)  # half the session, 30
    joined(session, "Cy", None, 45)  # no email: known by name, 15

    html = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en").get_data(as_text=True)

    assert re.search(r'name="person_minutes"[^>]*value="105"', html)
    assert re.search(r'name="teleconference_minutes"[^>]*value="0"', html)
    assert "Measured from the join records: 105 person-minutes" in html


def test_a_changed_number_needs_a_reason_and_the_form_keeps_the_input(csrf_client, ended):
    session, cost = ended

    response = settle(csrf_client, session, 150, 12)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Say why the person-minutes differ from the measured ones." in html
    assert re.search(r'name="person_minutes"[^>]*value="150"', html)
    assert re.search(r'name="teleconference_minutes"[^>]*value="12"', html)
    db.session.expire_all()
    assert db.session.get(SessionCost, cost.id).state == "paid"


@pytest.mark.parametrize("minutes", ["-1", "abc", ""])
def test_nonsense_minutes_get_a_field_error_and_change_nothing(csrf_client, ended, minutes):
    session, cost = ended

    response = csrf_client.post(f"/sessions/{session.id}/cost/settlement",
                                {"person_minutes": minutes, "teleconference_minutes": "0", "reason": "x"})

    assert response.status_code == 422
    assert 'id="person_minutes-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SessionCost, cost.id).state == "paid"


def test_the_audit_trail_lists_who_entered_what_and_why(csrf_client, ended, host):
    session, _ = ended

    settle(csrf_client, session, 150, 20, reason="Two people left at half time")

    html = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang=en").get_data(as_text=True)
    trail = html[html.index('id="audit-trail"'):]
    assert "Hanna Host" in trail and "Two people left at half time" in trail
    assert re.search(r"<td>150</td>\s*<td>20</td>", trail)
    entry = db.session.query(UsageCorrection).one()
    assert (entry.user_id, entry.person_minutes, entry.teleconference_minutes) == (host.id, 150, 20)


def test_a_refused_refund_leaves_the_session_unsettled_to_try_again(csrf_client, ended, paypal):
    session, cost = ended
    paypal.fail_next("/refund", 422, {"name": "UNPROCESSABLE_ENTITY"})

    response = settle(csrf_client, session, 180)

    assert response.status_code == 502
    assert "The payment service refused the refund." in response.get_data(as_text=True)
    db.session.expire_all()
    cost = db.session.get(SessionCost, cost.id)
    assert (cost.state, cost.settlement, cost.order.refunded_minor) == ("paid", None, 0)

    assert settle(csrf_client, session, 180).status_code == 302
    db.session.expire_all()
    assert db.session.get(SessionCost, cost.id).order.refunded_minor == ESTIMATE_TOTAL - 1800


def test_another_host_is_forbidden_and_another_organisation_sees_nothing(app, csrf_client, ended, host):
    session, cost = ended
    colleague = CsrfClient(app.test_client())
    colleague.sign_in(factories.make_user(host.organization, role="host"))
    stranger = CsrfClient(app.test_client())
    stranger.sign_in(factories.make_user(role="admin"))
    url = f"/sessions/{session.id}/cost/settlement"

    assert colleague.get(url).status_code == 403
    assert colleague.post(url, {"person_minutes": "0", "teleconference_minutes": "0"},
                          page="/sessions/").status_code == 403
    assert stranger.get(url).status_code == 404
    db.session.expire_all()
    assert db.session.get(SessionCost, cost.id).state == "paid"


def test_a_session_without_a_paid_estimate_has_no_settlement_page(csrf_client, host):
    unpaid = factories.make_session(host=host, state="awaiting_payment",
                                    starts_at=utcnow() - timedelta(hours=3))

    assert csrf_client.get(f"/sessions/{unpaid.id}/cost/settlement").status_code == 404


def test_a_raised_estimate_paid_in_two_orders_is_refunded_from_both(csrf_client, host, paypal):
    session, first = schedule_and_pay(csrf_client, paypal)
    # 20 computers: 12000 + 600 = 12600, of which 6600 is paid already: a second order of 6000
    confirm_and_pay(csrf_client, paypal, session, dict(ESTIMATE, computers="20"))
    latest = db.session.query(SessionCost).order_by(SessionCost.id.desc()).first()
    assert (latest.state, latest.total_minor, latest.order.total_minor) == ("paid", 12600, 6000)
    move_into_the_past(session)

    settle(csrf_client, session, 180, reason="Fewer came than expected")

    db.session.expire_all()
    latest = db.session.get(SessionCost, latest.id)
    first = db.session.get(SessionCost, first.id)
    assert latest.settlement == "refunded"
    assert (latest.order.refunded_minor, first.order.refunded_minor) == (6000, 12600 - 1800 - 6000)
    assert len(paypal_refunds(paypal)) == 2


@pytest.mark.parametrize("locale", ["sv", "fr", "sl", "ro", "ru"])
def test_the_settled_page_renders_in_every_language(csrf_client, ended, locale):
    session, _ = ended
    settle(csrf_client, session, 180)

    response = csrf_client.get(f"/sessions/{session.id}/cost/settlement?lang={locale}")

    assert response.status_code == 200
    assert f'<html lang="{locale}">' in response.get_data(as_text=True)
