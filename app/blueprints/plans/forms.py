"""Forms of the buyers' plan pages: cart, account lookup, checkout, sales, subscription."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    validators,
    widgets,
)

from app.forms import LecternForm, email_address, length, number_range, required, strip
from app.services.plan_pricing import MAX_LICENSES
from app.services.subscriptions import MAX_NEW_NUMBERS

CYCLE_LABELS = {"annual": _l("Annually"), "monthly": _l("Monthly")}
CALLING_PLAN_LABELS = {
    "computer_audio": _l("Computer audio only"),
    "toll": _l("Dial-in numbers (toll)"),
    "toll_free": _l("Dial-in numbers (toll and toll-free)"),
}
RENEWAL_PAYMENT_LABELS = {
    "paypal": _l("Charge my PayPal account automatically"),
    "bank_transfer": _l("Send me an invoice to pay by bank transfer"),
}


def calling_plan_field():
    """Calling settings, shared by the plan checkout and a partner's service setup."""
    return SelectField(
        _l("Calling plan"),
        choices=[SelectChoice(code, label) for code, label in CALLING_PLAN_LABELS.items()],
        validators=[required()],
    )


def new_numbers_field(description):
    return IntegerField(
        _l("New phone numbers"), [validators.Optional(), number_range(0, MAX_NEW_NUMBERS)], default=0,
        description=description,
    )


class CheckboxList(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def pre_validate(self, form):
        """Unknown codes are the service's to report (an add-on retired meanwhile)."""


class CartForm(LecternForm):
    cycle = RadioField(
        _l("Automatic renewal"),
        choices=[SelectChoice(code, label) for code, label in CYCLE_LABELS.items()],
        validators=[required()],
    )
    licenses = IntegerField(
        _l("Licenses"), [required(), number_range(1, MAX_LICENSES)],
        description=_l("One for each person who hosts or co-hosts sessions. Guests and attendees need none; "
                       "you can add more later."),
    )
    add_ons = CheckboxList(_l("Add-ons"))

    def __init__(self, add_ons, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_ons.choices = [SelectChoice(a.code, a.name) for a in add_ons]


class AccountLookupForm(LecternForm):
    email = EmailField(_l("Email address of your free account"), [required(), email_address(), length(254)],
                       filters=[strip])


class CheckoutForm(LecternForm):
    cart_revision = HiddenField()
    shown_total = HiddenField()
    billing_address = TextAreaField(
        _l("Billing address"), [required(), length(1000)], filters=[strip],
        description=_l("Company name, street, postal code, city and country."),
    )
    service_same_as_billing = BooleanField(_l("The service address is the billing address"), default=True)
    service_address = TextAreaField(
        _l("Service address"), [length(1000)], filters=[strip],
        description=_l("Where the service is used; emergency calls are routed from this address."),
    )
    calling_plan = calling_plan_field()
    new_numbers = new_numbers_field(_l("New numbers are ready as soon as the purchase is complete."))
    porting_numbers = TextAreaField(
        _l("Numbers to port"), [length(2000)], filters=[strip],
        description=_l("Existing numbers to move here, one per line. Porting takes at least 21 days."),
    )
    site_subdomain = StringField(_l("Site URL"), [required(), length(63)],
                                 filters=[strip, lambda v: v.lower() if isinstance(v, str) else v])
    renewal_payment = RadioField(
        _l("Renewals"),
        choices=[SelectChoice(code, label) for code, label in RENEWAL_PAYMENT_LABELS.items()],
        default="paypal", validators=[required()],
    )
    accept_terms = BooleanField(validators=[validators.DataRequired(message=_l("Please accept the terms of use."))])
    accept_privacy = BooleanField(
        validators=[validators.DataRequired(message=_l("Please accept the privacy policy."))]
    )
    accept_emergency = BooleanField(
        validators=[validators.DataRequired(message=_l("Please accept the emergency-calling policy."))]
    )

    def validate_service_address(self, field):
        if not self.service_same_as_billing.data and not field.data:
            raise validators.ValidationError(_l("Enter the service address, or tick “The service address is the billing address”."))


class SalesRequestForm(LecternForm):
    name = StringField(_l("Your name"), [required(), length(200)], filters=[strip])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)], filters=[strip])
    organization_name = StringField(_l("Organisation name"), [required(), length(200)], filters=[strip])
    message = TextAreaField(_l("Message"), [length(4000)], filters=[strip],
                            description=_l("How many licenses you need, and anything sales should know."))


class AutoRenewForm(LecternForm):
    auto_renew = BooleanField(_l("Renew automatically at the end of each period"))


class AddLicensesForm(LecternForm):
    licenses = IntegerField(_l("Licenses to add"), [required(), number_range(1, MAX_LICENSES)])
    shown_total = HiddenField()


class ReduceLicensesForm(LecternForm):
    licenses = IntegerField(_l("Licenses from the next renewal"), [required(), number_range(1, MAX_LICENSES)])


class PortingForm(LecternForm):
    porting_numbers = TextAreaField(_l("Numbers to port"), [required(), length(2000)], filters=[strip],
                                    description=_l("One per line, in international form (+46 8 123 456 78)."))
