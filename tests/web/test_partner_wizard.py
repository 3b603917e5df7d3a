"""The setup wizard behind the "Set up now" link, walked as a browser would: with and without htmx."""

import re
import time
from html import unescape

import pytest
from flask_login import current_user
from sqlalchemy import func, select

from app.blueprints.partners.links import setup_link_for
from app.extensions import db
from app.models import Organization, OutboxMessage, PartnerOrder, Subscription, User
from app.services import partner_orders
from tests import factories
from tests.unit.test_partner_setup import make_partner, make_partner_order

STATE = re.compile(r'name="state" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK = re.compile(r"http://localhost(/partners/setup/[^\s\"<]+)")
PASSWORD = "a long enough password"


def link(order, handoff="contact", email=None):
    return setup_link_for(order, handoff, email).removeprefix("http://localhost")


def counts():
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Organization, User, Subscription, OutboxMessage)}


def reload(order):
    db.session.expire_all()
    return db.session.get(PartnerOrder, order.id)


class Walker:
    """Goes through the wizard keeping the signed state, as the page's form does."""

    def __init__(self, client, url, htmx=False):
        self.client, self.url, self.htmx = client, url, htmx
        self.state = self.csrf = None
        self.response = None

    @property
    def html(self):
        return self.response.get_data(as_text=True)

    def start(self):
        return self._remember(self.client.get(self.url))

    def post(self, action="next", **fields):
        data = {"state": self.state, "action": action, **fields}
        headers = {}
        if self.htmx:
            headers = {"HX-Request": "true", "X-CSRFToken": self.csrf}
        else:
            data["csrf_token"] = self.csrf
        return self._remember(self.client.post(self.url, data=data, headers=headers))

    def _remember(self, response):
        self.response = response
        html = response.get_data(as_text=True)
        state, csrf = STATE.search(html), CSRF.search(html)
        if state:
            self.state = unescape(state.group(1))
        if csrf:
            self.csrf = csrf.group(1)
        return response

    def step(self):
        match = re.search(r"Step (\d+) of (\d+)", self.html)
        heading = re.search(r'<h2 id="wizard-heading"[^>]*>([^<]+)</h2>', self.html)
        return (int(match.group(1)), int(match.group(2)), unescape(heading.group(1))) if match else None


CUSTOMER = {"customer_name": "Kund AB", "locale": "sv", "timezone": "Europe/Stockholm", "currency": "SEK"}
ADMIN = {"admin_email": "kim@kund.example", "admin_name": "Kim Kund"}


def walk_first_order_to_review(walker):
    walker.start()
    assert walker.step() == (1, 7, "Your role")
    walker.post(role="partner")
    assert walker.step() == (2, 7, "Who sets up")
    walker.post(who="me")
    assert walker.step() == (3, 7, "Create your partner organisation")
    walker.post(partner_name="Reseller Nordic AB", your_name="Pat Partner")
    assert walker.step() == (4, 7, "Customer administrator")
    walker.post(**ADMIN)
    assert walker.step() == (5, 7, "Customer details")
    walker.post(**CUSTOMER)
    assert walker.step() == (6, 7, "Review")


# Walking through ------------------------------------------------------------------------------


def test_a_partners_first_order_is_set_up_step_by_step_without_javascript(app, client, outbox):
    order = make_partner_order(customer_name="Kund AB")
    walker = Walker(client, link(order))

    walk_first_order_to_review(walker)
    assert "Reseller Nordic AB" in walker.html and "kim@kund.example" in walker.html
    assert "Svenska" in walker.html and "Europe/Stockholm".replace("_", " ") in walker.html
    walker.post()
    assert walker.step() == (7, 7, "Choose your password")
    assert "contact@reseller.example" in walker.html
    response = walker.post(password=PASSWORD, confirm=PASSWORD)

    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/partners/orders/{order.id}/service")
    order = reload(order)
    assert order.state == "in_setup" and order.partner_manages is True
    assert order.partner.name == "Reseller Nordic AB"
    assert order.customer.name == "Kund AB" and order.subscription.state == "pending"
    assert [m.recipient for m in outbox()] == ["kim@kund.example"]
    with client:  # signed in as the new partner administrator
        client.get("/")
        assert current_user.is_authenticated and current_user.email == "contact@reseller.example"


