"""The service setup form: calling, meeting and company settings, posted together by Provision."""

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField

from app.blueprints.plans.forms import calling_plan_field, new_numbers_field
from app.forms import (
    LecternForm,
    length,
    locale_choices,
    lower,
    number_range,
    required,
    strip,
    timezone_choices,
)
from app.services.partner_provisioning import MAX_NAME_LENGTH, MAX_SESSION_MINUTES, MIN_SESSION_MINUTES, ServiceSettings


class ServiceSetupForm(LecternForm):
    # Calling settings
    calling_plan = calling_plan_field()
    new_numbers = new_numbers_field(_l("New numbers are ready as soon as the site is provisioned."))
    # Meeting settings
    default_duration_min = IntegerField(
        _l("Default session length (minutes)"),
        [required(), number_range(MIN_SESSION_MINUTES, MAX_SESSION_MINUTES)],
        description=_l("New sessions start with this length; hosts can change it for each session."),
    )
    locale = SelectField(_l("Default language"), validators=[required()])
    timezone = SelectField(_l("Time zone"), validators=[required()])
    # Company settings
    company_name = StringField(_l("Organisation name"), [required(), length(MAX_NAME_LENGTH)], filters=[strip])
    subdomain = StringField(_l("Site URL"), [required(), length(63)], filters=[strip, lower])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices()
        self.timezone.choices = timezone_choices()

    @classmethod
    def for_order(cls, order):
        """Filled in from the customer's organisation and the subscription, for a first look."""
        organization, subscription = order.customer, order.subscription
        return cls(formdata=None, data={
            "calling_plan": subscription.calling_plan, "new_numbers": subscription.new_numbers,
            "default_duration_min": organization.default_duration_min, "locale": organization.locale,
            "timezone": organization.timezone, "company_name": organization.name,
            "subdomain": organization.subdomain,
        })

    def settings(self):
        return ServiceSettings(
            company_name=self.company_name.data, subdomain=self.subdomain.data, locale=self.locale.data,
            timezone=self.timezone.data, default_duration_min=self.default_duration_min.data,
            calling_plan=self.calling_plan.data, new_numbers=self.new_numbers.data or 0,
        )
