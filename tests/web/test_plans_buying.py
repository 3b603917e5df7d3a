"""Buying a plan through the pages: pricing, cart, account lookup, checkout, PayPal, banner,
the subscription page, and what each refuses."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, PortingRequest, SalesRequest, Subscription, User
from app.models.base import utcnow
from app.services import provisioning
from tests.factories import make_organization, make_user
from tests.plan_factories import make_add_on, make_plan

CHECKOUT_DETAILS = {
    "billing_address": "Acme AB\nStorgatan 1\n111 22 Stockholm\nSweden",
    "service_same_as_billing": "y",
    "calling_plan": "toll",
    "new_numbers": "2",
    "porting_numbers": "",
    "site_subdomain": "acme",
    "renewal_payment": "paypal",
    "accept_terms": "y",
    "accept_privacy": "y",
    "accept_emergency": "y",
}


@pytest.fixture
def catalogue(app):
    starter = make_plan("starter", monthly=1200, annual=12000, name="Starter",
                        features=[("Attendees per meeting", "100")])
    business = make_plan("business", monthly=2500, annual=25000, name="Business",
                         features=[("Attendees per meeting", "200"), ("Cloud recording", "")])
    callback = make_add_on("callback", monthly=900, annual=9000, name="Callback")
    return starter, business, callback


@pytest.fixture
def operator_paypal(app, paypal):
    app.config.update(PAYPAL_BASE_URL=paypal.base_url, PAYPAL_CLIENT_ID=paypal.client_id,
                      PAYPAL_CLIENT_SECRET=paypal.client_secret)
    return paypal


def _buyer(email="anna@acme.example"):
    return make_user(make_organization(name="Acme"), role="admin", email=email)


def _fill_cart(csrf_client, plan="business", licenses="3", add_ons=("callback",), cycle="annual"):
    assert csrf_client.post("/plans/cart", {"plan": plan}, page="/plans/").status_code == 302
    return csrf_client.post("/plans/cart/update", {"cycle": cycle, "licenses": licenses, "add_ons": list(add_ons)},
                            page="/plans/cart")


def _checkout_form(csrf_client):
    html = csrf_client.get("/plans/checkout").get_data(as_text=True)
    revision = re.search(r'name="cart_revision" type="hidden" value="(\d+)"', html).group(1)
    total = re.search(r'name="shown_total" type="hidden" value="(\d+)"', html).group(1)
    return html, {**CHECKOUT_DETAILS, "cart_revision": revision, "shown_total": total}


def _counts():
    return (db.session.scalar(select(func.count(Subscription.id))),
            db.session.scalar(select(func.count(Order.id))))


def test_pricing_page_compares_plans_in_an_accessible_table_with_prices_in_the_readers_locale(client, catalogue):
    html = client.get("/plans/?lang=sv").get_data(as_text=True)
    assert "Starter" in html and "Business" in html
    assert '<th scope="col">Business</th>' in html
    assert '<th scope="row">Attendees per meeting</th>' in html
    assert "25,00\xa0€" in html  # Business monthly, Swedish formatting
    assert "17\xa0%" in html or "17 %" in html or "17%" in html  # 12 × 25 = 300 vs 250 a year


def test_a_retired_plan_is_not_offered_and_cannot_be_put_in_a_cart(csrf_client, catalogue):
    starter, _, _ = catalogue
    starter.retired = True
    db.session.commit()
    assert "Starter" not in csrf_client.get("/plans/").get_data(as_text=True)
    response = csrf_client.post("/plans/cart", {"plan": "starter"}, page="/plans/", follow_redirects=True)
    assert "no longer on sale" in response.get_data(as_text=True)


def test_the_cart_total_updates_in_place_as_licenses_and_add_ons_change(csrf_client, catalogue):
    csrf_client.post("/plans/cart", {"plan": "business"}, page="/plans/")
    response = csrf_client.htmx_post("/plans/cart/update", {"cycle": "annual", "licenses": "3", "add_ons": ["callback"]},
                                     page="/plans/cart")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html  # the fragment only
    assert "€840.00" in html  # 3 × 250 + 90
    monthly = csrf_client.htmx_post("/plans/cart/update", {"cycle": "monthly", "licenses": "3"}, page="/plans/cart")
    assert "€75.00" in monthly.get_data(as_text=True)  # 3 × 25, Callback unticked


@pytest.mark.parametrize("licenses", ["0", "-2", "abc", "100001"])
def test_zero_negative_or_absurd_licenses_get_a_clear_error_and_leave_the_cart_as_it_was(csrf_client, catalogue, licenses):
    _fill_cart(csrf_client, licenses="2", add_ons=())
    response = csrf_client.htmx_post("/plans/cart/update", {"cycle": "annual", "licenses": licenses}, page="/plans/cart")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in html
    assert "€500.00" in html  # still the saved 2 licenses


def test_an_add_on_that_does_not_exist_or_is_retired_is_refused(csrf_client, catalogue):
    _, _, callback = catalogue
    _fill_cart(csrf_client)
    callback.retired = True
    db.session.commit()
    response = csrf_client.htmx_post("/plans/cart/update", {"cycle": "annual", "licenses": "3", "add_ons": ["callback"]},
                                     page="/plans/cart")
    assert response.status_code == 422
    assert "no longer on sale" in response.get_data(as_text=True)
    ghost = csrf_client.htmx_post("/plans/cart/update", {"cycle": "annual", "licenses": "3", "add_ons": ["teleport"]},
                                  page="/plans/cart")
    assert ghost.status_code == 422


def test_checkout_finds_the_existing_free_account_and_returns_to_the_cart_after_signing_in(csrf_client, catalogue):
    buyer = _buyer()
    _fill_cart(csrf_client)
    assert "Account details" in csrf_client.get("/plans/checkout").get_data(as_text=True)
    found = csrf_client.post("/plans/checkout/account", {"email": "ANNA@acme.example"}, page="/plans/checkout")
    html = found.get_data(as_text=True)
    sign_in_link = re.search(r'href="(/auth/sign-in\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(sign_in_link).query)["next"] == ["/plans/checkout"]
    response = csrf_client.post(sign_in_link, {"email": buyer.email, "password": "correct horse battery",
                                               "next": "/plans/checkout"}, page=sign_in_link)
    assert response.headers["Location"] == "/plans/checkout"
    checkout = csrf_client.get("/plans/checkout").get_data(as_text=True)
    assert "Business" in checkout and "€840.00" in checkout  # nothing lost


def test_an_unknown_email_is_offered_a_new_free_account_that_leads_back_to_the_checkout(csrf_client, catalogue):
    _fill_cart(csrf_client)
    html = csrf_client.post("/plans/checkout/account", {"email": "new@acme.example"},
                            page="/plans/checkout").get_data(as_text=True)
    link = re.search(r'href="(/auth/sign-up\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(link).query) == {"next": ["/plans/checkout"], "email": ["new@acme.example"]}


def test_the_site_url_is_suggested_from_the_email_and_checked_live(csrf_client, catalogue):
    buyer = _buyer("anna@nordic-courses.example")
    make_organization(subdomain="taken-name")
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    assert 'value="nordic-courses"' in csrf_client.get("/plans/checkout").get_data(as_text=True)
    taken = csrf_client.get("/plans/site-url?site_subdomain=taken-name", headers={"HX-Request": "true"})
    assert "taken" in taken.get_data(as_text=True)
    bad = csrf_client.get("/plans/site-url?site_subdomain=-no-", headers={"HX-Request": "true"})
    assert "lower-case letters" in bad.get_data(as_text=True)
    free = csrf_client.get("/plans/site-url?site_subdomain=free-name", headers={"HX-Request": "true"})
    assert "is available" in free.get_data(as_text=True)


def test_terms_not_accepted_is_refused_and_nothing_is_written(csrf_client, catalogue):
    buyer = _buyer()
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    _, form = _checkout_form(csrf_client)
    del form["accept_emergency"]
    response = csrf_client.post("/plans/checkout", form)
    assert response.status_code == 422
    assert "emergency-calling policy" in response.get_data(as_text=True)
    assert "Acme AB" in response.get_data(as_text=True)  # the buyer's input is kept
    assert _counts() == (0, 0)


def test_a_cart_changed_in_another_tab_is_refused_and_nothing_is_charged(csrf_client, catalogue, operator_paypal):
    buyer = _buyer()
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    _, form = _checkout_form(csrf_client)
    csrf_client.post("/plans/cart/update", {"cycle": "monthly", "licenses": "5"}, page="/plans/cart")  # other tab
    response = csrf_client.post("/plans/checkout", form)
    assert response.status_code == 422
    assert "changed in another tab" in response.get_data(as_text=True)
    assert _counts() == (0, 0)
    assert not operator_paypal.requests_log


def test_buying_a_plan_pays_through_paypal_then_shows_the_banner_until_provisioning_is_done(
        csrf_client, catalogue, operator_paypal):
    buyer = _buyer()
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    _, form = _checkout_form(csrf_client)
    response = csrf_client.post("/plans/checkout", form)
    assert response.status_code == 302
    approval = requests.post(f"{operator_paypal.base_url}/checkoutnow/approve",
                             data={"token": parse_qs(urlsplit(response.headers["Location"]).query)["token"][0]},
                             allow_redirects=False, timeout=5)
    back = urlsplit(approval.headers["Location"])
    order_page = csrf_client.get(f"{back.path}?{back.query}")
    assert order_page.status_code == 302
    html = csrf_client.get(order_page.headers["Location"]).get_data(as_text=True)
    assert "Your site is being set up" in html

    subscription = db.session.scalars(select(Subscription)).one()
    assert (subscription.state, subscription.licenses, subscription.cycle) == ("provisioning", 3, "annual")
    assert subscription.paypal_vault_id
    assert [a.add_on.code for a in subscription.add_ons] == ["callback"]
    assert len(subscription.phone_numbers) == 2
    assert "Your site is being set up" in csrf_client.get("/").get_data(as_text=True)

    assert provisioning.run_pending() == (1, 0)
    home = csrf_client.get("/").get_data(as_text=True)
    assert "Your site is being set up" not in home
    assert db.session.get(User, buyer.id).organization.subdomain == "acme"


def test_a_declined_payment_leaves_no_active_subscription(csrf_client, catalogue, operator_paypal):
    buyer = _buyer()
    operator_paypal.capture_status = "DECLINED"
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    _, form = _checkout_form(csrf_client)
    response = csrf_client.post("/plans/checkout", form)
    token = parse_qs(urlsplit(response.headers["Location"]).query)["token"][0]
    operator_paypal.approve(token)
    order = db.session.scalars(select(Order)).one()
    csrf_client.get(f"/plans/orders/{order.id}/paypal/return?token={token}")
    db.session.expire_all()
    assert db.session.scalars(select(Subscription)).one().state == "pending"
    assert "waiting for payment" in csrf_client.get(f"/plans/orders/{order.id}").get_data(as_text=True)
    assert "Your site is being set up" not in csrf_client.get("/").get_data(as_text=True)


def test_a_tax_exempt_organisation_is_sent_to_sales_which_records_and_emails_the_request(
        app, csrf_client, catalogue, outbox):
    buyer = _buyer()
    buyer.organization.tax_exempt = True
    db.session.commit()
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    assert "Contact sales" in csrf_client.get("/plans/cart").get_data(as_text=True)
    assert csrf_client.get("/plans/checkout").headers["Location"].endswith("/plans/contact-sales")
    response = csrf_client.post("/plans/contact-sales", {
        "name": "Anna", "email": buyer.email, "organization_name": "Acme", "message": "We are a charity."})
    assert response.status_code == 200
    request = db.session.scalars(select(SalesRequest)).one()
    assert "Business, annual, 3 licenses" in request.cart
    assert outbox()[-1].recipient == app.config["SALES_EMAIL"]
    assert _counts() == (0, 0)


def test_only_an_administrator_of_a_customer_organisation_can_buy(csrf_client, catalogue):
    member = make_user(role="host")
    _fill_cart(csrf_client)
    csrf_client.sign_in(member)
    response = csrf_client.get("/plans/checkout")
    assert response.status_code == 403
    assert "Only an administrator" in response.get_data(as_text=True)


def test_another_organisations_plan_order_does_not_exist_for_me(csrf_client, catalogue, operator_paypal):
    buyer = _buyer()
    _fill_cart(csrf_client)
    csrf_client.sign_in(buyer)
    _, form = _checkout_form(csrf_client)
    csrf_client.post("/plans/checkout", form)
    order = db.session.scalars(select(Order)).one()
    csrf_client.post("/auth/sign-out", {})
    csrf_client.sign_in(_buyer("eve@evil.example"))
    assert csrf_client.get(f"/plans/orders/{order.id}").status_code == 404


@pytest.fixture
def active_subscription(app, catalogue):
    _, business, _ = catalogue
    buyer = _buyer()
    now = utcnow()
    subscription = Subscription(
        organization=buyer.organization, plan=business, buyer=buyer, cycle="annual", licenses=2,
        license_price_minor=25000, currency="EUR", payment_method="paypal", state="active",
        site_subdomain="acme", billing_address="Acme", service_address="Acme", calling_plan="toll",
        terms_accepted_at=now, billing_anchor_day=now.day, current_period_start=now - timedelta(days=73),
        current_period_end=now + timedelta(days=292),
    )
    db.session.add(subscription)
    db.session.commit()
    return subscription


def test_adding_licenses_mid_period_quotes_the_prorated_price_live(csrf_client, active_subscription):
    csrf_client.sign_in(active_subscription.buyer)
    response = csrf_client.htmx_post("/plans/subscription/licenses/quote", {"licenses": "2"},
                                     page="/plans/subscription")
    # 292 of 365 days left: 2 × 250.00 × 292/365 = 400.00
    assert "€400.00" in response.get_data(as_text=True)
    bad = csrf_client.htmx_post("/plans/subscription/licenses/quote", {"licenses": "0"}, page="/plans/subscription")
    assert bad.status_code == 422


def test_hosts_can_only_be_assigned_up_to_the_number_of_licenses(csrf_client, active_subscription):
    organization = active_subscription.organization
    make_user(organization, role="host")  # the buyer (admin) and this host use both licenses
    member = make_user(organization, role="member")
    csrf_client.sign_in(active_subscription.buyer)
    response = csrf_client.htmx_post(f"/admin/people/{member.id}", {f"m{member.id}-role": "host",
                                                                   f"m{member.id}-department": ""},
                                     page="/admin/people")
    assert response.status_code == 422
    assert "licenses are in use" in response.get_data(as_text=True)
    assert db.session.get(User, member.id).role == "member"


def test_removing_licenses_takes_effect_at_renewal_and_never_below_the_hosts(csrf_client, active_subscription):
    csrf_client.sign_in(active_subscription.buyer)
    active_subscription.licenses = 4
    db.session.commit()
    assert csrf_client.post("/plans/subscription/licenses/reduce", {"licenses": "3"}).status_code == 302
    db.session.expire_all()
    assert (active_subscription.licenses, active_subscription.licenses_at_renewal) == (4, 3)
    too_few = csrf_client.post("/plans/subscription/licenses/reduce", {"licenses": "0"})
    assert too_few.status_code == 422


def test_auto_renewal_can_be_turned_off_by_the_buyer(csrf_client, active_subscription):
    csrf_client.sign_in(active_subscription.buyer)
    csrf_client.post("/plans/subscription/auto-renew", {}, page="/plans/subscription")
    db.session.expire_all()
    assert active_subscription.auto_renew is False


def test_a_porting_request_shows_an_earliest_completion_at_least_21_days_away(csrf_client, active_subscription):
    csrf_client.sign_in(active_subscription.buyer)
    response = csrf_client.post("/plans/subscription/porting", {"porting_numbers": "+46 8 123 456 78\n+4631234567"})
    assert response.status_code == 302
    porting = db.session.scalars(select(PortingRequest)).one()
    assert porting.numbers.split() == ["+46812345678", "+4631234567"]
    assert porting.earliest_completion_on >= (porting.requested_at + timedelta(days=21)).date()
    wrong = csrf_client.post("/plans/subscription/porting", {"porting_numbers": "12345"})
    assert wrong.status_code == 422 and "international form" in wrong.get_data(as_text=True)
