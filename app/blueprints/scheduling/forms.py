from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
    URLField,
)
from wtforms import validators

from app.forms import LecternForm, email_address, length, required, timezone_choices
from app.services.cancellation_policy import EDITOR_HINT

ACCESS_MODE_LABELS = {
    "registration": _l("Registered attendees only"),
    "open": _l("Anyone with the session link"),
    "password": _l("Room password"),
    "unique_link": _l("Personal link for each participant"),
}


def number_range(minimum, maximum):
    return validators.NumberRange(
        min=minimum, max=maximum,
        message=_l("Enter a whole number from %(min)d to %(max)d.", min=minimum, max=maximum),
    )


class SessionForm(LecternForm):
    title = StringField(_l("Title"), [required(), length(200)])
    description = TextAreaField(_l("Description"), [length(5000)])
    day = DateField(_l("Date"), [required()])
    time_of_day = TimeField(_l("Start time"), [required()])
    timezone = SelectField(_l("Time zone"))
    duration_min = IntegerField(_l("Duration (minutes)"), [required(), number_range(5, 1440)])
    capacity = IntegerField(_l("Seats"), [required(), number_range(1, 10000)])
    fee = StringField(
        _l("Fee"), [length(20)],
        description=_l("Leave empty or 0 for a free session. Attendees pay when they register."),
    )
    access_mode = SelectField(
        _l("Who may join"),
        choices=[SelectChoice(mode, label) for mode, label in ACCESS_MODE_LABELS.items()],
    )
    meeting_url = URLField(
        _l("Meeting URL of the live room"),
        [validators.Optional(), validators.URL(message=_l("Enter a full web address, starting with https://.")),
         length(500)],
    )
    # Named apart from TrainingSession.cancellation_policy (JSON), which obj= would copy in.
    cancellation_choice = SelectField(
        _l("Cancellation policy"), default="default",
        choices=[SelectChoice("default", _l("The site's default policy")),
                 SelectChoice("own", _l("A policy of its own for this session"))],
    )
    cancellation_tiers = TextAreaField(
        _l("This session's cancellation policy"), [length(1000)], description=EDITOR_HINT,
        render_kw={"rows": 4, "spellcheck": "false"},
    )

    def __init__(self, *args, fee_enabled, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()
        if not fee_enabled:
            del self.fee


class CancelSessionForm(LecternForm):
    confirm = BooleanField(
        _l("Yes, cancel this session, refund every paid order and email the attendees"),
        [validators.InputRequired(message=_l("Tick the box to confirm."))],
    )


class RegisterForm(LecternForm):
    name = StringField(_l("Your name"), [required(), length(200)])
    email = EmailField(_l("Email address"), [required(), email_address(), length(254)])


class RefundForm(LecternForm):
    amount = StringField(_l("Amount to refund"), [required(), length(20)])
    reason = StringField(_l("Reason (optional)"), [length(300)])
