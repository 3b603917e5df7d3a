from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField

from app.forms import LecternForm, email_address, length, required


class JoinForm(LecternForm):
    """Entering a room without a personal link: a name, and the password where there is one."""

    name = StringField(_l("Your name"), [required(), length(200)])
    email = EmailField(
        _l("Email address you registered with"), [required(), email_address(), length(254)]
    )
    password = PasswordField(_l("Room password"), [required(), length(200)])

    def __init__(self, *args, needs_email, needs_password, **kwargs):
        super().__init__(*args, **kwargs)
        if not needs_email:
            del self.email
        if not needs_password:
            del self.password
