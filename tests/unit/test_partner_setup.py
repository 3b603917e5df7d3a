"""The setup wizard's rules: its steps, handing the setup on, and completing it in one transaction."""

import itertools
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import (
    Organization,
    OutboxMessage,
    PartnerOrder,
    Subscription,
    SubscriptionAddOn,
    User,
)
from app.services import partner_setup
from app.services.partner_orders import PartnerOrderError
from tests import factories
from tests.concurrency.test_races import run_together
from tests.plan_factories import make_add_on, make_plan

_codes = itertools.count(1)
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
PASSWORD = "a long enough password"

FIRST_ORDER_ANSWERS = {
    "role": "partner", "who": "me", "partner_name": "Reseller AB", "your_name": "Pat Partner",
    "admin_email": "kim@kund.example", "admin_name": "Kim Kund", "customer_name": "Kund AB",
    "locale": "sv", "timezone": "Europe/Stockholm", "currency": "SEK",
}
CUSTOMER_ANSWERS = {
    "role": "customer", "admin_email": "kim@kund.example", "admin_name": "Kim Kund",
    "customer_name": "Kund AB", "locale": "fr", "timezone": "Europe/Paris", "currency": "EUR",
}


def make_partner_order(partner=None, partner_name="Reseller AB", state="setup_sent", add_ons=(),
                       plan=None, **fields):
    """An order waiting for its setup: a partner's own (`partner` given), or the operator
    desk's for a new partner (no partner organisation yet)."""
    if partner is not None:
        placed_by = partner.users[0] if partner.users else factories.make_user(partner)
        partner_name = partner.name
    else:
        placed_by = factories.make_user(factories.make_organization(is_operator=True))
    fields.setdefault("code", f"P-T{next(_codes):07d}")
    order = PartnerOrder(
        partner=partner, partner_name=partner_name, placed_by=placed_by, plan=plan or make_plan(),
        cycle=fields.pop("cycle", "annual"), licenses=fields.pop("licenses", 3),
        add_on_codes="\n".join(a.code for a in add_ons), customer_name=fields.pop("customer_name", "Kund AB"),
        requested_start_on=fields.pop("requested_start_on", date(2026, 3, 1)),
        contact_email=fields.pop("contact_email", "contact@reseller.example"), state=state, **fields,
    )
    db.session.add(order)
    db.session.commit()
    return order


def make_partner(name="Reseller AB"):
    partner = factories.make_organization(kind="partner", name=name)
    factories.make_user(partner, role="admin", email="pat@reseller.example")
    return partner


def organizations(kind):
    return db.session.scalar(select(func.count()).select_from(Organization).where(Organization.kind == kind))


def counts():
    db.session.expire_all()
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Organization, User, Subscription, SubscriptionAddOn, OutboxMessage)}


def reload(order):
    db.session.expire_all()
    return db.session.get(PartnerOrder, order.id)


# The steps --------------------------------------------------------------------------------------


@pytest.mark.parametrize("handoff,answers,partner_exists,steps", [
    ("contact", {}, False, ["role", "who", "partner", "admin", "customer", "review", "password"]),
    ("contact", {"role": "partner", "who": "me"}, True, ["role", "who", "partner", "admin", "customer", "review"]),
    ("contact", {"role": "partner", "who": "colleague"}, False, ["role", "who"]),
    ("contact", {"role": "partner", "who": "customer"}, True, ["role", "who"]),
    ("contact", {"role": "customer"}, False, ["role", "admin", "customer", "review", "password"]),
    ("contact", {"role": "customer"}, True, ["role", "admin", "customer", "review", "password"]),
    ("colleague", {}, False, ["partner", "admin", "customer", "review", "password"]),
    ("colleague", {}, True, ["partner", "admin", "customer", "review"]),
    ("customer", {}, True, ["admin", "customer", "review", "password"]),
    ("customer", {"role": "partner"}, False, ["admin", "customer", "review", "password"]),
])
def test_the_steps_follow_the_link_and_the_answers(handoff, answers, partner_exists, steps):
    assert partner_setup.steps_for(handoff, answers, partner_exists) == steps


