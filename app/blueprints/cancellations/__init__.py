"""Self-service cancellation from the one-time link in the confirmation email (/c/<token>)."""

from flask import Blueprint

bp = Blueprint("cancellations", __name__)

from app.blueprints.cancellations import views  # noqa: E402,F401  (registers the routes)
