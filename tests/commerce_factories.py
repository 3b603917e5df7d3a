"""Orders, registrations, coupons and e-commerce settings for tests, made directly in the database."""

import itertools

from app.extensions import db
from app.models import Coupon, Order, Registration
from app.services import commerce

_numbers = itertools.count(1)


def switch_on(organization, **settings):
    """E-commerce on with the given extra switches, e.g. switch_on(org, coupons=True)."""
    return commerce.update_settings(organization, **{"enabled": True, **settings})


def make_order(session=None, organization=None, state="paid", subtotal=10000, discount=0, tax=0,
               refunded=0, currency=None, purpose="registration", **fields):
    n = next(_numbers)
    organization = organization or session.organization
    fields.setdefault("code", f"T{n:07d}")
    fields.setdefault("buyer_name", f"Buyer {n}")
    fields.setdefault("buyer_email", f"buyer{n}@example.com")
    fields.setdefault("locale", "en")
    order = Order(
        organization_id=organization.id,
        session_id=session.id if session else None,
        purpose=purpose,
        currency=currency or (session.currency if session else organization.currency),
        subtotal_minor=subtotal,
        discount_minor=discount,
        tax_minor=tax,
        total_minor=subtotal - discount + tax,
        refunded_minor=refunded,
        state=state,
        **fields,
    )
    db.session.add(order)
    db.session.commit()
    return order


def make_registration(order, state="confirmed", **fields):
    n = next(_numbers)
    fields.setdefault("name", order.buyer_name)
    fields.setdefault("email", f"attendee{n}@example.com")
    fields.setdefault("locale", "en")
    registration = Registration(session_id=order.session_id, order_id=order.id, state=state, **fields)
    db.session.add(registration)
    db.session.commit()
    return registration


def make_sale(session, state="paid", subtotal=10000, registration_state="confirmed", **fields):
    """A registration order with its registration, as the checkout leaves them."""
    order = make_order(session, state=state, subtotal=subtotal, **fields)
    make_registration(order, state=registration_state)
    return order


def make_coupon(organization, code=None, kind="percent", value=20, **fields):
    coupon = Coupon(
        organization_id=organization.id, code=code or f"CODE{next(_numbers)}", kind=kind,
        value=value, currency=organization.currency if kind == "fixed" else None, **fields,
    )
    db.session.add(coupon)
    db.session.commit()
    return coupon
