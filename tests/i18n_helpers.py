"""Look up what a message is in a given language, from the compiled catalogs."""

from flask_babel import force_locale, gettext


def translated(locale, message, **variables):
    with force_locale(locale):
        return gettext(message, **variables)