@pytest.mark.parametrize("name,label", [
    ("Kund AB", "kund-ab"),
    ("Åkessons Bygg & Co.", "akessons-bygg-co"),
    ("IT", "it-site"),
    ("Школа", "site"),
    ("www", "www-site"),
    ("x" * 80, "x" * 50),
])
def test_a_site_url_label_is_made_from_the_customer_name(name, label):
    assert partner_setup.subdomain_label(name) == label


# Completing the setup ---------------------------------------------------------------------------


def test_a_partners_first_order_creates_the_partner_the_customer_and_a_pending_subscription(app, outbox):
    add_on = make_add_on(code="recording", monthly=500, annual=4800)
    plan = make_plan(monthly=1500, annual=14400, currency="EUR")
    order = make_partner_order(plan=plan, add_ons=[add_on], cycle="annual", licenses=4)

    done = partner_setup.complete_setup(order.id, FIRST_ORDER_ANSWERS, PASSWORD, "Contact@Reseller.example", NOW)

    order = reload(order)
    partner, customer = order.partner, order.customer
    assert (partner.kind, partner.name) == ("partner", "Reseller AB")
    setter = db.session.scalars(select(User).where(User.email == "contact@reseller.example")).one()
    assert (setter.organization_id, setter.role, setter.name) == (partner.id, "admin", "Pat Partner")
    assert check_password_hash(setter.password_hash, PASSWORD)
    assert (customer.kind, customer.name, customer.subdomain) == ("customer", "Kund AB", "kund-ab")
    assert (customer.locale, customer.timezone, customer.currency) == ("sv", "Europe/Stockholm", "SEK")
    admin = db.session.scalars(select(User).where(User.email == "kim@kund.example")).one()
    assert (admin.organization_id, admin.role, admin.name) == (customer.id, "admin", "Kim Kund")
    assert not check_password_hash(admin.password_hash, PASSWORD)
    subscription = order.subscription
    assert subscription.state == "pending"
    assert (subscription.organization_id, subscription.plan_id, subscription.cycle, subscription.licenses) == (
        customer.id, plan.id, "annual", 4)
    assert (subscription.license_price_minor, subscription.currency) == (14400, "EUR")
    assert (subscription.payment_method, subscription.calling_plan) == ("bank_transfer", "computer_audio")
    assert subscription.buyer_id == setter.id
    assert subscription.site_subdomain == "kund-ab"
    assert "Kund AB" in subscription.billing_address and subscription.service_address
    assert subscription.terms_accepted_at == NOW
    assert [(a.add_on.code, a.price_minor) for a in subscription.add_ons] == [("recording", 4800)]
    assert order.state == "in_setup"
    assert (order.set_up_by_email, order.set_up_at, order.partner_manages) == ("contact@reseller.example", NOW, True)
    assert order.partner_organization_id == partner.id
    assert done.setter.id == setter.id and done.administrator.id == admin.id
    [invitation] = outbox()
    assert (invitation.recipient, invitation.template, invitation.locale) == (
        "kim@kund.example", "member_invitation", "sv")
    assert "/auth/set-password/" in invitation.body_text


def test_an_existing_partner_sets_up_as_its_signed_in_user_without_a_password(app, outbox):
    partner = make_partner()
    colleague = factories.make_user(partner, role="host", email="sam@reseller.example")
    order = make_partner_order(partner=partner)
    answers = {k: v for k, v in FIRST_ORDER_ANSWERS.items() if k not in ("partner_name", "your_name")}
    before = organizations("partner")

    done = partner_setup.complete_setup(order.id, answers, None, "sam@reseller.example", NOW)

    order = reload(order)
    assert organizations("partner") == before
    assert order.partner_organization_id == partner.id
    assert order.subscription.buyer_id == colleague.id == done.setter.id
    assert order.partner_manages is True
    assert [m.recipient for m in outbox()] == ["kim@kund.example"]


