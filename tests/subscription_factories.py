"""Subscriptions for tests: made directly in the database, or bought through the services and
paid through the fake PayPal, as a buyer would."""

import itertools
import re
from datetime import datetime, timezone

from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutboxMessage, Subscription, SubscriptionAddOn
from app.services import checkout, plan_pricing, subscription_mail, subscriptions
from app.services.payments import operator_paypal
from tests import factories
from tests.plan_factories import make_plan

_numbers = itertools.count(1)
RETURN_URL = "http://localhost/plans/paypal/return"
CANCEL_URL = "http://localhost/plans/paypal/cancel"


def configure_paypal(app, fake, read_timeout=None):
    """Point the portal's own PayPal (the one plans are sold through) at the fake."""
    app.config.update(PAYPAL_BASE_URL=fake.base_url, PAYPAL_CLIENT_ID=fake.client_id,
                      PAYPAL_CLIENT_SECRET=fake.client_secret)
    if read_timeout is not None:
        app.config["PAYPAL_READ_TIMEOUT"] = read_timeout


def make_subscription(plan=None, organization=None, buyer=None, cycle="monthly", licenses=2,
                      state="active", period_start=None, period_end=None, vault_id=None,
                      payment_method="paypal", add_ons=(), paypal=None, **fields):
    """A paid subscription for a fresh organisation (or the one given), as a purchase leaves it
    once provisioned. `vault_id`: the saved PayPal account, "" for none; with `paypal` (the fake)
    the fake knows it, so renewals can charge it."""
    n = next(_numbers)
    plan = plan or make_plan()
    buyer = buyer or factories.make_user(organization, role="admin")
    organization = buyer.organization
    period_start = period_start or datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
    period_end = period_end or plan_pricing.next_period_end(period_start, cycle, period_start.day)
    if vault_id is None:
        vault_id = f"VAULT-TEST-{n}"
    if paypal is not None and vault_id:
        paypal.vaults.add(vault_id)
    fields.setdefault("billing_anchor_day", period_start.day)
    fields.setdefault("site_subdomain", organization.subdomain)
    fields.setdefault("billing_address", "Storgatan 1\n111 22 Stockholm")
    fields.setdefault("service_address", "Storgatan 1\n111 22 Stockholm")
    fields.setdefault("calling_plan", "computer_audio")
    fields.setdefault("license_price_minor", plan_pricing.license_price(plan, cycle))
    subscription = Subscription(
        organization=organization, plan=plan, buyer=buyer, cycle=cycle, licenses=licenses,
        currency=plan.currency, payment_method=payment_method, paypal_vault_id=vault_id or None,
        state=state, terms_accepted_at=period_start, current_period_start=period_start,
        current_period_end=period_end, **fields,
    )
    subscription.add_ons = [
        SubscriptionAddOn(add_on=a, price_minor=plan_pricing.add_on_price(a, cycle)) for a in add_ons
    ]
    db.session.add(subscription)
    db.session.commit()
    return subscription


def details(subdomain=None, **changes):
    fields = dict(billing_address="Storgatan 1\n111 22 Stockholm", service_address="Storgatan 1",
                  calling_plan="toll", site_subdomain=subdomain or f"site-{next(_numbers)}")
    return subscriptions.CheckoutDetails(**fields | changes)


def cart(plan, cycle="annual", licenses=2, add_ons=(), revision=3):
    return {"plan": plan.code, "cycle": cycle, "licenses": licenses,
            "add_ons": sorted(a.code for a in add_ons), "revision": revision}


def place(buyer, the_cart, checkout_details=None, now=None):
    """Place the order for a cart as its page showed it."""
    priced = subscriptions.price_cart(the_cart)
    return subscriptions.place_order(buyer, the_cart, the_cart["revision"], priced.total_minor,
                                     checkout_details or details(), "en", now=now)


def pay(app, fake, order, now=None):
    """Pay an order through the operator's PayPal: start, the buyer approves, capture.
    Returns the payment's state."""
    provider = operator_paypal(app.config)
    url = checkout.begin_payment(order, "paypal", order.total_minor, provider, RETURN_URL, CANCEL_URL,
                                 None, now=now)
    paypal_order = re.search(r"token=([^&]+)", url).group(1)
    fake.approve(paypal_order)
    payment = order.payments[-1]
    return checkout.complete_provider_payment(payment, provider, now)


def buy(app, fake, buyer=None, plan=None, cycle="annual", licenses=2, add_ons=(), now=None, **detail_changes):
    """A plan bought and paid for: the subscription is 'provisioning'."""
    configure_paypal(app, fake)
    buyer = buyer or factories.make_user(role="admin")
    plan = plan or make_plan()
    order = place(buyer, cart(plan, cycle, licenses, add_ons), details(**detail_changes), now=now)
    assert pay(app, fake, order, now) == "captured"
    db.session.refresh(order)
    return db.session.get(Subscription, order.subscription_id)


# Reading what happened ---------------------------------------------------------------------------


def mails(kind, recipient=None):
    """The subscription emails of this kind queued so far (subjects are in English in tests)."""
    db.session.expire_all()
    query = select(OutboxMessage).where(OutboxMessage.template == "subscription",
                                        OutboxMessage.subject == str(subscription_mail.SUBJECTS[kind]))
    if recipient:
        query = query.where(OutboxMessage.recipient == recipient)
    return db.session.scalars(query.order_by(OutboxMessage.id)).all()


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def orders_of(subscription):
    db.session.expire_all()
    return db.session.scalars(
        select(Order).where(Order.subscription_id == subscription.id).order_by(Order.id)
    ).all()
