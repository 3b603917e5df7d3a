"""A partner orders for a customer in a real browser; the "Set up now" email arrives over SMTP;
the wizard is left half-way (nothing saved), restarted from the link and finished; the site
URL is checked live and Provision activates the customer and starts billing."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, Organization, PartnerOrder, Subscription
from tests import factories
from tests.fakes.smtp import FakeSmtpServer
from tests.plan_factories import make_add_on, make_plan


@pytest.fixture
def smtp(live_server):
    with FakeSmtpServer() as server:
        live_server.app.config.update(MAIL_TRANSPORT="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                                      MAIL_DELIVER_AFTER_REQUEST=False)
        yield server


@pytest.fixture
def partner(live_server):
    with live_server.app.app_context():
        make_plan("business", monthly=2500, annual=25000, name="Business")
        make_add_on("callback", monthly=900, annual=9000, name="Callback")
        partner = factories.make_user(factories.make_organization(name="Reseller AB", kind="partner"),
                                      role="admin", email="pia@reseller.example", name="Pia Partner")
        return partner.email


def counts(app):
    with app.app_context():
        return tuple(db.session.scalar(select(func.count()).select_from(model))
                     for model in (Organization, Subscription, Order))


def sign_in(page, url, email):
    page.goto(f"{url}/auth/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()


def test_partner_orders_the_contact_sets_up_from_the_email_and_provisions(page, live_server, smtp, partner):
    app = live_server.app
    sign_in(page, live_server.url, partner)
    page.get_by_role("link", name="Partner orders").click()
    page.get_by_role("button", name="Place an order").click()
    page.get_by_label("Plan").select_option("business")
    page.get_by_label("Annually").check()
    page.get_by_label("Licenses").fill("4")
    page.get_by_label("Callback").check()
    page.get_by_label("Customer's company name").fill("Fjord Consulting")
    page.get_by_label("Requested start date").fill(date.today().isoformat())
    page.get_by_label("Provisioning contact's email").fill(partner)
    page.get_by_role("button", name="Place order").click()
    expect(page.get_by_role("cell", name="Waiting for the start date")).to_be_visible()

    runner = app.test_cli_runner()
    assert "setup links sent: 1" in runner.invoke(args=["partners", "dispatch"]).output
    assert "sent 1" in runner.invoke(args=["mail", "send"]).output
    assert "setup links sent: 0" in runner.invoke(args=["partners", "dispatch"]).output  # once a day
    [message] = smtp.messages
    assert message["To"] == partner
    body = message.get_body(("plain",)).get_content()
    setup_url = re.search(r"Set up now: (\S+)", body).group(1)

    before = counts(app)
    page.goto(setup_url)
    page.get_by_label("I am a partner").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("I will set up the services myself").check()
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("Reseller AB", exact=True)).to_be_visible()  # the organisation under review
    page.get_by_role("button", name="Yes, this is us").click()
    page.get_by_label("Customer administrator's email address").fill("carl@fjord.example")
    page.get_by_role("button", name="Next").click()  # half-way: the name is missing
    expect(page.get_by_text("This field is required.")).to_be_visible()
    page.goto(f"{live_server.url}/")  # leaves the wizard
    assert counts(app) == before  # nothing saved

    page.goto(setup_url)  # the link starts it again
    expect(page.get_by_label("I am a partner")).not_to_be_checked()
    page.get_by_label("I am a partner").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("I will set up the services myself").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Yes, this is us").click()
    page.get_by_label("Customer administrator's email address").fill("carl@fjord.example")
    page.get_by_label("Customer administrator's name").fill("Carl Customer")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Company name")).to_have_value("Fjord Consulting")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Set up the order").click()

    expect(page.get_by_role("heading", name="Service setup")).to_be_visible()
    page.get_by_label("Calling plan").select_option("toll")
    page.get_by_label("Site URL").fill("admin")
    page.get_by_role("button", name="Check availability").click()
    expect(page.locator("#subdomain-status")).to_contain_text("hyphen")
    page.get_by_label("Site URL").fill("fjord-consulting")
    page.get_by_role("button", name="Check availability").click()
    expect(page.locator("#subdomain-status")).to_contain_text("is available")
    page.get_by_role("button", name="Provision", exact=True).click()
    expect(page.get_by_text("The site is provisioned and billing has started.")).to_be_visible()

    with app.app_context():
        order = db.session.scalars(select(PartnerOrder)).one()
        assert order.state == "provisioned"
        assert order.customer.subdomain == "fjord-consulting"
        assert order.subscription.state == "active"
        [invoice] = db.session.scalars(select(Order).where(Order.subscription_id == order.subscription_id)).all()
        assert invoice.total_minor == 4 * 25000 + 9000  # billing started for everything bought
