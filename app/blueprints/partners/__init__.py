from flask import Blueprint

bp = Blueprint("partners", __name__)

# Registers the routes: partner orders, the setup wizard (the "Set up now" link) and the
# service setup that ends with Provision.
from app.blueprints.partners import service_setup_views, views, wizard_views  # noqa: E402,F401
