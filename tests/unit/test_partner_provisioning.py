"""Provision at the service level: it activates the customer's subscription and starts billing
for everything bought, in one transaction, once; refused settings change nothing."""

import itertools
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from app.extensions import db
from app.models import (
    Order,
    OrderLine,
    Organization,
    OutboxMessage,
    PartnerOrder,
    Payment,
    PhoneNumber,
    Subscription,
    SubscriptionAddOn,
)
from app.services import partner_provisioning, plan_pricing, subscriptions
from app.services.locks import Busy
from app.services.partner_provisioning import ProvisionError, ServiceSettings
from tests import factories
from tests.concurrency.test_races import run_together
from tests.plan_factories import make_add_on, make_plan
from tests.subscription_factories import count, mails

NOW = datetime(2026, 3, 31, 9, 0, tzinfo=timezone.utc)
_numbers = itertools.count(1)


# The state the setup wizard leaves behind ---------------------------------------------------------


def make_order_in_setup(partner_manages=True, plan=None, add_ons=(), cycle="annual", licenses=3, state="in_setup",
                        subdomain=None):
    """A partner, its administrator, a customer organisation with its administrator, a pending
    bank-transfer subscription and a partner order `in_setup` linking them, as the wizard
    leaves them. The buyer is the partner's administrator when the partner sets up, else the
    customer's."""
    n = next(_numbers)
    partner = factories.make_organization(kind="partner", name=f"Reseller {n}", subdomain=f"reseller-{n}")
    partner_admin = factories.make_user(partner, role="admin", email=f"pia{n}@reseller.example")
    customer = factories.make_organization(kind="customer", name=f"Acme {n}", subdomain=subdomain or f"acme-{n}",
                                           locale="en", timezone="UTC")
    customer_admin = factories.make_user(customer, role="admin", email=f"carl{n}@acme.example")
    plan = plan or make_plan(name=f"Business {n}", monthly=1500, annual=14400)
    subscription = Subscription(
        organization=customer, plan=plan, buyer=partner_admin if partner_manages else customer_admin, cycle=cycle,
        licenses=licenses, license_price_minor=plan_pricing.license_price(plan, cycle), currency=plan.currency,
        payment_method="bank_transfer", state="pending", site_subdomain=customer.subdomain,
        billing_address="Storgatan 1\n111 22 Stockholm", service_address="Storgatan 1\n111 22 Stockholm",
        calling_plan="computer_audio", terms_accepted_at=NOW - timedelta(hours=1),
    )
    subscription.add_ons = [SubscriptionAddOn(add_on=a, price_minor=plan_pricing.add_on_price(a, cycle))
                            for a in add_ons]
    order = PartnerOrder(
        code=f"P-TEST{n:04d}", partner=partner, partner_name=partner.name, placed_by=partner_admin, plan=plan,
        cycle=cycle, licenses=licenses, add_on_codes="\n".join(a.code for a in add_ons),
        customer_name=customer.name, requested_start_on=date(2026, 3, 30), contact_email=partner_admin.email,
        state=state, set_up_by_email=partner_admin.email, partner_manages=partner_manages, customer=customer,
        subscription=subscription, set_up_at=NOW - timedelta(hours=1),
    )
    db.session.add(order)
    db.session.commit()
    return SimpleNamespace(order=order, partner=partner, partner_admin=partner_admin, customer=customer,
                           customer_admin=customer_admin, subscription=subscription, plan=plan)


def settings(**changes):
    return replace(ServiceSettings(company_name="Acme Training AB", subdomain="acme-training", locale="en",
                                   timezone="Europe/Stockholm", default_duration_min=90, calling_plan="toll",
                                   new_numbers=2), **changes)


