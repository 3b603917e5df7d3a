"""Buying a plan at the service level: pricing the cart, placing the order (all or nothing),
paying it through the fake PayPal, adding and reducing licenses."""

from datetime import date, datetime, timedelta, timezone

import pytest

from app.extensions import db
from app.models import (
    Order,
    OrderLine,
    PhoneNumber,
    PortingRequest,
    ProvisioningJob,
    Subscription,
    SubscriptionAddOn,
)
from app.services import plan_pricing, subscriptions
from app.services.subscriptions import PlanError
from tests import factories
from tests.plan_factories import make_add_on, make_plan
from tests.subscription_factories import (
    buy,
    cart,
    configure_paypal,
    count,
    details,
    mails,
    make_subscription,
    orders_of,
    pay,
    place,
)

NOW = datetime(2026, 1, 31, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def plan(app):
    return make_plan(code="business", name="Business", monthly=1500, annual=14400)


@pytest.fixture
def add_on(app):
    return make_add_on(code="callback", name="Call-back", monthly=500, annual=4800)


@pytest.fixture
def buyer(app):
    return factories.make_user(role="admin", email="anna@acme.example")


def written():
    """Every kind of row placing an order writes."""
    db.session.expire_all()
    return {model.__name__: count(model) for model in
            (Subscription, SubscriptionAddOn, Order, OrderLine, PortingRequest)}


NOTHING = {"Subscription": 0, "SubscriptionAddOn": 0, "Order": 0, "OrderLine": 0, "PortingRequest": 0}


# Pricing the cart -------------------------------------------------------------------------------


def test_a_cart_is_priced_per_license_and_add_on_for_its_cycle(plan, add_on):
    priced = subscriptions.price_cart(cart(plan, "annual", 3, [add_on], revision=7))

    assert (priced.plan, priced.cycle, priced.licenses, priced.add_ons) == (plan, "annual", 3, [add_on])
    assert [(line.kind, line.quantity, line.unit_price_minor) for line in priced.lines] == [
        ("licenses", 3, 14400), ("add_on", 1, 4800)]
    assert (priced.total_minor, priced.currency, priced.revision) == (3 * 14400 + 4800, "EUR", 7)
    monthly = subscriptions.price_cart(cart(plan, "monthly", 3, [add_on]))
    assert monthly.total_minor == 3 * 1500 + 500


@pytest.mark.parametrize("licenses", [0, -1, plan_pricing.MAX_LICENSES + 1, 10**9, "3", 2.5, True, None])
def test_price_cart_refuses_a_number_of_licenses_out_of_range(plan, licenses):
    with pytest.raises(PlanError) as refused:
        subscriptions.price_cart(dict(cart(plan), licenses=licenses))

    assert refused.value.field == "licenses"


def test_price_cart_takes_the_most_licenses_allowed(plan):
    assert subscriptions.price_cart(cart(plan, licenses=plan_pricing.MAX_LICENSES)).licenses == 10_000


@pytest.mark.parametrize("change,field", [
    ({"plan": "no-such-plan"}, "plan"),
    ({"plan": None}, "plan"),
    ({"cycle": "weekly"}, "cycle"),
    ({"cycle": None}, "cycle"),
    ({"add_ons": ["no-such-add-on"]}, "add_ons"),
])
def test_price_cart_refuses_what_is_not_on_sale(plan, change, field):
    with pytest.raises(PlanError) as refused:
        subscriptions.price_cart(cart(plan) | change)

    assert refused.value.field == field


def test_price_cart_refuses_an_empty_cart(app):
    for empty in (None, {}):
        with pytest.raises(PlanError) as refused:
            subscriptions.price_cart(empty)
        assert refused.value.field == "plan"


def test_price_cart_refuses_a_retired_plan(plan):
    the_cart = cart(plan)
    plan.retired = True
    db.session.commit()

    with pytest.raises(PlanError) as refused:
        subscriptions.price_cart(the_cart)

    assert refused.value.field == "plan"


def test_price_cart_refuses_a_retired_add_on_or_one_in_another_currency(plan, add_on):
    the_cart = cart(plan, add_ons=[add_on])
    add_on.retired = True
    db.session.commit()
    with pytest.raises(PlanError) as refused:
        subscriptions.price_cart(the_cart)
    assert refused.value.field == "add_ons"

    kronor = make_add_on(currency="SEK")
    with pytest.raises(PlanError) as refused:
        subscriptions.price_cart(cart(plan, add_ons=[kronor]))
    assert refused.value.field == "add_ons"


# Placing the order: all or nothing ----------------------------------------------------------------


def test_placing_an_order_makes_a_pending_subscription_and_its_order(buyer, plan, add_on):
    the_cart = cart(plan, "annual", 3, [add_on])
    the_details = details("acme-training", new_numbers=2, porting_numbers=["+4681234567"])

    order = place(buyer, the_cart, the_details, now=NOW)

    subscription = db.session.get(Subscription, order.subscription_id)
    assert subscription.state == "pending" and subscription.organization_id == buyer.organization_id
    assert (subscription.plan, subscription.cycle, subscription.licenses) == (plan, "annual", 3)
    assert (subscription.license_price_minor, subscription.currency) == (14400, "EUR")
    assert [(a.add_on, a.price_minor) for a in subscription.add_ons] == [(add_on, 4800)]
    assert (subscription.site_subdomain, subscription.new_numbers, subscription.calling_plan) == (
        "acme-training", 2, "toll")
    assert subscription.payment_method == "paypal" and subscription.auto_renew
    assert subscription.terms_accepted_at == NOW
    assert subscription.current_period_end is None  # the period starts when it is paid
    [porting] = subscription.porting_requests
    assert porting.numbers == "+4681234567" and porting.earliest_completion_on == date(2026, 2, 21)
    assert order.state == "pending" and order.purpose == "subscription"
    assert order.billing_key == f"subscription-{subscription.id}:purchase"
    assert [(line.quantity, line.unit_price_minor, line.total_minor) for line in order.lines] == [
        (3, 14400, 43200), (1, 4800, 4800)]
    assert [line.description.split(" ")[0] for line in order.lines] == ["Business", "Call-back"]
    assert order.subtotal_minor == order.total_minor == 48000
    assert order.expires_at == NOW + timedelta(days=1)
    assert (order.buyer_email, order.currency) == ("anna@acme.example", "EUR")
    assert order.saves_payment_method


@pytest.mark.parametrize("mistake", ["stale_revision", "changed_total", "unknown_plan"])
def test_a_cart_that_changed_since_the_page_was_shown_is_refused_and_nothing_is_written(buyer, plan, mistake):
    the_cart = cart(plan, licenses=2, revision=5)
    revision, total = 5, 2 * 14400
    if mistake == "stale_revision":
        revision = 4
    elif mistake == "changed_total":
        total = 2 * 14400 - 100
    else:
        the_cart["plan"] = "gone"

    with pytest.raises(PlanError) as refused:
        subscriptions.place_order(buyer, the_cart, revision, total, details(), "en", now=NOW)

    assert refused.value.field == ("plan" if mistake == "unknown_plan" else "cart")
    assert written() == NOTHING


def test_fewer_licenses_than_hosts_and_administrators_are_refused(buyer, plan):
    organization = buyer.organization
    factories.make_user(organization, role="host")
    factories.make_user(organization, role="host")
    factories.make_user(organization, role="member")  # needs none

    with pytest.raises(PlanError) as refused:
        place(buyer, cart(plan, licenses=2))

    assert refused.value.field == "licenses"
    assert written() == NOTHING
    assert place(buyer, cart(plan, licenses=3)).total_minor == 3 * 14400


@pytest.mark.parametrize("subdomain", ["ab", "-acme", "acme-", "Acme", "ac_me", "a" * 64, "www", "admin", ""])
def test_an_invalid_or_reserved_site_url_is_refused(buyer, plan, subdomain):
    with pytest.raises(PlanError) as refused:
        place(buyer, cart(plan), details(site_subdomain=subdomain))

    assert refused.value.field == "site_subdomain"
    assert written() == NOTHING


def test_a_site_url_another_organisation_has_or_is_buying_is_refused(buyer, plan):
    factories.make_organization(subdomain="taken")
    make_subscription(state="pending", site_subdomain="wanted")
    before = written()

    for subdomain in ("taken", "wanted"):
        with pytest.raises(PlanError) as refused:
            place(buyer, cart(plan), details(site_subdomain=subdomain))
        assert refused.value.field == "site_subdomain"

    assert written() == before
    own = buyer.organization.subdomain  # the organisation may keep its own
    assert place(buyer, cart(plan), details(site_subdomain=own))


def test_a_tax_exempt_organisation_is_sent_to_sales(buyer, plan):
    buyer.organization.tax_exempt = True
    db.session.commit()

    with pytest.raises(PlanError) as refused:
        place(buyer, cart(plan))

    assert refused.value.field == "tax_exempt"
    assert written() == NOTHING


@pytest.mark.parametrize("role", ["host", "member"])
def test_only_an_administrator_may_buy(plan, role):
    someone = factories.make_user(role=role)

    with pytest.raises(PlanError):
        place(someone, cart(plan))

    assert written() == NOTHING


def test_the_portals_operator_does_not_buy_plans(plan):
    operator = factories.make_user(factories.make_organization(is_operator=True), role="admin")

    with pytest.raises(PlanError):
        place(operator, cart(plan))

    assert written() == NOTHING


@pytest.mark.parametrize("change,field", [
    ({"calling_plan": "pigeon"}, "calling_plan"),
    ({"new_numbers": 21}, "new_numbers"),
    ({"new_numbers": -1}, "new_numbers"),
    ({"renewal_payment": "cheque"}, "renewal_payment"),
])
def test_checkout_details_out_of_range_are_refused(buyer, plan, change, field):
    with pytest.raises(PlanError) as refused:
        place(buyer, cart(plan), details(**change))

    assert refused.value.field == field
    assert written() == NOTHING


def test_a_refused_order_leaves_an_earlier_unpaid_one_as_it_was(buyer, plan):
    earlier = place(buyer, cart(plan))
    before = written()

    with pytest.raises(PlanError):
        subscriptions.place_order(buyer, cart(plan), 2, 2 * 14400, details(), "en")  # stale revision

    assert written() == before
    assert db.session.get(Subscription, earlier.subscription_id).state == "pending"


def test_a_new_order_replaces_an_earlier_unpaid_one(buyer, plan):
    earlier = place(buyer, cart(plan, licenses=2))

    later = place(buyer, cart(plan, licenses=4))

    db.session.expire_all()
    assert db.session.get(Subscription, earlier.subscription_id).state == "canceled"
    assert db.session.get(Order, earlier.id).state == "canceled"
    assert db.session.get(Subscription, later.subscription_id).state == "pending"


def test_an_organisation_with_a_plan_cannot_buy_another(app, paypal, buyer, plan):
    buy(app, paypal, buyer=buyer, plan=plan)
    before = written()

    with pytest.raises(PlanError) as refused:
        place(buyer, cart(plan))

    assert refused.value.field == "plan"
    assert written() == before


# Paying for it ---------------------------------------------------------------------------------------


def test_paying_starts_the_plan_for_a_year_saves_the_paypal_account_and_allocates_numbers(
        app, paypal, buyer, plan, add_on):
    configure_paypal(app, paypal)
    order = place(buyer, cart(plan, "annual", 2, [add_on]), details("acme-training", new_numbers=2), now=NOW)

    assert pay(app, paypal, order, now=NOW) == "captured"

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    subscription = db.session.get(Subscription, order.subscription_id)
    assert order.state == "paid" and order.paid_at == NOW
    assert subscription.state == "provisioning"
    assert subscription.current_period_start == NOW
    assert subscription.current_period_end == datetime(2027, 1, 31, 9, 0, tzinfo=timezone.utc)
    assert subscription.billing_anchor_day == 31
    assert subscription.paypal_vault_id and subscription.paypal_vault_id in paypal.vaults
    [paypal_order] = paypal.orders.values()
    assert paypal_order["purchase_units"][0]["amount"] == {"currency_code": "EUR", "value": "336.00"}
    assert count(ProvisioningJob, ProvisioningJob.subscription_id == subscription.id) == 1
    assert [n.number for n in subscription.phone_numbers] == ["+46840000000", "+46840000001"]
    assert len(mails("purchased")) == 1


def test_a_monthly_plan_bought_on_the_31st_ends_its_first_period_at_the_end_of_february(app, paypal, buyer, plan):
    subscription = buy(app, paypal, buyer=buyer, plan=plan, cycle="monthly", now=NOW)

    assert subscription.current_period_end == datetime(2026, 2, 28, 9, 0, tzinfo=timezone.utc)
    assert subscription.billing_anchor_day == 31


def test_the_next_buyer_gets_the_next_free_numbers(app, paypal, plan):
    buy(app, paypal, plan=plan, new_numbers=2)

    second = buy(app, paypal, plan=plan, new_numbers=1)

    assert [n.number for n in second.phone_numbers] == ["+46840000002"]
    assert count(PhoneNumber) == 3


def test_renewals_paid_by_invoice_save_no_paypal_account(app, paypal, buyer, plan):
    subscription = buy(app, paypal, buyer=buyer, plan=plan, renewal_payment="bank_transfer")

    assert subscription.payment_method == "bank_transfer"
    assert subscription.paypal_vault_id is None and paypal.vaults == set()
    assert subscription.state == "provisioning"


def test_a_declined_capture_leaves_no_plan_running(app, paypal, buyer, plan):
    configure_paypal(app, paypal)
    paypal.capture_status = "DECLINED"
    order = place(buyer, cart(plan), details(new_numbers=1))

    assert pay(app, paypal, order) == "failed"

    db.session.expire_all()
    subscription = db.session.get(Subscription, order.subscription_id)
    assert subscription.state == "pending" and subscription.paypal_vault_id is None
    assert db.session.get(Order, order.id).state == "pending"
    assert count(Subscription, Subscription.state.in_(("provisioning", "active"))) == 0
    assert count(ProvisioningJob) == 0 and count(PhoneNumber) == 0
    assert paypal.vaults == set() and mails("purchased") == []


# Licenses ------------------------------------------------------------------------------------------


def test_licenses_added_mid_period_cost_the_prorated_price_and_count_once_paid(app, paypal, buyer, plan):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a 31-day period
    subscription = make_subscription(plan=plan, buyer=buyer, cycle="monthly", licenses=2, period_start=start,
                                     paypal=paypal)
    configure_paypal(app, paypal)
    halfway = start + timedelta(days=15, hours=12)
    quote = subscriptions.license_top_up_quote(subscription, 2, halfway)
    assert quote == 1500  # two licenses for half of the month

    order = subscriptions.order_licenses(subscription, buyer, 2, quote, "en", now=halfway)

    assert [(line.quantity, line.unit_price_minor) for line in order.lines] == [(2, 750)]
    assert order.total_minor == 1500 and order.billing_key.startswith(f"subscription-{subscription.id}:licenses:2:")
    assert not order.saves_payment_method
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).licenses == 2  # not before it is paid

    assert pay(app, paypal, order, now=halfway) == "captured"

    db.session.expire_all()
    after = db.session.get(Subscription, subscription.id)
    assert after.licenses == 4
    assert after.paypal_vault_id == subscription.paypal_vault_id  # the renewal account stays
    assert (after.current_period_start, after.current_period_end) == (start, subscription.current_period_end)
    assert len(mails("licenses_added")) == 1


