from flask import Blueprint

bp = Blueprint("cost", __name__)

from app.blueprints.cost import views  # noqa: E402,F401  (registers the routes)
from app.blueprints.cost import settlement_views  # noqa: E402,F401
