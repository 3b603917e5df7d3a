"""The buyer's key to their order: a signed token in the link, nothing stored.

Anyone with the link may see and pay the order, as with a ticket; the signature makes the
link unguessable, and the order's code in it ties it to exactly one order.
"""

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from app.extensions import db
from app.models import Order

SALT = "lectern.order-link"


def make_order_token(order, secret_key):
    return URLSafeSerializer(secret_key, salt=SALT).dumps([order.id, order.code])


def order_for_token(token, secret_key):
    try:
        order_id, code = URLSafeSerializer(secret_key, salt=SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return db.session.execute(
        select(Order).where(Order.id == order_id, Order.code == code)
    ).scalar_one_or_none()
