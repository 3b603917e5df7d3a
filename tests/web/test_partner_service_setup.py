"""Service setup through the pages: who may open it, *Check availability* with and without
htmx, refused settings (422, input kept, nothing saved), Provision once, and the done page."""

import re

import pytest

from app.extensions import db
from app.models import Order, Organization, OutboxMessage, PartnerOrder, Payment, Subscription
from tests import factories
from tests.subscription_factories import count
from tests.unit.test_partner_provisioning import make_order_in_setup

FORM = {
    "calling_plan": "toll",
    "new_numbers": "1",
    "default_duration_min": "45",
    "locale": "en",
    "timezone": "Europe/Stockholm",
    "company_name": "Acme Training AB",
    "subdomain": "acme-training",
}


def _page(order):
    return f"/partners/orders/{order.id}/service"


def _provision_url(order):
    return f"/partners/orders/{order.id}/provision"


def _check_url(order, subdomain):
    return f"/partners/orders/{order.id}/service/subdomain?subdomain={subdomain}"


def _nothing_saved(setup):
    db.session.expire_all()
    order = db.session.get(PartnerOrder, setup.order.id)
    customer = db.session.get(Organization, setup.customer.id)
    subscription = db.session.get(Subscription, setup.subscription.id)
    return (order.state == "in_setup" and subscription.state == "pending" and customer.name == setup.customer.name
            and customer.subdomain == setup.customer.subdomain and customer.default_duration_min == 60
            and count(Order) == 0 and count(OutboxMessage) == 0)


@pytest.fixture
def setup(app):
    return make_order_in_setup(partner_manages=True)


# Who may open it ----------------------------------------------------------------------------------


def test_the_customer_s_administrator_sees_every_section(csrf_client, setup):
    csrf_client.sign_in(setup.customer_admin)

    response = csrf_client.get(_page(setup.order))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for heading in ("Subscription details", "Calling settings", "Meeting settings", "Company settings"):
        assert heading in html
    assert setup.plan.name in html and "Annually" in html
    assert f'action="/partners/orders/{setup.order.id}/provision"' in html
    assert 'name="subdomain"' in html and f'value="{setup.customer.subdomain}"' in html
    assert "Computer audio only" in html and 'value="60"' in html


def test_the_partner_s_administrator_may_set_up_a_customer_the_partner_manages(csrf_client, setup):
    csrf_client.sign_in(setup.partner_admin)

    assert csrf_client.get(_page(setup.order)).status_code == 200


def test_when_the_customer_set_it_up_the_partner_has_no_access(csrf_client, app):
    alone = make_order_in_setup(partner_manages=False)
    csrf_client.sign_in(alone.partner_admin)

    assert csrf_client.get(_page(alone.order)).status_code == 404
    assert csrf_client.get(_check_url(alone.order, "free-name"), headers={"HX-Request": "true"}).status_code == 404
    token = csrf_client.token("/partners/orders")
    assert csrf_client.post(_provision_url(alone.order), FORM | {"csrf_token": token}).status_code == 404
    assert _nothing_saved(alone)


@pytest.mark.parametrize("who", ["stranger", "customer_member", "partner_member"])
def test_anyone_else_is_told_the_order_does_not_exist(csrf_client, setup, who):
    user = {
        "stranger": lambda: factories.make_user(role="admin"),
        "customer_member": lambda: factories.make_user(setup.customer, role="host"),
        "partner_member": lambda: factories.make_user(setup.partner, role="member"),
    }[who]()
    csrf_client.sign_in(user)

    assert csrf_client.get(_page(setup.order)).status_code == 404
    assert csrf_client.get(_check_url(setup.order, "x-name")).status_code == 404
    token = csrf_client.token("/")
    assert csrf_client.post(_provision_url(setup.order), FORM | {"csrf_token": token}).status_code == 404
    assert _nothing_saved(setup)


def test_an_unknown_order_or_one_still_waiting_for_its_wizard_is_not_found(csrf_client, app):
    waiting = make_order_in_setup(state="setup_sent")
    csrf_client.sign_in(waiting.customer_admin)

    assert csrf_client.get(_page(waiting.order)).status_code == 404
    assert csrf_client.get("/partners/orders/999999/service").status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, setup):
    response = client.get(_page(setup.order))

    assert response.status_code == 302
    assert "/auth/sign-in" in response.headers["Location"]
    assert client.get(_check_url(setup.order, "x-name")).status_code == 302


