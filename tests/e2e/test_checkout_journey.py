"""The attendee's path in a real browser: public page, register, coupon (htmx), PayPal, receipt, email."""

import email
from email import policy

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Coupon
from app.services import commerce
from tests import factories


@pytest.fixture
def paid_session(live_server, paypal):
    with live_server.app.app_context():
        host = factories.make_user(role="host")
        host.organization.currency = "EUR"
        commerce.update_settings(
            host.organization, enabled=True, fee_based=True, coupons=True, paypal_enabled=True,
            paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
            paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
        )
        session = factories.make_session(host=host, title="Negotiation skills", fee_minor=5000,
                                         currency="EUR", capacity=8)
        db.session.add(Coupon(organization_id=host.organization_id, code="HALF", kind="percent", value=50))
        db.session.commit()
        return session.slug


def test_register_apply_a_coupon_pay_through_paypal_and_get_the_receipt_and_email(
    page, live_server, paid_session
):
    page.goto(f"{live_server.url}/s/{paid_session}")
    expect(page.get_by_role("heading", name="Negotiation skills")).to_be_visible()
    expect(page.get_by_text("€50.00")).to_be_visible()
    page.get_by_role("button", name="Register").click()

    page.get_by_label("Your name").fill("Ana Attendee")
    page.get_by_label("Email address").fill("ana@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Payment information")).to_be_visible()

    page.evaluate("window.sameDocument = true")
    page.get_by_label("Coupon code").fill("nope")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("This coupon code cannot be used for this order.")).to_be_visible()
    page.get_by_label("Coupon code").fill("half")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#order-total")).to_have_text("€25.00")
    assert page.evaluate("window.sameDocument") is True  # swapped in place, no reload

    page.get_by_label("PayPal", exact=True).check()
    page.get_by_role("button", name="Pay €25.00").click()
    expect(page.get_by_role("button", name="Pay now")).to_be_visible()  # the fake PayPal's page
    page.get_by_role("button", name="Pay now").click()

    expect(page.get_by_role("heading", name="Thank you! Your registration is confirmed.")).to_be_visible()
    [eml] = list(live_server.mail_dir.glob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert message["To"] == "ana@example.com"
    assert "Negotiation skills" in message["Subject"]
    attachments = {part.get_filename(): part.get_content() for part in message.iter_attachments()}
    assert "BEGIN:VEVENT" in attachments["session.ics"]
