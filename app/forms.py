"""Validators and choices shared by every form, with messages that go through our catalogs.

WTForms' built-in messages are English; each validator here names its message explicitly.
"""

from zoneinfo import available_timezones

from babel.numbers import get_currency_name
from flask import current_app
from flask_babel import get_locale, gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_wtf import FlaskForm
from wtforms import SelectChoice, validators

from app.i18n import LANGUAGE_NAMES
from app.services.money import SITE_CURRENCIES

PASSWORD_MIN_LENGTH = 10

# Messages WTForms writes itself (fields' own checks); listed so that extraction finds them.
WTFORMS_MESSAGES = (
    _l("Not a valid choice."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid date value."),
    _l("Not a valid datetime value."),
    _l("Not a valid time value."),
)


class _CatalogTranslations:
    """Routes WTForms' own messages through our catalogs."""

    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


class LecternForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _CatalogTranslations()


def required():
    return validators.InputRequired(message=_l("This field is required."))


def email_address():
    return validators.Email(message=_l("Enter a valid email address."), check_deliverability=False)


def length(max):
    message = lazy_ngettext(
        "Enter at most %(num)d character.", "Enter at most %(num)d characters.", max
    )
    return validators.Length(max=max, message=message)


def new_password_hint():
    return lazy_ngettext(
        "At least %(num)d character.", "At least %(num)d characters.", PASSWORD_MIN_LENGTH
    )


def new_password():
    return validators.Length(
        min=PASSWORD_MIN_LENGTH,
        max=200,
        message=lazy_ngettext(
            "Use at least %(num)d character.", "Use at least %(num)d characters.", PASSWORD_MIN_LENGTH
        ),
    )


def passwords_match(field_name):
    return validators.EqualTo(field_name, message=_l("The two passwords do not match."))


def locale_choices(include_automatic=False):
    choices = [
        SelectChoice(code, LANGUAGE_NAMES[code], render_kw={"lang": code})
        for code in current_app.config["LOCALES"]
    ]
    if include_automatic:
        choices.insert(0, SelectChoice("", _l("Same as my browser")))
    return choices


_TIMEZONES = sorted(name for name in available_timezones() if "/" in name or name == "UTC")


def timezone_choices(include_automatic=False):
    choices = [SelectChoice(name, name.replace("_", " ")) for name in _TIMEZONES]
    if include_automatic:
        choices.insert(0, SelectChoice("", _l("Same as my organisation")))
    return choices


def currency_choices():
    locale = get_locale()
    return [
        SelectChoice(code, f"{code} — {get_currency_name(code, locale=locale)}")
        for code in SITE_CURRENCIES
    ]


def number_range(min, max, message=None):
    return validators.NumberRange(
        min=min, max=max, message=message or _l("Enter a number from %(min)d to %(max)d.")
    )


def strip(value):
    """A filter: surrounding spaces are never meant."""
    return value.strip() if isinstance(value, str) else value


def lower(value):
    return value.lower() if isinstance(value, str) else value
