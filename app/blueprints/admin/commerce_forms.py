"""Forms of the e-commerce administration: settings, coupons, order filters."""

import re
from urllib.parse import urlsplit

from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
    validators,
)

from app.forms import LecternForm, length, number_range, required, strip
from app.services import cancellation_policy
from app.services.coupons import MAX_GENERATED, MAX_USES_LIMIT
from app.services.reminders import MAX_REMINDER_HOURS
from app.services.reports import ORDER_STATE_LABELS, OrderFilter, organization_sessions

COUPON_KIND_LABELS = {
    "percent": _l("Percentage off"),
    "fixed": _l("Amount off"),
    "free": _l("Free"),
}


def optional():
    return validators.Optional()


class HttpUrl:
    """An absolute http:// or https:// address (or nothing)."""

    message = _l("Enter an address that starts with http:// or https://.")

    def __call__(self, form, field):
        if not field.data:
            return
        parts = urlsplit(field.data)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in field.data:
            raise ValidationError(self.message)


def session_choices(organization, empty_label):
    return [SelectChoice("", empty_label)] + [
        SelectChoice(str(s.id), f"{s.title} ({format_date(s.starts_at, 'medium')})")
        for s in organization_sessions(organization)
    ]


def _selected_id(field):
    return int(field.data) if field.data else None


# E-commerce settings -----------------------------------------------------------------------

MAX_REMINDERS = 5


class ReminderHours:
    """'24, 1': at most five whole numbers of hours, each from 1 to a year; empty = no reminders."""

    def __call__(self, form, field):
        items = [item for item in re.split(r"[\s,;]+", field.data or "") if item]
        if not all(item.isascii() and item.isdigit() and 0 < int(item) <= MAX_REMINDER_HOURS
                   for item in items):
            raise ValidationError(_l(
                "Enter whole numbers of hours from 1 to %(max)d, separated by commas, such as 24, 1.",
                max=MAX_REMINDER_HOURS,
            ))
        if len(set(int(item) for item in items)) > MAX_REMINDERS:
            raise ValidationError(_l("Enter at most %(num)d reminders.", num=MAX_REMINDERS))


def reminder_hours_text(text):
    """'1, 24,24' -> '24,1': distinct, largest first, as stored."""
    return ",".join(str(hours) for hours in sorted({int(i) for i in re.split(r"[\s,;]+", text or "") if i},
                                                   reverse=True))