def test_a_prorated_amount_that_does_not_divide_evenly_is_one_line(app, buyer, plan):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    subscription = make_subscription(plan=plan, buyer=buyer, cycle="monthly", licenses=2, period_start=start)
    now = start + timedelta(days=11)
    quote = subscriptions.license_top_up_quote(subscription, 2, now)
    assert quote == plan_pricing.prorated(1500, 2, start, subscription.current_period_end, now) == 1935

    order = subscriptions.order_licenses(subscription, buyer, 2, quote, "en", now=now)

    assert [(line.quantity, line.unit_price_minor, line.total_minor) for line in order.lines] == [(1, 1935, 1935)]
    assert order.total_minor == 1935


def test_adding_licenses_is_refused_for_a_changed_total_a_bad_count_or_a_plan_not_active(app, buyer, plan):
    subscription = make_subscription(plan=plan, buyer=buyer, licenses=2)
    now = subscription.current_period_start + timedelta(days=1)
    quote = subscriptions.license_top_up_quote(subscription, 1, now)

    for added, shown in ((1, quote + 1), (0, 0), (plan_pricing.MAX_LICENSES - 1, None)):
        with pytest.raises(PlanError):
            subscriptions.order_licenses(subscription, buyer, added, shown, "en", now=now)
    subscription.state = "past_due"
    db.session.commit()
    with pytest.raises(PlanError):
        subscriptions.order_licenses(subscription, buyer, 1, quote, "en", now=now)

    assert orders_of(subscription) == []


