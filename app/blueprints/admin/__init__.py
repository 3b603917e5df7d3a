from flask import Blueprint

bp = Blueprint("admin", __name__)

# Importing the view modules registers their routes.
from app.blueprints.admin import views  # noqa: E402,F401
from app.blueprints.admin import commerce_views, coupon_views, report_views, spend_views  # noqa: E402,F401
from app.blueprints.admin import invoice_views  # noqa: E402,F401