def snapshot(setup):
    """Everything Provision may write, to compare before and after a refusal."""
    db.session.expire_all()
    order, organization = db.session.get(PartnerOrder, setup.order.id), db.session.get(Organization, setup.customer.id)
    subscription = db.session.get(Subscription, setup.subscription.id)
    return {
        "order": (order.state, order.provisioned_at),
        "organization": (organization.name, organization.subdomain, organization.locale, organization.timezone,
                         organization.default_duration_min),
        "subscription": (subscription.state, subscription.calling_plan, subscription.new_numbers,
                         subscription.site_subdomain, subscription.current_period_start),
        "rows": {model.__name__: count(model) for model in (Order, OrderLine, Payment, PhoneNumber, OutboxMessage)},
    }


@pytest.fixture
def add_on(app):
    return make_add_on(code="callback", name="Call-back", monthly=500, annual=4800)


# Provision ----------------------------------------------------------------------------------------


def test_provision_activates_the_subscription_and_applies_the_settings(app, add_on):
    setup = make_order_in_setup(add_ons=[add_on])

    result = partner_provisioning.provision(setup.order.id, settings(locale="sv"), NOW)

    db.session.expire_all()
    assert result.id == setup.order.id
    order = db.session.get(PartnerOrder, setup.order.id)
    assert (order.state, order.provisioned_at) == ("provisioned", NOW)
    subscription = db.session.get(Subscription, setup.subscription.id)
    assert subscription.state == "active"
    assert (subscription.current_period_start, subscription.billing_anchor_day) == (NOW, 31)
    assert subscription.current_period_end == datetime(2027, 3, 31, 9, 0, tzinfo=timezone.utc)
    assert (subscription.calling_plan, subscription.new_numbers, subscription.site_subdomain) == (
        "toll", 2, "acme-training")
    customer = db.session.get(Organization, setup.customer.id)
    assert (customer.name, customer.subdomain, customer.locale, customer.timezone, customer.default_duration_min) == (
        "Acme Training AB", "acme-training", "sv", "Europe/Stockholm", 90)
    assert [p.number for p in subscription.phone_numbers] == ["+46840000000", "+46840000001"]


def test_a_monthly_plan_starts_a_month_long_period_anchored_on_the_day(app):
    setup = make_order_in_setup(cycle="monthly")

    partner_provisioning.provision(setup.order.id, settings(new_numbers=0), NOW)

    db.session.expire_all()
    subscription = db.session.get(Subscription, setup.subscription.id)
    assert subscription.current_period_end == datetime(2026, 4, 30, 9, 0, tzinfo=timezone.utc)
    assert subscription.billing_anchor_day == 31
    assert count(PhoneNumber) == 0


def test_provision_bills_everything_bought_with_one_bank_transfer_invoice(app, add_on):
    setup = make_order_in_setup(add_ons=[add_on], licenses=3)
    app.config["INVOICE_DUE_DAYS"] = 10

    partner_provisioning.provision(setup.order.id, settings(), NOW)

    db.session.expire_all()
    [invoice] = db.session.query(Order).all()
    assert invoice.billing_key == f"subscription-{setup.subscription.id}:purchase"
    assert (invoice.purpose, invoice.state) == ("subscription", "pending")
    assert invoice.subscription_id == setup.subscription.id
    assert (invoice.organization_id, invoice.buyer_email) == (setup.customer.id, setup.partner_admin.email)
    assert [(line.description, line.quantity, line.unit_price_minor, line.total_minor) for line in invoice.lines] == [
        (setup.plan.name, 3, 14400, 43200), ("Call-back", 1, 4800, 4800)]
    assert (invoice.subtotal_minor, invoice.total_minor, invoice.currency) == (48000, 48000, "EUR")
    assert invoice.expires_at == NOW + timedelta(days=10)
    assert [(p.provider, p.state, p.amount_minor, p.currency) for p in invoice.payments] == [
        ("bank_transfer", "created", 48000, "EUR")]
    assert partner_provisioning.first_invoice(db.session.get(PartnerOrder, setup.order.id)).id == invoice.id


def test_the_invoice_email_goes_to_the_buyer_with_the_due_day_and_reference(app):
    setup = make_order_in_setup()

    partner_provisioning.provision(setup.order.id, settings(), NOW)

    [mail] = mails("first_invoice", setup.partner_admin.email)
    invoice = db.session.query(Order).one()
    assert invoice.code in mail.body_text
    assert "Please transfer €432.00 by April 14, 2026" in mail.body_text  # due 14 days after NOW
    assert count(OutboxMessage) == 1