def test_licenses_cannot_be_reduced_below_the_hosts_and_administrators(app, buyer, plan):
    subscription = make_subscription(plan=plan, buyer=buyer, licenses=5)
    factories.make_user(buyer.organization, role="host")
    factories.make_user(buyer.organization, role="host")

    for too_few_or_many in (2, 1, 0, 6):
        with pytest.raises(PlanError) as refused:
            subscriptions.reduce_licenses_at_renewal(subscription, too_few_or_many)
        assert refused.value.field == "licenses"
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).licenses_at_renewal is None

    subscriptions.reduce_licenses_at_renewal(subscription, 3)
    db.session.expire_all()
    assert (subscription.licenses, subscription.licenses_at_renewal) == (5, 3)

    subscriptions.reduce_licenses_at_renewal(subscription, 5)  # changed their mind
    db.session.expire_all()
    assert subscription.licenses_at_renewal is None


def test_a_new_host_needs_a_free_license(app, buyer, plan):
    make_subscription(plan=plan, buyer=buyer, licenses=2)
    factories.make_user(buyer.organization, role="host")

    with pytest.raises(PlanError):
        subscriptions.check_license_for_role(buyer.organization_id, "member", "host")
    subscriptions.check_license_for_role(buyer.organization_id, "host", "admin")  # already has one
    subscriptions.check_license_for_role(buyer.organization_id, "admin", "member")


