from flask_babel import lazy_gettext as _l
from wtforms import IntegerField
from wtforms import validators
from wtforms.widgets import HiddenInput

from app.forms import LecternForm, required
from app.services.pay_per_use import MAX_COMPUTERS, MAX_DURATION_MIN


def whole_number(minimum, maximum):
    return validators.NumberRange(
        min=minimum, max=maximum,
        message=_l("Enter a whole number from %(min)d to %(max)d.", min=minimum, max=maximum),
    )


class EstimateForm(LecternForm):
    duration_min = IntegerField(_l("Duration (minutes)"), [required(), whole_number(1, MAX_DURATION_MIN)])
    computers = IntegerField(
        _l("Computers connected to the session"), [required(), whole_number(1, MAX_COMPUTERS)]
    )
    teleconference_computers = IntegerField(
        _l("Computers connected to the teleconference"), [required(), whole_number(0, MAX_COMPUTERS)]
    )
    # The total the page showed; a different one is refused and the new estimate shown.
    shown_total = IntegerField(validators=[validators.Optional()], widget=HiddenInput())