def test_only_a_user_of_the_existing_partner_can_set_up_its_order(app):
    partner = make_partner()
    stranger = factories.make_user(email="someone@elsewhere.example")
    order = make_partner_order(partner=partner)
    answers = {k: v for k, v in FIRST_ORDER_ANSWERS.items() if k not in ("partner_name", "your_name")}
    before = counts()

    with pytest.raises(PartnerOrderError) as refused:
        partner_setup.complete_setup(order.id, answers, None, stranger.email, NOW)

    assert refused.value.field == "sign_in"
    assert counts() == before
    assert reload(order).state == "setup_sent"


def test_when_the_customer_sets_up_the_partner_does_not_manage_their_organisation(app, outbox):
    partner = make_partner()
    order = make_partner_order(partner=partner)

    done = partner_setup.complete_setup(order.id, CUSTOMER_ANSWERS, PASSWORD, "kim@kund.example", NOW, locale="fr")

    order = reload(order)
    admin = done.administrator
    assert order.partner_manages is False
    assert order.set_up_by_email == "kim@kund.example"
    assert check_password_hash(admin.password_hash, PASSWORD)
    assert (admin.organization_id, admin.role, admin.locale) == (order.customer_organization_id, "admin", "fr")
    assert order.subscription.buyer_id == admin.id == done.setter.id
    assert order.partner_organization_id == partner.id
    assert outbox() == []  # they chose their password themselves


def test_a_new_partners_first_order_set_up_by_the_customer_creates_no_partner_organisation(app):
    order = make_partner_order()
    partners = organizations("partner")

    partner_setup.complete_setup(order.id, CUSTOMER_ANSWERS, PASSWORD, "kim@kund.example", NOW)

    order = reload(order)
    assert order.partner_organization_id is None and order.partner_name == "Reseller AB"
    assert order.state == "in_setup" and order.partner_manages is False
    assert organizations("partner") == partners


def test_a_customer_administrator_who_belongs_to_another_organisation_is_refused(app):
    factories.make_user(email="kim@kund.example")
    order = make_partner_order()
    before = counts()

    with pytest.raises(PartnerOrderError) as refused:
        partner_setup.complete_setup(order.id, FIRST_ORDER_ANSWERS, PASSWORD, "contact@reseller.example", NOW)

    assert refused.value.field == "admin_email"
    assert "exactly one organisation" in str(refused.value.message)
    assert counts() == before
    assert reload(order).state == "setup_sent"


def test_the_new_partner_administrator_cannot_also_be_the_customer_administrator(app):
    order = make_partner_order()
    answers = dict(FIRST_ORDER_ANSWERS, admin_email="contact@reseller.example")

    with pytest.raises(PartnerOrderError) as refused:
        partner_setup.complete_setup(order.id, answers, PASSWORD, "contact@reseller.example", NOW)

    assert refused.value.field == "admin_email"


def test_an_order_set_up_once_cannot_be_set_up_again(app):
    order = make_partner_order()
    partner_setup.complete_setup(order.id, FIRST_ORDER_ANSWERS, PASSWORD, "contact@reseller.example", NOW)
    before = counts()

    with pytest.raises(PartnerOrderError) as refused:
        partner_setup.complete_setup(order.id, dict(CUSTOMER_ANSWERS, admin_email="other@kund.example"),
                                     PASSWORD, "other@kund.example", NOW)

    assert refused.value.field == "order"
    assert str(refused.value.message) == "This order has just been set up by someone else."
    assert counts() == before


def test_a_canceled_order_cannot_be_set_up(app):
    order = make_partner_order(state="canceled")

    with pytest.raises(PartnerOrderError) as refused:
        partner_setup.complete_setup(order.id, CUSTOMER_ANSWERS, PASSWORD, "kim@kund.example", NOW)

    assert (refused.value.field, str(refused.value.message)) == ("order", "This order has been canceled.")


