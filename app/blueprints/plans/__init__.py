from flask import Blueprint

bp = Blueprint("plans", __name__)

# Registers the routes: buyers' pages (pricing, cart, checkout, subscription) and the
# operator's pages (/plans/manage: catalogue, legal pages, subscriptions, sales requests).
from app.blueprints.plans import manage_views, subscription_views, views  # noqa: E402,F401
