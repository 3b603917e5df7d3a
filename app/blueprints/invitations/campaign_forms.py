"""Forms of the subscriber lists and of email invitations."""

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf.file import FileField, FileSize
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField

from app.forms import LecternForm, email_address, length, locale_choices, required, timezone_choices

MAX_IMPORT_BYTES = 2_000_000


class ConfirmForm(LecternForm):
    """Only a CSRF token: for buttons that confirm one action."""


class SubscriberListForm(LecternForm):
    name = StringField(_l("List name"), [required(), length(120)])


class SubscriberForm(LecternForm):
    name = StringField(_l("Name"), [required(), length(200)])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])
    locale = SelectField(_l("Language"))
    timezone = SelectField(_l("Time zone"))

    def __init__(self, organization, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = locale_choices()
        self.timezone.choices = [SelectChoice("", _l("The organisation's time zone"))] + timezone_choices()
        if not self.is_submitted():
            self.locale.data = self.locale.data or organization.locale


class ImportForm(LecternForm):
    file = FileField(
        _l("CSV file"),
        [FileSize(MAX_IMPORT_BYTES, message=_l("The file is too large: import at most 2 MB at a time."))],
        description=_l("Columns: name, email, and optionally language (en, sv, fr, sl, ro, ru) and time zone (Europe/Stockholm). A header line is allowed."),
    )
    text = TextAreaField(_l("Or paste the lines"), [length(MAX_IMPORT_BYTES)])

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if valid and not self.file.data and not (self.text.data or "").strip():
            self.text.errors.append(_l("Choose a file or paste the lines to import."))
            return False
        return valid


class CampaignForm(LecternForm):
    subscriber_list = SelectField(_l("Subscriber list"))
    recipients = TextAreaField(
        _l("Other recipients"), [length(500_000)],
        description=_l("One per line: Ada Lovelace <ada@example.com>, or only the email address."),
    )
    subject = StringField(_l("Subject"), [required(), length(300)])
    body = TextAreaField(
        _l("Message"), [required(), length(20_000)],
        description=_l("You can use {name}, {title}, {time} (in each recipient's time zone), {link} and {password}."),
        render_kw={"rows": 10},
    )
    password = StringField(
        _l("Room password to include"), [length(200)],
        description=_l("Only put into this email where the message says {password}; it is not stored."),
        render_kw={"autocomplete": "off"},
    )

    def __init__(self, list_rows, *args, **kwargs):
        """`list_rows`: [(list, subscribers, still subscribed)] of the organisation."""
        super().__init__(*args, **kwargs)
        self.subscriber_list.choices = [SelectChoice("", _l("No list"))] + [
            SelectChoice(str(subscriber_list.id), ngettext(
                "%(list)s (%(num)d subscriber)", "%(list)s (%(num)d subscribers)", still,
                list=subscriber_list.name,
            ))
            for subscriber_list, _total, still in list_rows
        ]