def test_a_site_url_already_taken_gets_the_next_free_one(app):
    factories.make_organization(name="Another Kund", subdomain="kund-ab")
    order = make_partner_order()

    done = partner_setup.complete_setup(order.id, CUSTOMER_ANSWERS, PASSWORD, "kim@kund.example", NOW)

    assert done.customer.subdomain == done.subscription.site_subdomain == "kund-ab-2"


def test_an_address_taken_between_the_check_and_the_commit_writes_nothing(app, monkeypatch):
    """The unique email constraint is the last word: the race is refused, not half-written."""
    factories.make_user(email="kim@kund.example")
    order = make_partner_order()
    before = counts()
    monkeypatch.setattr(partner_setup, "user_in_other_organization", lambda email, organization_id=None: None)

    with pytest.raises(PartnerOrderError):
        partner_setup.complete_setup(order.id, CUSTOMER_ANSWERS, PASSWORD, "kim@kund.example", NOW)

    assert counts() == before
    assert reload(order).state == "setup_sent"


@pytest.mark.parametrize("broken", [
    {"role": "boss"}, {"locale": "xx"}, {"timezone": "Mars/Olympus"}, {"currency": "XBT"},
    {"customer_name": "  "}, {"admin_email": "not-an-address"},
])
def test_answers_are_checked_again_when_the_setup_completes(app, broken):
    order = make_partner_order()
    before = counts()

    with pytest.raises(PartnerOrderError):
        partner_setup.complete_setup(order.id, dict(CUSTOMER_ANSWERS, **broken), PASSWORD, "kim@kund.example", NOW)

    assert counts() == before


# Handing the setup on ---------------------------------------------------------------------------


def link_for(order, handoff, email):
    return f"https://lectern.example/partners/setup/{handoff}/{email}"


def test_handing_the_setup_to_a_colleague_sends_one_link_and_writes_nothing_else(app, outbox):
    order = make_partner_order()
    before = counts()

    partner_setup.hand_off(order.id, "colleague", " Sam@Reseller.example ", link_for, locale="sv")

    [message] = outbox()
    assert (message.recipient, message.locale, message.template) == ("sam@reseller.example", "sv", "partner_order")
    assert "https://lectern.example/partners/setup/colleague/sam@reseller.example" in message.body_text
    after = counts()
    assert after.pop("OutboxMessage") == before.pop("OutboxMessage") + 1
    assert after == before
    assert reload(order).state == "setup_sent"


def test_an_order_already_set_up_is_not_handed_on(app, outbox):
    order = make_partner_order(state="in_setup")

    with pytest.raises(PartnerOrderError):
        partner_setup.hand_off(order.id, "customer", "kim@kund.example", link_for)

    assert outbox() == []


def test_the_customer_administrator_address_check(app):
    factories.make_user(email="taken@elsewhere.example")

    assert partner_setup.admin_email_problem("free@kund.example") is None
    assert "exactly one organisation" in str(partner_setup.admin_email_problem(" Taken@Elsewhere.example"))
    assert "your own address" in str(partner_setup.admin_email_problem("me@reseller.example", "Me@reseller.example"))


# Two people finishing at once (PostgreSQL) ------------------------------------------------------


def test_two_people_completing_the_same_order_at_once_one_wins_and_the_other_is_told(postgresql_app):
    order = make_partner_order(partner=make_partner())
    order_id = order.id
    answers = [dict(CUSTOMER_ANSWERS, admin_email=f"admin{n}@kund.example") for n in range(2)]

    results = run_together(postgresql_app, 2, lambda n: partner_setup.complete_setup(
        order_id, answers[n], PASSWORD, answers[n]["admin_email"], NOW))

    assert sum(isinstance(r, partner_setup.SetupDone) for r in results) == 1
    [refused] = [r for r in results if not isinstance(r, partner_setup.SetupDone)]
    assert isinstance(refused, PartnerOrderError) and refused.field == "order"
    db.session.expire_all()
    assert organizations("customer") == 1
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    assert db.session.get(PartnerOrder, order_id).state == "in_setup"

