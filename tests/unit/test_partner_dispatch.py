"""Partner orders: placing, the "Set up now" dispatch on the start date, escalation a day
later (with a controllable clock), and the signed, expiring setup links."""

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, PartnerOrder
from app.services import partner_orders
from app.services.partner_orders import OrderRequest, PartnerOrderError
from tests import factories
from tests.plan_factories import make_add_on, make_plan

START = date(2026, 12, 1)


def at(day, hour=8):
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def link_for(order, handoff, email):
    return f"https://lectern.test/setup/{order.code}/{handoff}/{email}"


@pytest.fixture
def partner_user(app):
    make_plan("business", name="Business")
    make_add_on("callback", name="Callback")
    return factories.make_user(factories.make_organization(name="Reseller AB", kind="partner"), role="admin")


def order_request(**changes):
    fields = dict(plan_code="business", cycle="annual", licenses=5, add_on_codes=("callback",),
                  customer_name="Customer Oy", requested_start_on=START, contact_email="Setup@Customer.example")
    return OrderRequest(**{**fields, **changes})


def setup_mails():
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "partner_order")).all()


def test_a_partner_places_an_order_that_waits_for_its_start_date(partner_user):
    order = partner_orders.place_order(partner_user, order_request(), today=START - timedelta(days=3))
    assert (order.state, order.partner_name, order.licenses) == ("placed", "Reseller AB", 5)
    assert order.contact_email == "setup@customer.example"
    assert order.add_on_code_list == ["callback"]
    assert partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START - timedelta(days=1))).sent == 0
    assert setup_mails() == []


@pytest.mark.parametrize("changes,field", [
    ({"plan_code": "nope"}, "plan"),
    ({"licenses": 0}, "licenses"),
    ({"add_on_codes": ("teleport",)}, "add_ons"),
    ({"cycle": "weekly"}, "cycle"),
    ({"requested_start_on": START - timedelta(days=1)}, "requested_start_on"),
])
def test_a_bad_order_is_refused_and_nothing_is_written(partner_user, changes, field):
    with pytest.raises(PartnerOrderError) as refused:
        partner_orders.place_order(partner_user, order_request(**changes), today=START)
    assert refused.value.field == field
    assert db.session.scalars(select(PartnerOrder)).all() == []


def test_only_partners_and_the_operator_place_partner_orders(app):
    make_plan("business")
    customer_admin = factories.make_user(role="admin")
    with pytest.raises(PermissionError):
        partner_orders.place_order(customer_admin, order_request(add_on_codes=()), today=START)
    operator = factories.make_user(factories.make_organization(is_operator=True), role="admin")
    order = partner_orders.place_order(operator, order_request(partner_name="New Partner Ltd", add_on_codes=()),
                                       today=START)
    assert order.partner is None and order.partner_name == "New Partner Ltd"


def test_dispatch_on_the_start_date_sends_one_setup_email_even_when_run_twice(partner_user):
    order = partner_orders.place_order(partner_user, order_request(), today=START)
    first = partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START))
    second = partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START, 17))
    assert (first.sent, second.sent) == (1, 0)
    [mail] = setup_mails()
    assert mail.recipient == "setup@customer.example"
    assert "Customer Oy" in mail.subject
    assert f"https://lectern.test/setup/{order.code}/contact/setup@customer.example" in mail.body_text
    assert db.session.get(PartnerOrder, order.id).state == "setup_sent"


def test_the_representative_is_alerted_once_when_setup_has_not_started_a_day_later(partner_user):
    order = partner_orders.place_order(partner_user, order_request(), today=START)
    partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START))
    assert partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START, 23)).escalated == 0
    late = partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START + timedelta(days=1)))
    again = partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START + timedelta(days=2)))
    assert (late.escalated, again.escalated) == (1, 0)
    alerts = [m for m in setup_mails() if m.recipient == "rep@lectern.test"]
    assert len(alerts) == 1 and order.code in alerts[0].subject
    assert db.session.get(PartnerOrder, order.id).escalated


def test_an_order_set_up_in_time_is_not_escalated(partner_user):
    order = partner_orders.place_order(partner_user, order_request(), today=START)
    partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START))
    order.state = "in_setup"
    db.session.commit()
    assert partner_orders.dispatch(link_for, "rep@lectern.test", now=at(START + timedelta(days=3))).escalated == 0


def test_the_operators_representative_setting_wins_over_the_servers_default(app):
    assert partner_orders.representative_email("default@lectern.test") == "default@lectern.test"
    factories.make_organization(is_operator=True, account_representative_email="anna@lectern.test")
    assert partner_orders.representative_email("default@lectern.test") == "anna@lectern.test"


def test_setup_links_are_signed_and_expire(partner_user, monkeypatch):
    order = partner_orders.place_order(partner_user, order_request(), today=START)
    token = partner_orders.make_setup_token(order, "secret", "colleague", "Kim@Reseller.example")
    link = partner_orders.read_setup_token(token, "secret", 3600)
    assert (link.order.id, link.handoff, link.email) == (order.id, "colleague", "kim@reseller.example")
    with pytest.raises(PartnerOrderError) as tampered:
        partner_orders.read_setup_token(token[:-2] + "xx", "secret", 3600)
    assert tampered.value.field == "invalid"
    with pytest.raises(PartnerOrderError):
        partner_orders.read_setup_token(token, "another secret", 3600)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 4_000_000_000)
    with pytest.raises(PartnerOrderError) as expired:
        partner_orders.read_setup_token(token, "secret", 3600)
    assert expired.value.field == "expired"


def test_a_new_link_goes_to_the_contact_only_when_code_and_address_match(partner_user):
    order = partner_orders.place_order(partner_user, order_request(), today=START)
    assert not partner_orders.request_new_link(order.code, "someone@else.example", link_for)
    assert not partner_orders.request_new_link("P-NOTHING", order.contact_email, link_for)
    assert setup_mails() == []
    assert partner_orders.request_new_link(order.code.lower(), "SETUP@customer.example", link_for)
    [mail] = setup_mails()
    assert mail.recipient == "setup@customer.example"
    assert db.session.get(PartnerOrder, order.id).state == "setup_sent"


def test_the_dispatch_command_sends_the_setup_links(app, partner_user):
    partner_orders.place_order(partner_user, order_request(requested_start_on=date.today()), today=date.today())
    result = app.test_cli_runner().invoke(args=["partners", "dispatch"])
    assert "setup links sent: 1" in result.output, result.output
    [mail] = setup_mails()
    assert "/partners/setup/" in mail.body_text