def test_the_operator_s_administrators_may_look_but_not_provision(csrf_client, setup):
    operator = factories.make_user(factories.make_organization(is_operator=True), role="admin")
    csrf_client.sign_in(operator)

    html = csrf_client.get(_page(setup.order)).get_data(as_text=True)
    assert "<fieldset disabled>" in html
    response = csrf_client.post(_provision_url(setup.order), FORM, page=_page(setup.order))
    assert response.status_code == 403
    assert _nothing_saved(setup)


# Check availability -------------------------------------------------------------------------------


def test_check_availability_answers_with_a_fragment_over_htmx(csrf_client, setup):
    factories.make_organization(subdomain="taken-name")
    csrf_client.sign_in(setup.customer_admin)
    htmx = {"HX-Request": "true"}

    taken = csrf_client.get(_check_url(setup.order, "taken-name"), headers=htmx).get_data(as_text=True)
    reserved = csrf_client.get(_check_url(setup.order, "admin"), headers=htmx).get_data(as_text=True)
    free = csrf_client.get(_check_url(setup.order, "Free-Name"), headers=htmx)
    own = csrf_client.get(_check_url(setup.order, setup.customer.subdomain), headers=htmx).get_data(as_text=True)

    assert "taken" in taken and 'class="field-error"' in taken and "<html" not in taken
    assert "lower-case letters" in reserved
    assert "free-name.lectern.localhost is available." in free.get_data(as_text=True)
    assert "HX-Request" in free.headers["Vary"]
    assert "is available" in own
    assert _nothing_saved(setup)


def test_the_page_wires_check_availability_to_htmx_and_to_a_plain_submit(csrf_client, setup):
    csrf_client.sign_in(setup.customer_admin)

    html = csrf_client.get(_page(setup.order)).get_data(as_text=True)

    button = re.search(r"<button[^>]*name=\"check\"[^>]*>", html, re.S).group(0)
    assert f'hx-get="/partners/orders/{setup.order.id}/service/subdomain"' in button
    assert 'hx-include="#subdomain"' in button and 'hx-target="#subdomain-status"' in button
    assert 'hx-swap="innerHTML"' in button  # into the live region, so screen readers hear the answer
    assert f'formaction="/partners/orders/{setup.order.id}/service"' in button
    # The check comes before Provision, so Enter in a field only checks.
    assert html.index('name="check"') < html.index(">Provision</button>")


def test_check_availability_without_javascript_shows_the_page_again_and_saves_nothing(csrf_client, setup):
    factories.make_organization(subdomain="taken-name")
    csrf_client.sign_in(setup.customer_admin)

    taken = csrf_client.post(_page(setup.order), FORM | {"subdomain": "taken-name", "company_name": "Kept Name",
                                                         "check": "1"})
    free = csrf_client.post(_page(setup.order), FORM | {"subdomain": "free-name", "check": "1"})

    html = taken.get_data(as_text=True)
    assert taken.status_code == 200
    assert "This site URL is taken" in html and 'value="Kept Name"' in html and 'value="taken-name"' in html
    assert "free-name.lectern.localhost is available." in free.get_data(as_text=True)
    assert _nothing_saved(setup)


# Provision ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("changes, message", [
    ({"default_duration_min": "5"}, "Enter a number from 15 to 1440."),
    ({"default_duration_min": "many"}, "Not a valid integer value."),
    ({"new_numbers": "21"}, "Enter a number from 0 to 20."),
    ({"company_name": ""}, "This field is required."),
    ({"timezone": "Mars/Olympus_Mons"}, "Not a valid choice."),
    ({"subdomain": "admin"}, "lower-case letters"),
    ({"subdomain": "Bad_Name"}, "lower-case letters"),
    ({"subdomain": "a" * 64}, "Enter at most 63 characters."),
])
def test_invalid_settings_answer_422_keep_the_input_and_save_nothing(csrf_client, setup, changes, message):
    csrf_client.sign_in(setup.partner_admin)

    response = csrf_client.post(_provision_url(setup.order), FORM | {"company_name": "Kept Name"} | changes,
                                page=_page(setup.order))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'aria-invalid="true"' in html
    assert f'value="{(FORM | {"company_name": "Kept Name"} | changes)["company_name"]}"' in html
    assert 'value="toll" selected' in html or 'selected value="toll"' in html
    assert _nothing_saved(setup)


