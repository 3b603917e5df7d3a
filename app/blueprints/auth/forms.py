from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField

from app.forms import LecternForm, email_address, length, new_password, new_password_hint, passwords_match, required


class SignUpForm(LecternForm):
    name = StringField(_l("Your name"), [required(), length(200)])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])
    organization_name = StringField(_l("Organisation name"), [required(), length(200)])
    password = PasswordField(_l("Password"), [required(), new_password()], description=new_password_hint())
    confirm = PasswordField(_l("Repeat the password"), [required(), passwords_match("password")])
    next = HiddenField()


class SignInForm(LecternForm):
    email = EmailField(_l("Email address"), [required(), length(254)])
    password = PasswordField(_l("Password"), [required(), length(200)])
    remember = BooleanField(_l("Keep me signed in on this computer"))
    next = HiddenField()


class ForgotPasswordForm(LecternForm):
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])


class ResetPasswordForm(LecternForm):
    password = PasswordField(
        _l("New password"), [required(), new_password()], description=new_password_hint()
    )
    confirm = PasswordField(_l("Repeat the new password"), [required(), passwords_match("password")])