def test_a_new_host_is_refused_when_a_scheduled_reduction_leaves_no_license_for_them(app, buyer, plan):
    subscription = make_subscription(plan=plan, buyer=buyer, licenses=3)
    factories.make_user(buyer.organization, role="host")
    subscriptions.reduce_licenses_at_renewal(subscription, 2)  # admin + host: allowed

    with pytest.raises(PlanError):
        subscriptions.check_license_for_role(buyer.organization_id, "member", "host")


def test_subdomain_suggestions_come_from_the_email_and_skip_taken_ones(app):
    organization = factories.make_organization()
    factories.make_organization(subdomain="acme")

    assert subscriptions.suggest_subdomain("anna@acme.se", organization.id) == "acme-2"
    assert subscriptions.suggest_subdomain("anna.berg@gmail.com", organization.id) == "anna-berg"
    assert subscriptions.suggest_subdomain("al@outlook.com", organization.id) == "al-site"


def test_phone_numbers_to_port_must_be_in_international_form(app):
    assert subscriptions.parse_phone_numbers("+46 8 123 456 78\n+46-8-1234567, +4681234567") == [
        "+46812345678", "+4681234567"]
    with pytest.raises(PlanError) as refused:
        subscriptions.parse_phone_numbers("08 123 456 78")
    assert refused.value.field == "porting_numbers"


def test_the_site_url_falls_back_to_the_current_one_when_the_email_gives_nothing_usable(app):
    organization = factories.make_organization(subdomain="nordic-training")
    assert subscriptions.suggest_subdomain("admin@example.com", organization.id,
                                           fallback=organization.subdomain) == "nordic-training"
