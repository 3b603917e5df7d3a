from flask import Blueprint

bp = Blueprint("admin", __name__)

from app.blueprints.admin import views  # noqa: E402,F401  (registers the routes)
