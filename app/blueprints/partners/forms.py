"""The partner order form."""

from flask_babel import lazy_gettext as _l
from wtforms import DateField, EmailField, IntegerField, RadioField, SelectChoice, SelectField, StringField, validators

from app.blueprints.plans.forms import CYCLE_LABELS, CheckboxList
from app.forms import LecternForm, email_address, length, number_range, required, strip
from app.services.plan_pricing import MAX_LICENSES


class PartnerOrderForm(LecternForm):
    partner_organization_id = SelectField(_l("Partner"), coerce=int, validators=[validators.Optional()])
    partner_name = StringField(_l("Or a new partner's company name"), [length(200)], filters=[strip])
    plan = SelectField(_l("Plan"), validators=[required()])
    cycle = RadioField(_l("Automatic renewal"), default="annual", validators=[required()],
                       choices=[SelectChoice(code, label) for code, label in CYCLE_LABELS.items()])
    licenses = IntegerField(_l("Licenses"), [required(), number_range(1, MAX_LICENSES)], default=1)
    add_ons = CheckboxList(_l("Add-ons"))
    customer_name = StringField(_l("Customer's company name"), [required(), length(200)], filters=[strip])
    requested_start_on = DateField(_l("Requested start date"), [required()],
                                   description=_l("The provisioning contact gets the setup link on this day."))
    contact_email = EmailField(
        _l("Provisioning contact's email"), [required(), email_address(), length(254)], filters=[strip],
        description=_l("The person who will set up the customer's site (a shared address works too)."),
    )

    def __init__(self, plans, add_ons, partners=None, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan.choices = [SelectChoice(p.code, p.name) for p in plans]
        self.add_ons.choices = [SelectChoice(a.code, a.name) for a in add_ons]
        if partners is None:  # a partner orders for itself
            del self.partner_organization_id
            del self.partner_name
        else:
            self.partner_organization_id.choices = [SelectChoice(0, _l("A new partner"))] + [
                SelectChoice(p.id, p.name) for p in partners
            ]
