"""Plans, add-ons and subscriptions for tests."""

import itertools

from app.extensions import db
from app.models import AddOn, Feature, Plan, PlanFeature

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
