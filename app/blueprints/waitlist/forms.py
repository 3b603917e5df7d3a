from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField

from app.forms import LecternForm, email_address, length, required


class JoinWaitlistForm(LecternForm):
    name = StringField(_l("Your name"), [required(), length(200)])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])


class AcceptOfferForm(LecternForm):
    """Only the CSRF token: the seat is the one the link offers, nothing posted chooses it."""


class EntryActionForm(LecternForm):
    """Only the CSRF token, for the host's "Send offer now" and "Remove" buttons."""