def test_the_same_walk_with_htmx_swaps_only_the_wizard(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order), htmx=True)
    walker.start()

    for fields in ({"role": "partner"}, {"who": "me"},
                   {"partner_name": "Reseller AB", "your_name": "Pat Partner"}, ADMIN, CUSTOMER, {}):
        response = walker.post(**fields)
        assert response.status_code == 200
        assert "<html" not in walker.html and 'id="wizard"' not in walker.html
        assert "autofocus" in walker.html  # the new step's heading takes the focus
        assert "Vary" in response.headers and "HX-Request" in response.headers["Vary"]
    assert walker.step() == (7, 7, "Choose your password")
    response = walker.post(password=PASSWORD, confirm=PASSWORD)

    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith(f"/partners/orders/{order.id}/service")
    assert reload(order).state == "in_setup"


def test_the_page_holds_the_wizard_region_that_htmx_swaps(app, client):
    order = make_partner_order()
    html = client.get(link(order)).get_data(as_text=True)

    assert '<div id="wizard" aria-live="polite">' in html
    assert 'hx-post="' in html and 'hx-target="#wizard"' in html
    assert "<fieldset" in html and "<legend>Your role</legend>" in html


def test_invalid_input_comes_back_with_422_and_keeps_what_was_typed(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    walker.post(who="me")
    walker.post(partner_name="Reseller AB", your_name="Pat")

    response = walker.post(admin_email="not-an-address", admin_name="Kim Kund")

    assert response.status_code == 422
    assert walker.step()[2] == "Customer administrator"
    assert "Enter a valid email address." in walker.html
    assert 'value="not-an-address"' in walker.html and 'value="Kim Kund"' in walker.html
    assert 'aria-invalid="true"' in walker.html


def test_choosing_nobody_to_set_up_is_a_field_error(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")

    response = walker.post(who="colleague", colleague_email="")

    assert response.status_code == 422
    assert "This field is required." in walker.html


def test_back_keeps_the_answers(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walk_first_order_to_review(walker)

    walker.post("back")
    assert walker.step()[2] == "Customer details"
    assert 'value="Kund AB"' in walker.html and '<option selected value="SEK">' in walker.html
    walker.post("back", **CUSTOMER)
    walker.post("back", **ADMIN)
    assert walker.step()[2] == "Create your partner organisation"
    assert 'value="Reseller Nordic AB"' in walker.html and 'value="Pat Partner"' in walker.html
    walker.post(partner_name="Reseller Nordic AB", your_name="Pat Partner")
    assert 'value="kim@kund.example"' in walker.html


def test_change_on_the_review_goes_back_to_that_step(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walk_first_order_to_review(walker)

    walker.post("goto:admin")
    assert walker.step()[2] == "Customer administrator"
    walker.post(admin_email="other@kund.example", admin_name="Kim Kund")
    walker.post(**CUSTOMER)

    assert walker.step()[2] == "Review" and "other@kund.example" in walker.html


def test_leaving_half_way_writes_nothing_and_the_link_starts_again(app, client):
    order = make_partner_order()
    before = counts()
    walker = Walker(client, link(order))

    walk_first_order_to_review(walker)
    assert counts() == before  # half-way: nothing written
    walker.start()  # the person leaves and opens the link again

    assert counts() == before
    assert reload(order).state == "setup_sent"
    assert walker.step() == (1, 7, "Your role")
    assert "checked" not in walker.html
    walker.post(role="partner")
    walker.post(who="me")
    assert 'value="Reseller AB"' in walker.html  # the order's partner name, not the earlier answer


def test_the_state_cannot_be_forged_or_used_for_another_order(app, client):
    order, other = make_partner_order(), make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    foreign = Walker(client, link(other))
    foreign.start()
    foreign.state = walker.state  # a state from the first order's wizard

    assert foreign.post(who="me").status_code == 400
    assert "Please start again" in foreign.html
    walker.state = walker.state[:-3] + "abc"
    assert walker.post(who="me").status_code == 400


# The partner organisation ---------------------------------------------------------------------


def test_an_existing_partner_reviews_its_organisation_and_signs_in_to_continue(app, csrf_client):
    partner = make_partner("Reseller AB")
    order = make_partner_order(partner=partner)
    walker = Walker(csrf_client.client, link(order))
    walker.start()
    assert walker.step() == (1, 6, "Your role")
    walker.post(role="partner")
    walker.post(who="me")

    assert walker.step()[2] == "Your partner organisation"
    assert "Reseller AB" in walker.html and "pat@reseller.example" in walker.html
    assert "Yes, this is us" not in walker.html
    assert "/auth/sign-in?next=" in walker.html and "Sign in to continue" in walker.html
    assert walker.post().status_code == 422  # "Yes" without signing in is refused

    csrf_client.sign_in(partner.users[0])
    walker.start()
    walker.post(role="partner")
    walker.post(who="me")
    assert "Yes, this is us" in walker.html
    walker.post()
    walker.post(**ADMIN)
    walker.post(**CUSTOMER)
    assert walker.step() == (6, 6, "Review")
    assert "Set up the order" in walker.html
    response = walker.post()

    assert response.status_code == 302
    order = reload(order)
    assert order.state == "in_setup" and order.set_up_by_email == "pat@reseller.example"
    assert order.subscription.buyer.email == "pat@reseller.example"


def test_this_is_not_us_stops_without_saving_anything(app, client):
    order = make_partner_order(partner=make_partner())
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    walker.post(who="me")
    before = counts()

    response = walker.post("not_us")

    assert response.status_code == 200
    assert "Contact your account representative" in walker.html
    assert "partners@lectern.localhost" in walker.html and order.code in walker.html
    assert counts() == before
    assert reload(order).state == "setup_sent"


def test_a_first_order_whose_contact_already_has_an_account_elsewhere_is_told_at_the_partner_step(app, client):
    factories.make_user(email="contact@reseller.example")
    order = make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    walker.post(who="me")

    response = walker.post(partner_name="Reseller AB", your_name="Pat")

    assert response.status_code == 422
    assert "already belongs to a user of another organisation" in walker.html


# Handing the setup on -------------------------------------------------------------------------


def test_another_person_in_my_company_gets_their_own_link_and_nothing_else_is_saved(app, client, outbox):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    before = counts()

    response = walker.post(who="colleague", colleague_email="Sam@Reseller.example")

    assert response.status_code == 200
    assert "We sent the setup link to sam@reseller.example" in walker.html
    [message] = outbox()
    assert message.recipient == "sam@reseller.example"
    token = LINK.search(message.body_text).group(1).rsplit("/", 1)[1]
    setup_link = partner_orders.read_setup_token(token, app.config["SECRET_KEY"], 3600)
    assert (setup_link.order.id, setup_link.handoff) == (order.id, "colleague")
    assert setup_link.email == "sam@reseller.example"
    after = counts()
    assert after.pop("OutboxMessage") == before.pop("OutboxMessage") + 1 and after == before
    assert reload(order).state == "setup_sent"

    colleague = Walker(client, LINK.search(message.body_text).group(1))
    colleague.start()  # they set up as the partner: no role, no "who sets up"
    assert colleague.step() == (1, 5, "Create your partner organisation")
    assert "sam@reseller.example" in colleague.html


def test_handing_the_setup_to_the_customer_gives_them_a_customer_link(app, client, outbox):
    order = make_partner_order(partner=make_partner())
    walker = Walker(client, link(order), htmx=True)
    walker.start()
    walker.post(role="partner")

    walker.post(who="customer", customer_email="kim@kund.example")

    assert "We sent the setup link to kim@kund.example" in walker.html
    assert "no access to manage the customer" in walker.html
    [message] = outbox()
    customer = Walker(client, LINK.search(message.body_text).group(1))
    customer.start()
    assert customer.step() == (1, 4, "Your administrator account")
    assert 'value="kim@kund.example"' in customer.html


def test_the_customer_sets_up_with_their_own_link_and_the_partner_does_not_manage_it(app, client, outbox):
    order = make_partner_order(partner=make_partner())
    walker = Walker(client, link(order, "customer", "kim@kund.example"))
    walker.start()

    walker.post(admin_email="kim@kund.example", admin_name="Kim Kund")
    walker.post(**CUSTOMER)
    assert walker.step() == (3, 4, "Review")
    assert "Only the customer manages their organisation." in walker.html
    walker.post()
    response = walker.post(password=PASSWORD, confirm=PASSWORD)

    assert response.status_code == 302
    order = reload(order)
    assert order.partner_manages is False and order.set_up_by_email == "kim@kund.example"
    assert outbox() == []
    with client:
        client.get("/")
        assert current_user.email == "kim@kund.example"


# The customer administrator -------------------------------------------------------------------


def test_a_customer_administrator_of_another_organisation_is_refused(app, client):
    factories.make_user(email="kim@kund.example")
    order = make_partner_order()
    walker = Walker(client, link(order))
    walker.start()
    walker.post(role="partner")
    walker.post(who="me")
    walker.post(partner_name="Reseller AB", your_name="Pat")

    response = walker.post(**ADMIN)

    assert response.status_code == 422
    assert "A user belongs to exactly one organisation." in walker.html
    assert walker.step()[2] == "Customer administrator"


def test_an_address_taken_before_the_last_step_sends_the_person_back_to_that_step(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walk_first_order_to_review(walker)
    walker.post()
    factories.make_user(email="kim@kund.example")  # meanwhile

    response = walker.post(password=PASSWORD, confirm=PASSWORD)

    assert response.status_code == 422
    assert walker.step()[2] == "Customer administrator"
    assert "A user belongs to exactly one organisation." in walker.html
    assert reload(order).state == "setup_sent"


def test_the_password_must_be_repeated(app, client):
    order = make_partner_order()
    walker = Walker(client, link(order))
    walk_first_order_to_review(walker)
    walker.post()

    response = walker.post(password=PASSWORD, confirm="something else")

    assert response.status_code == 422
    assert "The two passwords do not match." in walker.html
    assert PASSWORD not in walker.html
    assert reload(order).state == "setup_sent"


# Two people at once ---------------------------------------------------------------------------


def test_when_two_people_finish_the_same_order_the_second_is_told(app, client):
    order = make_partner_order()
    before = counts()
    first, second = Walker(app.test_client(), link(order)), Walker(app.test_client(), link(order))
    for walker in (first, second):
        walk_first_order_to_review(walker)
        walker.post()

    assert first.post(password=PASSWORD, confirm=PASSWORD).status_code == 302
    response = second.post(password=PASSWORD, confirm=PASSWORD)

    assert response.status_code == 409
    assert "This order has just been set up by someone else." in second.html
    assert counts()["Subscription"] == before["Subscription"] + 1
    assert counts()["Organization"] == before["Organization"] + 2  # one partner, one customer


def test_a_link_for_an_order_already_set_up_says_so(app, client):
    order = make_partner_order(state="in_setup")

    response = client.get(link(order))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "This order has already been set up." in html
    assert "/auth/sign-in?next=" in html and f"/partners/orders/{order.id}/service" in html


# Links that cannot be used --------------------------------------------------------------------


def test_an_expired_link_explains_and_offers_a_new_one(app, client, monkeypatch):
    order = make_partner_order()
    fifteen_days_ago = time.time() - 15 * 24 * 3600  # links work for SETUP_LINK_DAYS = 14
    with monkeypatch.context() as past:
        past.setattr("itsdangerous.timed.time.time", lambda: fifteen_days_ago)
        expired = link(order)

    response = client.get(expired)

    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "This setup link has expired" in html
    assert 'action="/partners/setup/new-link"' in html
    assert f'value="{order.code}"' in html and 'value="contact@reseller.example"' in html


def test_a_tampered_link_is_refused_with_a_way_to_ask_for_a_new_one(app, client):
    order = make_partner_order()
    good = link(order)

    response = client.get(good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"))

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This setup link is not valid" in html and 'action="/partners/setup/new-link"' in html


def test_a_new_link_goes_to_the_contact_only_when_code_and_email_match(app, csrf_client, outbox):
    order = make_partner_order()
    neutral = "If the details match an order awaiting setup, we have sent a new link to its provisioning contact."

    wrong = csrf_client.post("/partners/setup/new-link", {"code": order.code, "email": "someone@else.example"})
    assert wrong.status_code == 200 and neutral in wrong.get_data(as_text=True)
    assert outbox() == []

    right = csrf_client.post("/partners/setup/new-link",
                             {"code": order.code.lower(), "email": "Contact@Reseller.example"})
    assert right.status_code == 200 and neutral in right.get_data(as_text=True)
    [message] = outbox()
    assert message.recipient == "contact@reseller.example" and "/partners/setup/" in message.body_text


def test_asking_for_a_new_link_needs_both_details(app, csrf_client, outbox):
    response = csrf_client.post("/partners/setup/new-link", {"code": "", "email": ""})

    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)
    assert outbox() == []


def test_asking_for_new_links_is_rate_limited(app, csrf_client):
    app.config["RATELIMIT_SETUP_LINK"] = "2 per minute"
    statuses = [
        csrf_client.post("/partners/setup/new-link", {"code": "P-NOPE", "email": "a@b.example"},
                         page="/partners/setup/new-link").status_code
        for _ in range(3)
    ]

    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("locale", ["sv", "ru"])
def test_the_wizard_speaks_the_readers_language(app, client, locale):
    order = make_partner_order()

    response = client.get(link(order), headers={"Accept-Language": locale})

    assert response.status_code == 200
    assert f'<html lang="{locale}">' in response.get_data(as_text=True)


def test_a_link_for_a_canceled_order_says_so(app, client):
    order = make_partner_order(state="canceled")

    response = client.get(link(order))

    assert response.status_code == 410
    assert "This order has been canceled." in response.get_data(as_text=True)


def test_asking_for_a_new_link_has_its_own_page(app, client):
    response = client.get("/partners/setup/new-link")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ask for a new setup link" in html and 'name="code"' in html