class CommerceSettingsForm(LecternForm):
    enabled = BooleanField(_l("Sell on this site (e-commerce on)"), render_kw={"role": "switch"})
    fee_based = BooleanField(_l("Fee-based training: attendees pay to register"),
                             render_kw={"role": "switch"})
    pay_per_use = BooleanField(_l("Pay-per-use: hosts pay for each session they run"),
                               render_kw={"role": "switch"})
    coupons = BooleanField(_l("Coupons"), render_kw={"role": "switch"})

    paypal_enabled = BooleanField(_l("PayPal (also cards through PayPal)"))
    bank_transfer_enabled = BooleanField(_l("Bank transfer"))

    paypal_client_id = StringField(_l("PayPal client ID"), [length(200)], filters=[strip],
                                   render_kw={"autocomplete": "off", "spellcheck": "false"})
    # Never filled from the stored value and never echoed back (PasswordField hides its value).
    paypal_secret = PasswordField(
        _l("PayPal client secret"), [length(200)], filters=[strip],
        render_kw={"autocomplete": "new-password"},
    )
    paypal_base_url = StringField(
        _l("PayPal API address"), [length(200), HttpUrl()], filters=[strip],
        description=_l("Leave empty for the server's default."),
        render_kw={"inputmode": "url", "spellcheck": "false"},
    )
    paypal_webhook_id = StringField(_l("PayPal webhook ID"), [length(100)], filters=[strip],
                                    render_kw={"spellcheck": "false"})

    bank_transfer_details = TextAreaField(
        _l("Bank transfer details"), [length(2000)], filters=[strip],
        description=_l("Account holder, IBAN, BIC and instructions: shown to buyers who pay by bank transfer."),
        render_kw={"rows": 5},
    )
    hold_minutes = IntegerField(
        _l("Seat hold (minutes)"),
        [required(), number_range(1, 1440, _l("Enter a number of minutes from %(min)d to %(max)d."))],
        description=_l("How long a seat stays reserved while its buyer pays."),
        render_kw={"inputmode": "numeric"},
    )

    person_minute_rate = DecimalField(
        _l("Rate per person-minute (minor units)"),
        [required(), validators.NumberRange(min=0, max=100000, message=_l("Enter a rate of zero or more."))],
        places=4,
        description=_l("In hundredths of the currency: 0.35 means 0.35 cents (or öre) a minute."),
    )
    teleconference_minute_rate = DecimalField(
        _l("Rate per teleconference minute (minor units)"),
        [required(), validators.NumberRange(min=0, max=100000, message=_l("Enter a rate of zero or more."))],
        places=4,
    )
    minimum_charge_minor = IntegerField(
        _l("Minimum charge per session (minor units)"),
        [required(), number_range(0, 10_000_000, _l("Enter a whole number from %(min)d to %(max)d."))],
    )
    settlement_mode = SelectField(
        _l("When a session uses less than was paid"),
        choices=[SelectChoice("refund", _l("Refund the difference")),
                 SelectChoice("credit", _l("Keep it as a credit for the host"))],
    )

    # Named apart from CommerceSettings.cancellation_policy (JSON), which obj= would copy in.
    cancellation_tiers = TextAreaField(
        _l("Default cancellation policy"), [length(1000)], description=cancellation_policy.EDITOR_HINT,
        render_kw={"rows": 4, "spellcheck": "false"},
    )
    waitlist_offer_hours = IntegerField(
        _l("Waitlist offers are open for (hours)"),
        [required(), number_range(1, 168, _l("Enter a number of hours from %(min)d to %(max)d."))],
        description=_l("When a seat frees, the next person on the waitlist has this long to take it."),
        render_kw={"inputmode": "numeric"},
    )
    reminder_hours = StringField(
        _l("Reminders (hours before the start)"), [length(40), ReminderHours()], filters=[strip],
        description=_l("Separated by commas, at most five, such as 24, 1. Leave empty for no reminders."),
        render_kw={"inputmode": "numeric", "spellcheck": "false"},
    )

    def __init__(self, *args, has_secret=False, currency="EUR", stored_policy="[]", **kwargs):
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        self.currency = currency
        self.policy_tiers = ()
        if has_secret:
            self.paypal_secret.description = _l("A secret is stored. Leave this empty to keep it.")
        if not self.is_submitted():
            self.cancellation_tiers.data = cancellation_policy.to_text(
                cancellation_policy.read(stored_policy), currency)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.paypal_enabled.data:
            if not self.paypal_client_id.data:
                self.paypal_client_id.errors.append(_l("PayPal needs a client ID."))
                valid = False
            if not (self.paypal_secret.data or self.has_secret):
                self.paypal_secret.errors.append(_l("PayPal needs a client secret."))
                valid = False
        if self.bank_transfer_enabled.data and not self.bank_transfer_details.data:
            self.bank_transfer_details.errors.append(
                _l("Bank transfer needs the details buyers pay to.")
            )
            valid = False
        try:
            self.policy_tiers = cancellation_policy.parse_text(self.cancellation_tiers.data, self.currency)
        except cancellation_policy.PolicyError as error:
            self.cancellation_tiers.errors.append(error.message)
            valid = False
        return valid

    def settings_values(self):
        """Keyword arguments for commerce.update_settings; an empty secret keeps the stored one."""
        names = (
            "enabled", "fee_based", "pay_per_use", "coupons", "paypal_enabled",
            "bank_transfer_enabled", "paypal_client_id", "paypal_base_url", "paypal_webhook_id",
            "bank_transfer_details", "hold_minutes", "person_minute_rate",
            "teleconference_minute_rate", "minimum_charge_minor", "settlement_mode",
        )
        values = {name: getattr(self, name).data for name in names}
        values["cancellation_policy"] = cancellation_policy.serialise(self.policy_tiers)
        values["waitlist_offer_hours"] = self.waitlist_offer_hours.data
        values["reminder_hours"] = reminder_hours_text(self.reminder_hours.data)
        if self.paypal_secret.data:
            values["paypal_client_secret"] = self.paypal_secret.data
        return values


