"""Friendly, translated error pages."""

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("We could not understand that request.")),
    403: (_l("Access denied"), _l("You do not have permission to open this page.")),
    404: (_l("Page not found"), _l("The page you asked for does not exist or has moved.")),
    405: (_l("Not allowed"), _l("That action is not possible on this page.")),
    429: (
        _l("Too many attempts"),
        _l("You have tried this too many times. Please wait a little and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error happened on our side. Please try again in a moment."),
    ),
}


def render_error(code, message=None):
    title, default_message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    page = render_template("errors/error.html", code=code, title=title, message=message or default_message)
    return page, code


def init_app(app):
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, _l("This form has expired. Please go back, reload the page and try again.")
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code in ERROR_TEXTS:
            return render_error(error.code)
        return error

    @app.errorhandler(500)
    def server_error(error):
        from app.extensions import db

        db.session.rollback()
        return render_error(500)
