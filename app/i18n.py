"""Which language and time zone a request is served in, and the template filters that use them."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_request_context, request
from babel import Locale
from flask_babel import format_date, format_time, get_locale, get_timezone
from flask_login import current_user

from app.extensions import babel
from app.services.money import format_money, format_money_exact, to_major

LANGUAGE_NAMES = {
    "en": "English",
    "sv": "Svenska",
    "fr": "Français",
    "sl": "Slovenščina",
    "ro": "Română",
    "ru": "Русский",
}


def init_app(app):
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["money"] = lambda minor, currency: format_money(
        minor, currency, str(get_locale())
    )
    app.jinja_env.filters["money_exact"] = lambda minor, currency: format_money_exact(
        minor, currency, str(get_locale())
    )
    app.jinja_env.filters["money_plain"] = lambda minor, currency: str(to_major(minor, currency))
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["day"] = lambda day: format_date(day, "long")
    app.jinja_env.globals["timezone_name"] = lambda: str(get_timezone())
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.context_processor(lambda: {"current_locale": str(get_locale())})


def is_supported_locale(code):
    return code in current_app.config["LOCALES"]


def is_valid_timezone(name):
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def select_locale():
    """?lang= for this page, else the user's stored choice, else the cookie, else the browser."""
    if not has_request_context():  # CLI tasks and workers: mail sets its own locale
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    requested = request.args.get("lang")
    if requested is not None:
        if is_supported_locale(requested):
            return requested
        g.unknown_locale = requested[:20]
    if current_user.is_authenticated and current_user.locale:
        return current_user.locale
    cookie = request.cookies.get(current_app.config["LOCALE_COOKIE"])
    if cookie and is_supported_locale(cookie):
        return cookie
    best = request.accept_languages.best_match(current_app.config["LOCALES"])
    if best:
        return best
    if current_user.is_authenticated:
        return current_user.organization.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone():
    """The user's zone, else the browser's (a cookie app.js sets), else the organisation's."""
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    cookie = request.cookies.get(current_app.config["TIMEZONE_COOKIE"])
    if is_valid_timezone(cookie):
        return cookie
    if current_user.is_authenticated:
        return current_user.organization.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def format_when(moment):
    """'Tuesday, 24 November 2026, 09:00' in the reader's language and time zone.

    Joins the full date and the short time with the locale's own pattern ("{1}, {0}",
    "{1} 'kl'. {0}", …), converting to the reader's time zone first.
    """
    locale = get_locale()
    # Quoted literals ('kl'.) lose their quotes before the parts go in.
    pattern = str(Locale.parse(locale).datetime_formats["full"]).replace("'", "")
    return pattern.replace("{1}", format_date(moment, "full")).replace(
        "{0}", format_time(moment, "short")
    )
