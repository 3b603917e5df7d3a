from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectChoice, SelectField, StringField, TextAreaField, validators

from app.forms import (
    LecternForm,
    currency_choices,
    email_address,
    length,
    locale_choices,
    required,
    timezone_choices,
)

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "host": _l("Host"),
    "member": _l("Member"),
}


def _department_choices(organization):
    return [SelectChoice("", _l("No department"))] + [
        SelectChoice(str(d.id), d.name) for d in organization.departments
    ]


class MemberForm(LecternForm):
    """Role and department of a member: used to add one and to change one."""

    role = SelectField(
        _l("Role"), choices=[SelectChoice(role, label) for role, label in ROLE_LABELS.items()]
    )
    department = SelectField(_l("Department"))

    def __init__(self, organization, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.department.choices = _department_choices(organization)


class AddMemberForm(MemberForm):
    name = StringField(_l("Name"), [required(), length(200)])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])


class DepartmentForm(LecternForm):
    name = StringField(_l("Department name"), [required(), length(120)])


class OrganizationForm(LecternForm):
    name = StringField(_l("Organisation name"), [required(), length(200)])
    locale = SelectField(_l("Default language"))
    timezone = SelectField(_l("Time zone"))
    currency = SelectField(_l("Currency"))
    # Whom invitation emails come from, and how they are signed.
    sender_name = StringField(
        _l("Sender name"), [length(120), validators.Regexp(
            r"^[^<>\"\r\n]*$", message=_l("Leave out the characters < > and \"."))],
        description=_l("The name invitation emails come from, e.g. your organisation's name."),
    )
    sender_email = EmailField(
        _l("Sender email address"),
        [validators.Optional(), email_address(), length(254)],
        description=_l("Invitation emails are sent from this address; your mail server must be allowed to send for it. Leave empty to use the server's address."),
    )
    signature = TextAreaField(
        _l("Signature"), [length(2000)],
        description=_l("Added at the end of every invitation email."),
    )
    account_representative_email = EmailField(
        _l("Account representative for partner orders"),
        [validators.Optional(), email_address(), length(254)],
        description=_l("Gets an email when a partner order's setup has not started a day after its start date."),
    )
    tax_exempt = BooleanField(
        _l("Our organisation is exempt from tax"),
        description=_l("Tax-exempt organisations buy plans through our sales team."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices()
        self.timezone.choices = timezone_choices()
        self.currency.choices = currency_choices()
