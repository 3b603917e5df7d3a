from flask import current_app, redirect, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.main import bp
from app.errors import render_error
from app.i18n import is_supported_locale
from app.services import accounts, catalog
from app.web import next_or, render

ONE_YEAR = 365 * 24 * 3600


@bp.route("/")
def home():
    return render("main/home.html", sessions=catalog.upcoming_sessions(limit=20))


@bp.route("/language", methods=["POST"])
def choose_language():
    """The language picker: remember the choice in a cookie and, when signed in, the profile."""
    locale = request.form.get("locale", "")
    if not is_supported_locale(locale):
        return render_error(400, _l("That language is not available."))
    if current_user.is_authenticated:
        accounts.set_preferred_locale(current_user, locale)
    response = redirect(next_or("main.home"))
    response.set_cookie(
        current_app.config["LOCALE_COOKIE"],
        locale,
        max_age=ONE_YEAR,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        httponly=True,
    )
    return response
