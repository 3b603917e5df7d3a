"""Which language and time zone a request is served in, and the template filters that use them."""

from datetime import timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_request_context, request
from babel import Locale, dates
from flask_babel import format_date, get_locale, get_timezone, get_translations
from jinja2 import pass_context
from markupsafe import Markup
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
    app.context_processor(_translations_for_this_render)


def _translations_for_this_render():
    """gettext and ngettext bound to the translations of this render's language.

    A page calls gettext about a hundred times, and Flask-Babel's own callables look the
    translations up through several context proxies on every call. A render never spans a
    change of language (mail renders inside force_locale are renders of their own), so they
    are looked up once here; the context's values take precedence over the Jinja globals.
    """
    translations = get_translations()

    # As Jinja's i18n extension does: the text is our catalogs' own, and Markup's % escapes the
    # variables, so nothing a user typed is trusted as HTML.
    @pass_context
    def gettext(context, string, **variables):
        text = translations.ugettext(string)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704

    @pass_context
    def ngettext(context, singular, plural, number, **variables):
        variables.setdefault("num", number)
        text = translations.ungettext(singular, plural, number)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704

    return {"gettext": gettext, "ngettext": ngettext}


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


def attendee_timezone():
    """The zone a signed-in user chose or the browser reported, for an attendee's emails;
    None when neither is known (the emails then use the session's own zone)."""
    if current_user.is_authenticated and current_user.timezone:
        return current_user.timezone
    zone = request.cookies.get(current_app.config["TIMEZONE_COOKIE"])
    return zone if is_valid_timezone(zone) else None


def format_when(moment):
    """'Tuesday, 24 November 2026, 09:00' in the reader's language and time zone."""
    return _format_when(moment, str(get_locale()), str(get_timezone()))


@lru_cache(maxsize=4096)  # lists show the same starts on every request
def _format_when(moment, locale, zone):
    """Joins the full date and the short time with the locale's own pattern ("{1}, {0}",
    "{1} 'kl'. {0}", …), in the reader's time zone."""
    if moment.tzinfo is None:  # stored times are UTC
        moment = moment.replace(tzinfo=timezone.utc)
    local = moment.astimezone(ZoneInfo(zone))
    # Quoted literals ('kl'.) lose their quotes before the parts go in.
    pattern = str(Locale.parse(locale).datetime_formats["full"]).replace("'", "")
    return pattern.replace("{1}", dates.format_date(local, "full", locale=locale)).replace(
        "{0}", dates.format_time(local, "short", locale=locale)
    )
