from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectChoice, StringField
from wtforms import validators
from wtforms.widgets import HiddenInput

from app.forms import LecternForm, length, required

METHOD_LABELS = {
    "paypal": _l("PayPal"),
    "card": _l("Credit or debit card (through PayPal, without a PayPal account)"),
    "bank_transfer": _l("Bank transfer"),
}


class CouponForm(LecternForm):
    code = StringField(_l("Coupon code"), [required(), length(40)])


class ExtendHoldForm(LecternForm):
    """Only the CSRF token: the extension is the site's hold time, never what is posted."""


class PaymentForm(LecternForm):
    method = RadioField(
        _l("Payment method"), [validators.InputRequired(message=_l("Choose how to pay."))]
    )
    # The total the page showed; the server refuses to charge anything else.
    shown_total = IntegerField(validators=[validators.InputRequired()], widget=HiddenInput())

    def __init__(self, methods, *args, **kwargs):
        """`methods` empty: nothing to pay (a zero total), so there is nothing to choose."""
        super().__init__(*args, **kwargs)
        if methods:
            self.method.choices = [SelectChoice(m, METHOD_LABELS[m]) for m in methods]
        else:
            del self.method
