from flask import Blueprint

bp = Blueprint("scheduling", __name__)

from app.blueprints.scheduling import views  # noqa: E402,F401  (registers the routes)
