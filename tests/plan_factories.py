"""Plans, add-ons and subscriptions for tests."""

import itertools

from app.extensions import db
from app.models import AddOn, Feature, Order, OrderLine, Payment, Plan, PlanFeature
from app.services.registrations import new_order_code

_numbers = itertools.count(1)


def make_plan(code=None, monthly=1500, annual=14400, currency="EUR", features=(), **fields):
    """`features`: (name, value) pairs; value "" means included."""
    n = next(_numbers)
    plan = Plan(code=code or f"plan-{n}", name=fields.pop("name", f"Plan {n}"), monthly_price_minor=monthly,
                annual_price_minor=annual, currency=currency, position=fields.pop("position", n), **fields)
    for name, value in features:
        feature = db.session.query(Feature).filter_by(name=name).first() or Feature(name=name, position=n)
        plan.features.append(PlanFeature(feature=feature, value=value))
    db.session.add(plan)
    db.session.commit()
    return plan


def make_add_on(code=None, monthly=500, annual=4800, currency="EUR", **fields):
    n = next(_numbers)
    add_on = AddOn(code=code or f"add-on-{n}", name=fields.pop("name", f"Add-on {n}"),
                   monthly_price_minor=monthly, annual_price_minor=annual, currency=currency, **fields)
    db.session.add(add_on)
    db.session.commit()
    return add_on


def make_invoice(subscription, billing="renewal:2026-02-15", state="pending", provider="bank_transfer",
                 payment_state="created"):
    """An order of the subscription for its licenses, with one payment. `billing` is what it
    pays for ("renewal:<period end>", "licenses:<added>", "purchase"); by default an invoice
    waiting for a bank transfer, as a renewal leaves it."""
    total = subscription.licenses * subscription.license_price_minor
    order = Order(
        organization_id=subscription.organization_id, subscription_id=subscription.id,
        purpose="subscription", code=new_order_code(), buyer_name=subscription.buyer.name,
        buyer_email=subscription.buyer.email, locale="en", currency=subscription.currency,
        subtotal_minor=total, total_minor=total, state=state,
        billing_key=f"subscription-{subscription.id}:{billing}",
    )
    order.lines = [OrderLine(description=f"{subscription.plan.name}: licenses", quantity=subscription.licenses,
                             unit_price_minor=subscription.license_price_minor, total_minor=total)]
    order.payments = [Payment(provider=provider, amount_minor=total, currency=subscription.currency,
                              state=payment_state)]
    db.session.add(order)
    db.session.commit()
    return order
