"""Forms of the operator's pages: plans, add-ons, features, legal pages, subscription filter."""

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    validators,
)
from wtforms.widgets import HiddenInput

from app.forms import LecternForm, currency_choices, length, lower, required, strip
from app.services.money import AmountError, amount_error_message, parse_major_amount
from app.services.plan_admin import (
    CODE_PATTERN,
    CODE_RULE,
    MAX_FEATURE_NAME,
    MAX_FEATURE_VALUE,
    MAX_LEGAL_BODY,
    MAX_NAME,
    MAX_POSITION,
    MAX_SUMMARY,
    SUBSCRIPTION_STATE_LABELS,
)
from app.services.reports import major_string


def _position_field():
    return IntegerField(
        _l("Position"),
        [required(), validators.NumberRange(
            min=0, max=MAX_POSITION, message=_l("Enter a number from %(min)d to %(max)d."))],
        description=_l("Lower numbers are shown first."), render_kw={"inputmode": "numeric"},
    )


def _price_field(label):
    return StringField(label, [required(), length(20)], filters=[strip],
                       render_kw={"inputmode": "decimal", "autocomplete": "off"})


class _CatalogueItemForm(LecternForm):
    """A plan or an add-on: the two have the same fields, priced per license or per subscription."""

    code = StringField(
        _l("Code"), [required(), validators.Regexp(CODE_PATTERN, message=CODE_RULE)],
        filters=[strip, lower],
        description=_l("Lower-case letters, digits and hyphens, used in links (for example business)."),
        render_kw={"maxlength": 40, "autocomplete": "off", "spellcheck": "false", "autocapitalize": "none"},
    )
    name = StringField(_l("Name"), [required(), length(MAX_NAME)], filters=[strip])
    summary = TextAreaField(_l("Summary"), [length(MAX_SUMMARY)], filters=[strip], render_kw={"rows": 2})
    currency = SelectField(_l("Currency"))
    position = _position_field()
    retired = BooleanField(
        _l("Retired"), description=_l("No longer on sale. Subscriptions that have it go on as they are."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = currency_choices()
        self.prices_minor = {}

    @classmethod
    def for_item(cls, item, **kwargs):
        """The form filled in from a saved plan or add-on (what was posted wins)."""
        return cls(
            obj=item, monthly_price=major_string(item.monthly_price_minor, item.currency),
            annual_price=major_string(item.annual_price_minor, item.currency), **kwargs,
        )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.currency.errors:
            return False
        for field in (self.monthly_price, self.annual_price):
            if field.errors:
                continue
            try:
                self.prices_minor[field.name] = parse_major_amount(field.data, self.currency.data)
            except AmountError as error:
                field.errors.append(amount_error_message(error, self.currency.data))
                valid = False
        return valid

    def values(self):
        """Keyword arguments for plan_admin's create/update functions."""
        return dict(
            code=self.code.data, name=self.name.data, summary=self.summary.data or "",
            monthly_price_minor=self.prices_minor["monthly_price"],
            annual_price_minor=self.prices_minor["annual_price"],
            currency=self.currency.data, position=self.position.data, retired=self.retired.data,
        )


class PlanForm(_CatalogueItemForm):
    monthly_price = _price_field(_l("Monthly price per license"))
    annual_price = _price_field(_l("Annual price per license"))


class AddOnForm(_CatalogueItemForm):
    monthly_price = _price_field(_l("Monthly price per subscription"))
    annual_price = _price_field(_l("Annual price per subscription"))


# A plan's features ---------------------------------------------------------------------------------


class FeatureOfferForm(Form):
    """One feature of one plan: not included, included, or included with a text."""

    feature_id = IntegerField(widget=HiddenInput())
    included = BooleanField(_l("Included"))
    value = StringField(_l("Text"), [length(MAX_FEATURE_VALUE)], filters=[strip])

    def offer(self):
        """None (not included), "" (included) or the text; a text means included."""
        if self.value.data:
            return self.value.data
        return "" if self.included.data else None


class PlanFeaturesForm(LecternForm):
    offers = FieldList(FormField(FeatureOfferForm))

    @classmethod
    def for_plan(cls, features, offers, **kwargs):
        """One row per feature, filled in from the plan's offers ({feature id: value})."""
        rows = [
            {"feature_id": feature.id, "included": feature.id in offers,
             "value": offers.get(feature.id) or ""}
            for feature in features
        ]
        return cls(data={"offers": rows}, **kwargs)

    def chosen(self):
        """{feature id: None, "" or text}, for plan_admin.set_plan_features."""
        return {entry.form.feature_id.data: entry.form.offer() for entry in self.offers}


class FeatureForm(LecternForm):
    name = StringField(_l("Feature"), [required(), length(MAX_FEATURE_NAME)], filters=[strip],
                       description=_l("A row of the comparison table, such as Cloud recording."))
    position = _position_field()


# Legal pages and lists -----------------------------------------------------------------------------


class LegalPageForm(LecternForm):
    body = TextAreaField(
        _l("Text"), [length(MAX_LEGAL_BODY)],
        description=_l("Plain text. Line breaks are kept and web addresses become links."),
        render_kw={"rows": 20},
    )


class SubscriptionFilterForm(LecternForm):
    """The subscriptions list's filter, read from the query string."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), default="", render_kw={"data-autosubmit": True})

    def __init__(self, formdata):
        super().__init__(formdata=formdata)
        self.state.choices = [SelectChoice("", _l("Any state"))] + [
            SelectChoice(state, label) for state, label in SUBSCRIPTION_STATE_LABELS.items()
        ]
