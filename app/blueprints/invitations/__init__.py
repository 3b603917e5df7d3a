from flask import Blueprint

bp = Blueprint("invitations", __name__)

# Importing the view modules registers their routes.
from app.blueprints.invitations import views  # noqa: E402,F401
from app.blueprints.invitations import campaign_views, list_views  # noqa: E402,F401
