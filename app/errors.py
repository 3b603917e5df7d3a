"""Friendly, translated error pages."""

from flask import current_app, g, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from app.extensions import db, login_manager
from app.web import wants_fragment

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

# What SQLAlchemy raises when the database cannot be reached: refused, restarting, shutting
# down, or a pooled connection the server closed (psycopg's OperationalError and InterfaceError).
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def render_error(code, message=None):
    title, default_message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    page = render_template("errors/error.html", code=code, title=title, message=message or default_message)
    return page, code


def render_database_unavailable(error):
    """503: a page that loads itself again a little later, or, for a form or an htmx request,
    a notice to try again.

    Renders without touching the database: the user is served as signed out for this one
    response (their session cookie stays), so neither the page nor the language choice
    loads them."""
    current_app.logger.warning("The database is unavailable, answering 503: %s", error)
    forget_the_transaction()
    g._login_user = login_manager.anonymous_user()  # Flask-Login's per-request user
    if wants_fragment():
        template, retries_itself = "errors/_unavailable.html", False
    else:
        template, retries_itself = "errors/unavailable.html", request.method == "GET"
    message = (
        _l("Your data is safe. This page will try again in a few seconds.")
        if retries_itself
        else _l("Your data is safe. Please try again in a few seconds.")
    )
    response = make_response(
        render_template(template, message=message, retries_itself=retries_itself,
                        retry_after=RETRY_AFTER_SECONDS),
        503,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def forget_the_transaction():
    """Roll back, also when the server has just closed the connection (a restart): it dropped
    the transaction with the connection, and asking it to roll back would raise."""
    try:
        db.session.rollback()
    except DATABASE_UNAVAILABLE:
        db.session().invalidate()  # lets go of the connection without asking the server


def init_app(app):
    # Teardowns run last registered first: this one before Flask-SQLAlchemy's, whose own
    # rollback would turn a page already made into a 500 when the connection has just gone.
    app.teardown_appcontext(lambda exc: forget_the_transaction())

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

    for unreachable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unreachable, render_database_unavailable)

    @app.errorhandler(500)
    def server_error(error):
        forget_the_transaction()
        try:
            return render_error(500)
        except DATABASE_UNAVAILABLE as unavailable:
            # The page shows who is signed in, which needs the database; an error page that
            # failed the same way in its own handler (a 404, say) has ended up here too.
            return render_database_unavailable(unavailable)
