"""The attendee lifecycle in a real browser: a full session, a waitlist, a self-service
cancellation refunded through PayPal, the offer passed on by email, paid, and invoiced."""

import email
import io
import re
from email import policy

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from app.extensions import db
from app.models import TaxRate
from app.services import commerce
from tests import factories


@pytest.fixture
def full_course(live_server, paypal):
    """One seat, €50 with 25 % VAT included, free cancellation until a day before."""
    with live_server.app.app_context():
        host = factories.make_user(role="host")
        host.organization.currency = "EUR"
        commerce.update_settings(
            host.organization, enabled=True, fee_based=True, paypal_enabled=True,
            paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
            paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
            cancellation_policy='[{"hours_before": 24, "refund_percent": 100}]',
        )
        settings = commerce.settings_for(host.organization)
        settings.legal_name, settings.legal_address = "Skills Academy Ltd", "1 Main Street, Dublin"
        settings.legal_country, settings.legal_vat_id = "IE", "IE1234567T"
        settings.invoice_prefix, settings.prices_include_tax = "SA-", True
        db.session.add(TaxRate(organization_id=host.organization_id, country="", rate_bp=2500))
        db.session.commit()
        session = factories.make_session(host=host, title="Negotiation skills", fee_minor=5000,
                                         currency="EUR", capacity=1)
        return session.slug


def _mail_to(mail_dir, address):
    """The messages sent to `address` so far, oldest first."""
    messages = [email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for path in sorted(mail_dir.glob("*.eml"))]
    return [message for message in messages if message["To"] == address]


def _link(message, path):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"https?://\S+{path}\S+", text).group(0)


def _pay_with_paypal(page, amount):
    page.get_by_label("PayPal", exact=True).check()
    page.get_by_role("button", name=f"Pay {amount}").click()
    page.get_by_role("button", name="Pay now").click()  # the fake PayPal's approval page
    expect(page.get_by_role("heading", name="Thank you! Your registration is confirmed.")).to_be_visible()


def test_a_cancellation_frees_the_seat_for_the_waitlist_whose_offer_is_paid_and_invoiced(
    page, live_server, paypal, full_course
):
    # A takes the only seat.
    page.goto(f"{live_server.url}/s/{full_course}")
    page.get_by_role("button", name="Register").click()
    page.get_by_label("Your name").fill("Ana Attendee")
    page.get_by_label("Email address").fill("ana@example.com")
    page.get_by_role("button", name="Continue to payment").click()
    _pay_with_paypal(page, "€50.00")

    # B finds the session full and joins its waitlist.
    page.goto(f"{live_server.url}/s/{full_course}")
    expect(page.get_by_role("heading", name="Join the waitlist")).to_be_visible()
    page.get_by_label("Your name").fill("Bo Booker")
    page.get_by_label("Email address").fill("bo@example.com")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_text("You are on the waitlist")).to_be_visible()

    # A cancels through the one-time link in the confirmation email and is refunded.
    [confirmation] = _mail_to(live_server.mail_dir, "ana@example.com")
    page.goto(_link(confirmation, "/c/"))
    expect(page.get_by_text("If you cancel now, you get the full €50.00 back.")).to_be_visible()
    page.get_by_role("button", name="Cancel my registration").click()
    expect(page.get_by_text("Your registration is canceled.")).to_be_visible()
    expect(page.get_by_text("We have refunded €50.00.")).to_be_visible()
    assert sum(paypal._refunded.values()) == 50

    # B gets the offer by email, takes the seat and pays.
    offer = next(m for m in _mail_to(live_server.mail_dir, "bo@example.com") if "/w/" in
                 m.get_body(preferencelist=("plain",)).get_content())
    page.goto(_link(offer, "/w/"))
    page.get_by_role("button", name="Take the seat").click()
    expect(page.get_by_role("heading", name="Payment information")).to_be_visible()
    _pay_with_paypal(page, "€50.00")

    # …and downloads the invoice: A's invoice and credit note came first, so B's is the third.
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"Invoice SA-0*3 \(PDF\)")).click()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(download.value.path().read_bytes())).pages)
    assert re.search(r"SA-0*3", text)
    assert "Bo Booker" in text and "Skills Academy Ltd" in text
    assert "€50.00" in text
    assert "€10.00" in text  # 25 % VAT included in €50.00
    assert "25" in text and "VAT" in text
