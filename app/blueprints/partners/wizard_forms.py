"""One form per step of the setup wizard, and the expired-link page's "send me a new link" form.

Each step form knows the answers it collects: `answers()` gives them to the wizard's state,
`from_answers(answers)` shows them again (Back, Change, or coming round to the step again).
"""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import ValidationError

from app.forms import (
    LecternForm,
    currency_choices,
    email_address,
    length,
    locale_choices,
    new_password,
    new_password_hint,
    passwords_match,
    required,
    timezone_choices,
)
from app.services.accounts import normalize_email


class StepForm(LecternForm):
    FIELDS = ()

    @classmethod
    def from_answers(cls, answers, **kwargs):
        return cls(formdata=None, data={name: answers.get(name) for name in cls.FIELDS}, **kwargs)

    def answers(self):
        return {name: (getattr(self, name).data or "").strip() for name in self.FIELDS}


class RoleForm(StepForm):
    FIELDS = ("role",)
    role = RadioField(
        _l("Your role"),
        [required()],
        choices=[
            SelectChoice("partner", _l("I am a partner")),
            SelectChoice("customer", _l("I am the customer's administrator")),
        ],
    )


class WhoForm(StepForm):
    """Who sets up the customer's services: the person who has the link, a colleague (by email)
    or the customer (by email; the partner then cannot manage the customer's organisation)."""

    FIELDS = ("who", "colleague_email", "customer_email")
    who = RadioField(
        _l("Who will set up the services?"),
        [required()],
        choices=[
            SelectChoice("me", _l("I will set up the services myself")),
            SelectChoice("colleague", _l("Another person in my company will set them up")),
            SelectChoice("customer", _l("The customer will set them up")),
        ],
    )
    colleague_email = EmailField(_l("Your colleague's email address"), [length(254)])
    customer_email = EmailField(_l("The customer administrator's email address"), [length(254)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        chosen = {"colleague": self.colleague_email, "customer": self.customer_email}.get(self.who.data)
        if chosen is not None:
            if not (chosen.data or "").strip():
                chosen.errors.append(_l("This field is required."))
                valid = False
            elif not email_address_is_valid(chosen):
                valid = False
        return valid

    @classmethod
    def from_answers(cls, answers, **kwargs):
        who, email = answers.get("who"), answers.get("handoff_email", "")
        return cls(formdata=None, data={
            "who": who,
            "colleague_email": email if who == "colleague" else "",
            "customer_email": email if who == "customer" else "",
        }, **kwargs)

    def answers(self):
        """`handoff_email`: whom the link goes to when the partner hands the setup on."""
        return {"who": self.who.data, "handoff_email": self.handoff_email()}

    def handoff_email(self):
        field = {"colleague": self.colleague_email, "customer": self.customer_email}.get(self.who.data)
        return normalize_email(field.data or "") if field is not None else ""


def email_address_is_valid(field):
    """Run the shared email check on a field that is only required for one choice."""
    try:
        email_address()(None, field)
    except ValidationError as error:
        field.errors.append(str(error))
        return False
    return True


class NewPartnerForm(StepForm):
    """A partner's first order: their partner organisation is created with it."""

    FIELDS = ("partner_name", "your_name")
    partner_name = StringField(_l("Partner organisation name"), [required(), length(200)])
    your_name = StringField(_l("Your name"), [required(), length(200)])


class ConfirmForm(StepForm):
    """Steps that only show something: the existing partner organisation, the review."""


class AdminForm(StepForm):
    """The customer administrator's account. In the customer path that is the person setting up."""

    FIELDS = ("admin_email", "admin_name")
    admin_email = EmailField(
        _l("Customer administrator's email address"), [required(), email_address(), length(254)],
        description=_l("A user belongs to exactly one organisation: use an address that is not on Lectern yet."),
    )
    admin_name = StringField(_l("Customer administrator's name"), [required(), length(200)])

    def __init__(self, *args, customer_path=False, **kwargs):
        super().__init__(*args, **kwargs)
        if customer_path:
            self.admin_email.label.text = _l("Your email address")
            self.admin_name.label.text = _l("Your name")
            self.admin_email.description = _l(
                "You will be the administrator of your organisation and sign in with this address."
            )

    def answers(self):
        return {"admin_email": normalize_email(self.admin_email.data or ""),
                "admin_name": (self.admin_name.data or "").strip()}


class CustomerForm(StepForm):
    FIELDS = ("customer_name", "locale", "timezone", "currency")
    customer_name = StringField(_l("Company name"), [required(), length(200)])
    locale = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))
    currency = SelectField(_l("Currency"), description=_l("For the fees of the customer's training sessions."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices()
        self.timezone.choices = timezone_choices()
        self.currency.choices = currency_choices()


class PasswordForm(StepForm):
    """Never kept in the wizard's state: it is used once, when the setup completes."""

    password = PasswordField(_l("Password"), [required(), new_password()], description=new_password_hint())
    confirm = PasswordField(_l("Repeat the password"), [required(), passwords_match("password")])


class NewLinkForm(LecternForm):
    code = StringField(_l("Order code"), [required(), length(20)], description=_l("For example P-AB23CD45."))
    email = EmailField(_l("Provisioning contact's email"), [required(), email_address(), length(254)])