# Coupons -------------------------------------------------------------------------------------


class _CouponTermsForm(LecternForm):
    """What a coupon gives and when: shared by one coupon and a batch of generated ones."""

    kind = SelectField(
        _l("Discount"), default="percent",
        choices=[SelectChoice(k, label) for k, label in COUPON_KIND_LABELS.items()],
    )
    value = StringField(_l("Value"), [length(20)], filters=[strip],
                        render_kw={"inputmode": "decimal", "autocomplete": "off"})
    valid_from = DateField(_l("Valid from"), [optional()])
    valid_until = DateField(_l("Valid until"), [optional()])
    session_id = SelectField(_l("Only for the session"), default="")

    def __init__(self, organization, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.session_id.choices = session_choices(organization, _l("Any session"))
        self.value.description = _l(
            "A percentage from 1 to 100, or an amount in %(currency)s such as 50 or 49.50. "
            "Not needed for free coupons.",
            currency=organization.currency,
        )
        self.valid_until.description = _l(
            "Both days are included, in the time zone %(zone)s.", zone=organization.timezone
        )

    def terms(self):
        return dict(
            kind=self.kind.data, value=self.value.data, valid_from=self.valid_from.data,
            valid_until=self.valid_until.data, session_id=_selected_id(self.session_id),
        )


class CouponForm(_CouponTermsForm):
    code = StringField(
        _l("Code"), [length(40)], filters=[strip],
        description=_l("Leave empty for a random code. Letters and digits, - and _; case does not matter."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    max_uses = IntegerField(
        _l("Maximum uses"), [optional(), number_range(1, MAX_USES_LIMIT)],
        description=_l("Leave empty for unlimited uses."), render_kw={"inputmode": "numeric"},
    )


class GenerateCouponsForm(_CouponTermsForm):
    count = IntegerField(
        _l("Number of codes"), [required(), number_range(1, MAX_GENERATED)],
        description=_l("Each code can be used once."), render_kw={"inputmode": "numeric"},
    )
    prefix = StringField(
        _l("Prefix"), [length(20)], filters=[strip],
        description=_l("Optional, for example SPRING-. The rest of each code is random."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )


# Reports -------------------------------------------------------------------------------------


class OrderFilterForm(LecternForm):
    """The orders report's filters, read from the query string."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), default="")
    session = SelectField(_l("Session"), default="")
    date_from = DateField(_l("From"), [optional()])
    date_to = DateField(_l("To"), [optional()])

    def __init__(self, organization, formdata):
        super().__init__(formdata=formdata)
        self.state.choices = [SelectChoice("", _l("Any state"))] + [
            SelectChoice(state, label) for state, label in ORDER_STATE_LABELS.items()
        ]
        self.session.choices = session_choices(organization, _l("Any session"))

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid and self.date_from.data and self.date_to.data and self.date_to.data < self.date_from.data:
            self.date_to.errors.append(_l("The last day cannot be before the first day."))
            valid = False
        return valid

    def filters(self):
        return OrderFilter(
            state=self.state.data or None,
            session_id=_selected_id(self.session),
            date_from=self.date_from.data,
            date_to=self.date_to.data,
        )

    def query_args(self):
        """The filters as they were typed, for links to other pages and to the export."""
        return {f.name: f.raw_data[0] for f in self if f.raw_data and f.raw_data[0]}
