"""A free user upgrades in a real browser: compare plans, fill the cart (htmx), sign in during
checkout, pay through the fake PayPal, and watch the set-up banner until provisioning ends."""

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests import factories
from tests.plan_factories import make_add_on, make_plan


@pytest.fixture
def free_account(live_server, paypal):
    live_server.app.config.update(PAYPAL_BASE_URL=paypal.base_url, PAYPAL_CLIENT_ID=paypal.client_id,
                                  PAYPAL_CLIENT_SECRET=paypal.client_secret)
    with live_server.app.app_context():
        make_plan("starter", monthly=1200, annual=12000, name="Starter", features=[("Cloud recording", "1 GB")])
        make_plan("business", monthly=2500, annual=25000, name="Business", features=[("Cloud recording", "10 GB")])
        make_plan("enterprise", monthly=4500, annual=45000, name="Enterprise",
                  features=[("Cloud recording", "Unlimited"), ("Single sign-on", "")])
        make_add_on("callback", monthly=900, annual=9000, name="Callback")
        user = factories.make_user(factories.make_organization(name="Fjord Courses"), role="admin",
                                   email="frida@fjord-courses.example", name="Frida")
        db.session.commit()
        return user.email


def test_a_free_user_buys_the_middle_plan_annually_and_sees_the_banner_until_provisioning_ends(
    page, live_server, free_account
):
    page.goto(f"{live_server.url}/plans/")
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name="Business")).to_be_visible()
    expect(table.get_by_role("row", name="Single sign-on")).to_contain_text("Not included")
    page.get_by_role("button", name=re.compile(r"^Buy now\W+Business$")).click()

    expect(page.get_by_role("heading", name="Cart")).to_be_visible()
    page.evaluate("window.sameDocument = true")
    page.get_by_label("Annually").check()
    page.get_by_label("Licenses").fill("3")
    expect(page.locator("#cart-total")).to_have_text("€750.00")
    page.get_by_label("Callback").check()
    expect(page.locator("#cart-total")).to_have_text("€840.00")  # 3 × €250 + €90, swapped in place
    assert page.evaluate("window.sameDocument") is True
    page.get_by_role("button", name="Proceed to checkout").click()

    expect(page.get_by_role("heading", name="Account details")).to_be_visible()
    page.get_by_label("Email address of your free account").fill(free_account)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("We found your account")).to_be_visible()
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Email address")).to_have_value(free_account)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("€840.00")  # the cart came through sign-in
    page.get_by_label("Billing address", exact=True).fill("Fjord Courses AS\nStrandgata 1\n5013 Bergen\nNorway")
    page.get_by_label("Calling plan").select_option("toll_free")
    expect(page.get_by_label("Site URL")).to_have_value("fjord-courses")
    page.get_by_label("Site URL").fill("fjord")
    expect(page.locator("#site-url-status")).to_contain_text("is available")
    page.get_by_label("terms of use").check()
    page.get_by_label("privacy policy").check()
    page.get_by_label("emergency-calling policy").check()
    page.get_by_role("button", name="Place order").click()

    page.get_by_role("button", name="Pay now").click()  # the fake PayPal's page
    expect(page.get_by_text("Thank you! Your payment of €840.00 is complete.")).to_be_visible()
    banner = page.get_by_role("status").filter(has_text="Your site is being set up")
    expect(banner).to_be_visible()
    page.goto(f"{live_server.url}/")
    expect(banner).to_be_visible()  # on every page

    result = live_server.app.test_cli_runner().invoke(args=["provisioning", "run"])
    assert "provisioned: 1" in result.output, result.output
    page.reload()
    expect(page.get_by_text("Your site is being set up")).to_have_count(0)
    page.goto(f"{live_server.url}/plans/subscription")
    expect(page.get_by_role("main")).to_contain_text("fjord.lectern.localhost")
    expect(page.get_by_role("main")).to_contain_text("Active")