def test_when_the_customer_set_it_up_the_customer_admin_is_billed(app):
    setup = make_order_in_setup(partner_manages=False)

    partner_provisioning.provision(setup.order.id, settings(), NOW)

    assert db.session.query(Order).one().buyer_email == setup.customer_admin.email
    assert len(mails("first_invoice", setup.customer_admin.email)) == 1


def test_a_second_provision_is_a_no_op_billed_once(app, add_on):
    setup = make_order_in_setup(add_ons=[add_on])
    partner_provisioning.provision(setup.order.id, settings(), NOW)
    after_first = snapshot(setup)

    again = partner_provisioning.provision(setup.order.id, settings(company_name="Other", subdomain="other-site"),
                                           NOW + timedelta(seconds=1))

    assert again.state == "provisioned"
    assert snapshot(setup) == after_first
    assert count(Order) == 1 and count(Payment) == 1 and len(mails("first_invoice")) == 1


def test_keeping_the_customer_s_own_site_url_is_fine(app):
    setup = make_order_in_setup(subdomain="acme-own")

    partner_provisioning.provision(setup.order.id, settings(subdomain="acme-own"), NOW)

    db.session.expire_all()
    assert db.session.get(Organization, setup.customer.id).subdomain == "acme-own"


# Refusals: nothing changes ------------------------------------------------------------------------


def _refused(setup, chosen, field):
    before = snapshot(setup)
    with pytest.raises(ProvisionError) as refusal:
        partner_provisioning.provision(setup.order.id, chosen, NOW)
    assert refusal.value.field == field
    assert snapshot(setup) == before
    return refusal.value


def test_a_site_url_another_organisation_has_is_refused(app):
    factories.make_organization(subdomain="taken-site")
    setup = make_order_in_setup()

    refusal = _refused(setup, settings(subdomain="taken-site"), "subdomain")

    assert "taken" in str(refusal.message)


def test_a_site_url_another_organisation_is_buying_is_refused(app):
    other = make_order_in_setup()
    other.subscription.site_subdomain = "wanted-site"  # its pending purchase asked for it
    db.session.commit()
    setup = make_order_in_setup()

    _refused(setup, settings(subdomain="wanted-site"), "subdomain")


@pytest.mark.parametrize("subdomain", ["admin", "www", "Bad_Name", "bad_name", "-edge", "ab", "a" * 64, "a" * 70, ""])
def test_an_invalid_site_url_is_refused(app, subdomain):
    setup = make_order_in_setup()

    refusal = _refused(setup, settings(subdomain=subdomain), "subdomain")

    assert "lower-case letters" in str(refusal.message)


@pytest.mark.parametrize("changes, field", [
    ({"company_name": "  "}, "company_name"),
    ({"company_name": "x" * 201}, "company_name"),
    ({"locale": "xx"}, "locale"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"default_duration_min": 14}, "default_duration_min"),
    ({"default_duration_min": 1441}, "default_duration_min"),
    ({"calling_plan": "carrier_pigeon"}, "calling_plan"),
    ({"new_numbers": -1}, "new_numbers"),
    ({"new_numbers": subscriptions.MAX_NEW_NUMBERS + 1}, "new_numbers"),
])
def test_other_invalid_settings_are_refused(app, changes, field):
    setup = make_order_in_setup()

    _refused(setup, settings(**changes), field)


@pytest.mark.parametrize("state", ["placed", "setup_sent", "canceled"])
def test_an_order_not_in_setup_is_refused(app, state):
    setup = make_order_in_setup(state=state)

    _refused(setup, settings(), None)


def test_a_subscription_no_longer_pending_is_refused(app):
    setup = make_order_in_setup()
    setup.subscription.state = "canceled"  # e.g. the customer bought a plan themselves meanwhile
    db.session.commit()

    _refused(setup, settings(), None)


