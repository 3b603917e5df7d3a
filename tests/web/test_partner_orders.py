"""Partner order pages: placing an order, the list, resending the setup link, who may see what."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, PartnerOrder
from app.models.base import utcnow
from tests import factories
from tests.plan_factories import make_add_on, make_plan


@pytest.fixture
def partner_admin(app):
    make_plan("business", name="Business")
    make_add_on("callback", name="Callback")
    return factories.make_user(factories.make_organization(name="Reseller AB", kind="partner"), role="admin")


def order_form(**changes):
    start = (utcnow() + timedelta(days=7)).date().isoformat()
    return {"plan": "business", "cycle": "annual", "licenses": "5", "add_ons": ["callback"],
            "customer_name": "Customer Oy", "requested_start_on": start,
            "contact_email": "it@customer.example", **changes}


def test_a_partner_places_an_order_and_sees_it_waiting_for_its_start_date(csrf_client, partner_admin):
    csrf_client.sign_in(partner_admin)
    response = csrf_client.post("/partners/orders/new", order_form())
    assert response.status_code == 302
    order = db.session.scalars(select(PartnerOrder)).one()
    assert (order.partner_organization_id, order.customer_name, order.licenses) == (
        partner_admin.organization_id, "Customer Oy", 5)
    html = csrf_client.get("/partners/orders").get_data(as_text=True)
    assert order.code in html and "Waiting for the start date" in html


@pytest.mark.parametrize("changes,message", [
    ({"licenses": "0"}, "Enter a number from 1 to"),
    ({"contact_email": "not-an-address"}, "Enter a valid email address."),
    ({"requested_start_on": "2020-01-01"}, "cannot be in the past"),
    ({"customer_name": ""}, "This field is required."),
])
def test_bad_order_input_gets_a_clear_error_with_the_input_kept(csrf_client, partner_admin, changes, message):
    csrf_client.sign_in(partner_admin)
    response = csrf_client.post("/partners/orders/new", order_form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "it@customer.example" in html or changes.get("contact_email", "") in html
    assert db.session.scalars(select(PartnerOrder)).all() == []


def test_the_operator_orders_a_new_partners_first_order(csrf_client, app):
    make_plan("business")
    operator = factories.make_user(factories.make_organization(is_operator=True), role="admin")
    csrf_client.sign_in(operator)
    response = csrf_client.post("/partners/orders/new", order_form(
        add_ons=[], partner_organization_id="0", partner_name="Brand New Partner"))
    assert response.status_code == 302
    order = db.session.scalars(select(PartnerOrder)).one()
    assert order.partner is None and order.partner_name == "Brand New Partner"


def test_customers_cannot_place_partner_orders(csrf_client, partner_admin):
    csrf_client.sign_in(factories.make_user(role="admin"))
    assert csrf_client.get("/partners/orders").status_code == 403
    assert csrf_client.get("/partners/orders/new").status_code == 403


def test_the_setup_link_can_be_sent_again_and_other_partners_orders_do_not_exist(csrf_client, partner_admin):
    csrf_client.sign_in(partner_admin)
    csrf_client.post("/partners/orders/new", order_form())
    order = db.session.scalars(select(PartnerOrder)).one()
    assert csrf_client.post(f"/partners/orders/{order.id}/resend", {}, page="/partners/orders").status_code == 302
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "partner_order")).all()
    assert mail.recipient == "it@customer.example"
    assert "/partners/setup/" in mail.body_text
    db.session.expire_all()
    assert db.session.get(PartnerOrder, order.id).state == "setup_sent"

    csrf_client.post("/auth/sign-out", {})
    other = factories.make_user(factories.make_organization(kind="partner"), role="admin")
    csrf_client.sign_in(other)
    assert csrf_client.post(f"/partners/orders/{order.id}/resend", {}, page="/partners/orders").status_code == 404
    assert order.code not in csrf_client.get("/partners/orders").get_data(as_text=True)
