"""Forms of the "Invoices and tax" page: the seller's legal details and the tax rates."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField, ValidationError

from app.forms import LecternForm, length, required, strip
from app.services import tax
from app.services.tax_settings import PREFIX_PATTERN, TaxSettingsError, parse_rate


def _countries(empty_label):
    return [SelectChoice("", empty_label)] + [
        SelectChoice(code, name) for code, name in tax.country_choices(str(get_locale()))
    ]


class LegalDetailsForm(LecternForm):
    legal_name = StringField(
        _l("Legal name"), [length(200)], filters=[strip],
        description=_l("As registered, e.g. Kursverket AB. With the address, documents are titled "
                       "Invoice; without them, Receipt."),
        render_kw={"autocomplete": "organization"},
    )
    legal_address = TextAreaField(_l("Address"), [length(1000)], filters=[strip], render_kw={"rows": 3})
    legal_country = SelectField(_l("Country"), default="")
    legal_vat_id = StringField(_l("VAT ID"), [length(40)], filters=[strip],
                               render_kw={"autocomplete": "off", "spellcheck": "false"})
    invoice_prefix = StringField(
        _l("Invoice number prefix"), [length(20)], filters=[strip],
        description=_l("Optional, e.g. LEC- gives LEC-000042. Numbers run on without gaps."),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    prices_include_tax = RadioField(
        _l("Prices"), [required()],
        choices=[SelectChoice("include", _l("Prices include tax (the tax is part of the price)")),
                 SelectChoice("add", _l("Tax is added on top of the prices"))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.legal_country.choices = _countries(_l("Not given"))

    @classmethod
    def for_settings(cls, settings):
        data = {name: getattr(settings, name) or "" for name in
                ("legal_name", "legal_address", "legal_country", "legal_vat_id", "invoice_prefix")}
        data["prices_include_tax"] = "include" if tax.prices_include_tax(settings) else "add"
        return cls(data=data)

    def validate_legal_vat_id(self, field):
        problem = tax.vat_id_problem(tax.normalize_vat_id(field.data), self.legal_country.data)
        if problem:
            raise ValidationError(problem)

    def validate_invoice_prefix(self, field):
        if not PREFIX_PATTERN.match(field.data or ""):
            raise ValidationError(_l("Use at most 20 letters, digits, dots, hyphens and underscores."))

    def values(self):
        """Keyword arguments for tax_settings.update_legal_details."""
        return dict(
            legal_name=self.legal_name.data, legal_address=self.legal_address.data,
            legal_country=self.legal_country.data, legal_vat_id=self.legal_vat_id.data,
            invoice_prefix=self.invoice_prefix.data,
            prices_include_tax=self.prices_include_tax.data == "include",
        )


class TaxRateForm(LecternForm):
    country = SelectField(_l("Buyers in"), default="")
    rate = StringField(_l("Rate (%)"), [required(), length(8)], filters=[strip],
                       description=_l("For example 25 or 12.5. Saving a country again changes its rate."),
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = _countries(_l("Every other country (default)"))

    def validate_rate(self, field):
        try:
            parse_rate(field.data)
        except TaxSettingsError as error:
            raise ValidationError(error.message) from error
