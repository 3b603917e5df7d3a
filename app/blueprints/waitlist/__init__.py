from flask import Blueprint

bp = Blueprint("waitlist", __name__)

from app.blueprints.waitlist import views  # noqa: E402,F401  (registers the routes)