def test_a_site_url_taken_between_the_check_and_the_commit_is_refused_by_the_database(app, monkeypatch):
    factories.make_organization(subdomain="just-taken")
    setup = make_order_in_setup()
    monkeypatch.setattr(subscriptions, "subdomain_unavailable", lambda subdomain, organization_id: None)

    refusal = _refused(setup, settings(subdomain="just-taken"), "subdomain")

    assert "taken" in str(refusal.message)


def test_a_failure_after_the_settings_are_applied_leaves_nothing_behind(app, monkeypatch):
    setup = make_order_in_setup()
    before = snapshot(setup)

    def broken(*args, **kwargs):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(partner_provisioning.subscription_mail, "queue", broken)
    with pytest.raises(RuntimeError):
        partner_provisioning.provision(setup.order.id, settings(), NOW)

    assert snapshot(setup) == before


# Access -------------------------------------------------------------------------------------------


def test_who_may_manage_and_view(app):
    managed = make_order_in_setup(partner_manages=True)
    alone = make_order_in_setup(partner_manages=False)
    partner_member = factories.make_user(managed.partner, role="host")
    customer_member = factories.make_user(managed.customer, role="member")
    operator = factories.make_user(factories.make_organization(is_operator=True), role="admin")
    stranger = factories.make_user(role="admin")

    assert partner_provisioning.may_manage(managed.customer_admin, managed.order)
    assert partner_provisioning.may_manage(managed.partner_admin, managed.order)
    assert partner_provisioning.may_manage(alone.customer_admin, alone.order)
    assert not partner_provisioning.may_manage(alone.partner_admin, alone.order)
    assert not partner_provisioning.may_view(alone.partner_admin, alone.order)
    for user in (partner_member, customer_member, stranger, managed.customer_admin):
        assert not partner_provisioning.may_view(user, alone.order)
    assert not partner_provisioning.may_view(partner_member, managed.order)
    assert not partner_provisioning.may_view(customer_member, managed.order)
    assert partner_provisioning.may_view(operator, managed.order)
    assert not partner_provisioning.may_manage(operator, managed.order)


# Races (PostgreSQL) -------------------------------------------------------------------------------


def test_two_provisions_at_once_bill_once(postgresql_app, add_on):
    setup = make_order_in_setup(add_ons=[add_on])
    order_id = setup.order.id

    results = run_together(postgresql_app, 2, lambda n: partner_provisioning.provision(order_id, settings(), NOW))

    assert all(isinstance(r, PartnerOrder) for r in results), results
    db.session.expire_all()
    assert db.session.get(PartnerOrder, order_id).state == "provisioned"
    assert count(Order) == 1 and count(Payment) == 1 and count(PhoneNumber) == 2
    assert len(mails("first_invoice")) == 1


def test_two_customers_racing_for_one_site_url_get_it_once(postgresql_app):
    first, second = make_order_in_setup(), make_order_in_setup()
    order_ids = [first.order.id, second.order.id]

    results = run_together(postgresql_app, 2,
                           lambda n: partner_provisioning.provision(order_ids[n], settings(new_numbers=0), NOW))

    assert sum(isinstance(r, PartnerOrder) for r in results) == 1
    [refusal] = [r for r in results if not isinstance(r, PartnerOrder)]
    assert isinstance(refusal, (ProvisionError, Busy)), refusal
    assert getattr(refusal, "field", "subdomain") == "subdomain"
    assert count(Organization, Organization.subdomain == "acme-training") == 1
    assert count(Order) == 1


def test_paying_the_first_invoice_marks_it_paid_and_keeps_the_subscription_active(app):
    from app.services import checkout

    setup = make_order_in_setup()
    partner_provisioning.provision(setup.order.id, settings(), NOW)
    invoice = db.session.query(Order).one()

    checkout.mark_bank_transfer_paid(invoice, now=NOW + timedelta(days=3))

    db.session.expire_all()
    assert db.session.get(Order, invoice.id).state == "paid"
    assert db.session.get(Subscription, setup.order.subscription_id).state == "active"
