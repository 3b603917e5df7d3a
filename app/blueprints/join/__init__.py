from flask import Blueprint

bp = Blueprint("join", __name__)

from app.blueprints.join import views  # noqa: E402,F401  (registers the routes)
