from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, SelectField, StringField

from app.forms import (
    LecternForm,
    length,
    locale_choices,
    new_password,
    new_password_hint,
    passwords_match,
    required,
    timezone_choices,
)


class ProfileForm(LecternForm):
    name = StringField(_l("Your name"), [required(), length(200)])
    locale = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices(include_automatic=True)
        self.timezone.choices = timezone_choices(include_automatic=True)


class ChangePasswordForm(LecternForm):
    current_password = PasswordField(_l("Current password"), [required()])
    password = PasswordField(
        _l("New password"), [required(), new_password()], description=new_password_hint()
    )
    confirm = PasswordField(_l("Repeat the new password"), [required(), passwords_match("password")])
