from flask import Blueprint

bp = Blueprint("checkout", __name__)

from app.blueprints.checkout import views  # noqa: E402,F401  (registers the routes)
