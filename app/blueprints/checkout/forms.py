from functools import lru_cache

from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import IntegerField, RadioField, SelectChoice, SelectField, StringField, TextAreaField, ValidationError
from wtforms import validators
from wtforms.widgets import HiddenInput, Select, html_params

from app.forms import LecternForm, length, required, strip
from app.services import tax

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


class CountrySelect(Select):
    """The country list with its options from a cache per language and choice: WTForms
    rendering some 250 options on every swap of the payment page took most of its time."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        options = _country_options(str(get_locale()), field.data or "")
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


@lru_cache(maxsize=16)
def _country_choices(locale):
    return (SelectChoice("", _l("Choose a country")),
            *(SelectChoice(code, name) for code, name in tax.country_choices(locale)))


@lru_cache(maxsize=512)
def _country_options(locale, selected):
    choices = [("", gettext("Choose a country")), *tax.country_choices(locale)]
    return "".join(
        f'<option value="{escape(code)}"{" selected" if code == selected else ""}>{escape(name)}</option>'
        for code, name in choices
    )


class BillingDetailsForm(LecternForm):
    """The buyer's invoice details, all optional; they decide the tax (services/tax.py)."""

    company = StringField(_l("Company or organisation"), [length(200)], filters=[strip],
                          render_kw={"autocomplete": "organization"})
    address = TextAreaField(_l("Address"), [length(1000)], filters=[strip],
                            render_kw={"rows": 3, "autocomplete": "street-address"})
    country = SelectField(_l("Country"), default="", widget=CountrySelect(),
                          render_kw={"autocomplete": "country"})
    vat_id = StringField(
        _l("VAT ID"), [length(40)], filters=[strip],
        description=_l("Optional. Businesses in another EU country than the seller's pay no VAT here (reverse charge)."),
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    tax_exemption_reference = StringField(
        _l("Tax exemption reference"), [length(100)], filters=[strip],
        description=_l("Optional. Only if your organisation is exempt from tax; it is printed on the invoice."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _country_choices(str(get_locale()))

    def validate_vat_id(self, field):
        vat_id = tax.normalize_vat_id(field.data)
        if not vat_id:
            return
        if not self.country.data:
            raise ValidationError(_l("Choose the country of the VAT ID."))
        problem = tax.vat_id_problem(vat_id, self.country.data)
        if problem:
            raise ValidationError(problem)

    def details(self):
        """Keyword arguments for billing_details.set_billing_details."""
        return dict(company=self.company.data, address=self.address.data, country=self.country.data,
                    vat_id=self.vat_id.data, exemption_reference=self.tax_exemption_reference.data)

    @classmethod
    def for_order(cls, order):
        return cls(formdata=None, data=dict(
            company=order.buyer_company, address=order.buyer_address, country=order.buyer_country,
            vat_id=order.buyer_vat_id, tax_exemption_reference=order.tax_exemption_reference,
        ))