def test_a_taken_site_url_answers_422_and_saves_nothing(csrf_client, setup):
    factories.make_organization(subdomain="taken-name")
    csrf_client.sign_in(setup.customer_admin)

    response = csrf_client.post(_provision_url(setup.order), FORM | {"subdomain": "taken-name"},
                                page=_page(setup.order))

    assert response.status_code == 422
    assert "This site URL is taken" in response.get_data(as_text=True)
    assert 'value="taken-name"' in response.get_data(as_text=True)
    assert _nothing_saved(setup)


def test_every_problem_is_shown_at_once_the_site_url_s_too(csrf_client, setup):
    factories.make_organization(subdomain="taken-name")
    csrf_client.sign_in(setup.customer_admin)

    response = csrf_client.post(_provision_url(setup.order), FORM | {"subdomain": "taken-name", "company_name": ""},
                                page=_page(setup.order))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This field is required." in html and "This site URL is taken" in html
    assert _nothing_saved(setup)


def test_a_subscription_that_changed_meanwhile_is_refused_with_a_message(csrf_client, setup):
    csrf_client.sign_in(setup.customer_admin)
    token = csrf_client.token(_page(setup.order))
    setup.subscription.state = "canceled"
    db.session.commit()

    response = csrf_client.post(_provision_url(setup.order), FORM | {"csrf_token": token})

    assert response.status_code == 422
    assert "This subscription can no longer be changed." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PartnerOrder, setup.order.id).state == "in_setup" and count(Order) == 0


def test_the_form_is_translated(csrf_client, setup):
    csrf_client.sign_in(setup.customer_admin)
    csrf_client.post("/language", {"locale": "sv", "next": "/"}, page="/")

    response = csrf_client.post(_provision_url(setup.order), FORM | {"default_duration_min": "5"},
                                page=_page(setup.order))

    assert response.status_code == 422
    assert "Ange ett tal från 15 till 1440." in response.get_data(as_text=True)


def test_provision_redirects_to_the_done_page_and_a_second_post_bills_nothing_more(csrf_client, setup):
    csrf_client.sign_in(setup.partner_admin)
    token = csrf_client.token(_page(setup.order))

    first = csrf_client.post(_provision_url(setup.order), FORM | {"csrf_token": token})
    second = csrf_client.post(_provision_url(setup.order), FORM | {"csrf_token": token, "company_name": "Other"})

    assert first.status_code == 302 and second.status_code == 302
    assert first.headers["Location"].endswith(_page(setup.order))
    db.session.expire_all()
    assert db.session.get(PartnerOrder, setup.order.id).state == "provisioned"
    assert db.session.get(Organization, setup.customer.id).name == "Acme Training AB"
    assert count(Order) == 1 and count(Payment) == 1 and count(OutboxMessage) == 1
    invoice = db.session.query(Order).one()
    assert invoice.total_minor == 3 * 14400

    done = csrf_client.get(_page(setup.order)).get_data(as_text=True)
    assert "The site is provisioned and billing has started." in done
    assert "acme-training.lectern.localhost" in done
    assert "€432.00" in done and invoice.code in done
    assert "<form" not in done.split("<main", 1)[1].split("</main>", 1)[0]


def test_after_provisioning_the_check_post_leads_to_the_done_page(csrf_client, setup):
    csrf_client.sign_in(setup.customer_admin)
    token = csrf_client.token(_page(setup.order))
    csrf_client.post(_provision_url(setup.order), FORM | {"csrf_token": token})

    response = csrf_client.post(_page(setup.order), FORM | {"csrf_token": token, "check": "1"})

    assert response.status_code == 302 and response.headers["Location"].endswith(_page(setup.order))
