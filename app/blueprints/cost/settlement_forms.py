"""The settlement form: actual usage of a pay-per-use session, entered after it ended."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from wtforms import IntegerField, TextAreaField

from app.blueprints.cost.forms import whole_number
from app.forms import LecternForm, length, required, strip
from app.services.pay_per_use import MAX_COMPUTERS, MAX_DURATION_MIN

MAX_MINUTES = MAX_DURATION_MIN * MAX_COMPUTERS


class SettlementForm(LecternForm):
    person_minutes = IntegerField(
        _l("Person-minutes"), [required(), whole_number(0, MAX_MINUTES)],
        render_kw={"inputmode": "numeric"},
    )
    teleconference_minutes = IntegerField(
        _l("Teleconference minutes"), [required(), whole_number(0, MAX_MINUTES)],
        description=_l("The join records do not cover the teleconference: enter its minutes "
                       "from your teleconference provider's report."),
        render_kw={"inputmode": "numeric"},
    )
    reason = TextAreaField(
        _l("Reason"), [length(300)], filters=[strip],
        description=_l("Required when the person-minutes differ from the measured ones."),
        render_kw={"rows": 3},
    )

    def __init__(self, *args, measured=0, **kwargs):
        super().__init__(*args, **kwargs)
        self.measured = measured
        self.person_minutes.description = lazy_ngettext(
            "Measured from the join records: %(num)d person-minute (each person from their first "
            "join until the session ended).",
            "Measured from the join records: %(num)d person-minutes (each person from their first "
            "join until the session ended).",
            measured,
        )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        minutes = self.person_minutes
        if (not minutes.errors and minutes.data is not None and minutes.data != self.measured
                and not self.reason.data):
            self.reason.errors.append(
                _l("Say why the person-minutes differ from the measured ones.")
            )
            valid = False
        return valid
