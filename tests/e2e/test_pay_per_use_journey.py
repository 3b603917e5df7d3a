"""The host's path with pay-per-use on: Schedule, the estimate updating in place, Change and
back, pay through PayPal, the session scheduled."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import TrainingSession
from app.services import commerce
from tests import factories
from tests.e2e.test_journeys import sign_in


@pytest.fixture
def host_login(live_server, paypal):
    with live_server.app.app_context():
        host = factories.make_user(role="host", email="hana@example.com")
        host.organization.currency = "EUR"
        commerce.update_settings(
            host.organization, enabled=True, pay_per_use=True, paypal_enabled=True,
            paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
            paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
            person_minute_rate=Decimal("2"), teleconference_minute_rate=Decimal("5"),
        )
        db.session.commit()
    return "hana@example.com", factories.PASSWORD


def test_schedule_see_the_estimate_change_pay_and_the_session_is_scheduled(page, live_server, host_login):
    page.goto(f"{live_server.url}/auth/sign-in")
    sign_in(page, *host_login)
    page.goto(f"{live_server.url}/sessions/new")
    page.get_by_label("Title").fill("Leadership basics")
    page.get_by_label("Date").fill("2031-03-04")
    page.get_by_label("Start time").fill("10:00")
    page.get_by_label("Duration (minutes)").fill("60")
    page.get_by_label("Seats").fill("10")
    page.get_by_label("Meeting URL of the live room").fill("https://meet.example/lead")
    page.get_by_role("button", name="Schedule").click()

    expect(page.get_by_role("heading", name="Estimated session cost")).to_be_visible()
    expect(page.locator("#estimate-total")).to_have_text("€12.00")  # 60 × 10 × 2 cents
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Computers connected to the session").fill("25")
    expect(page.locator("#estimate-total")).to_have_text("€30.00")  # updated in place
    assert page.evaluate("window.sameDocument") is True

    page.get_by_role("button", name="Change").click()
    expect(page.get_by_label("Title")).to_have_value("Leadership basics")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Estimated session cost")).to_be_visible()

    page.get_by_label("Computers connected to the session").fill("25")
    expect(page.locator("#estimate-total")).to_have_text("€30.00")
    page.locator("main").get_by_role("button", name="Schedule").click()
    expect(page.get_by_role("heading", name="Payment information")).to_be_visible()
    page.get_by_label("PayPal", exact=True).check()
    page.get_by_role("button", name="Pay €30.00").click()
    page.get_by_role("button", name="Pay now").click()

    expect(page.get_by_role("heading", name="Paid. Your session is scheduled.")).to_be_visible()
    with live_server.app.app_context():
        assert db.session.query(TrainingSession).one().state == "scheduled"
