"""The pay-per-use spend report's date range."""

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms import DateField, validators

from app.forms import LecternForm


class SpendFilterForm(LecternForm):
    """The report's date range, read from the query string; the current month by default."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From"), [validators.Optional()])
    date_to = DateField(_l("To"), [validators.Optional()])

    def __init__(self, organization, formdata):
        super().__init__(formdata=formdata)
        self.date_to.description = _l(
            "Both days are included, in the time zone %(zone)s.", zone=organization.timezone
        )
        self.today = datetime.now(ZoneInfo(organization.timezone)).date()

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if not valid:
            return False
        first, last = self.date_from.data, self.date_to.data
        if first and last and last < first:
            self.date_to.errors.append(_l("The last day cannot be before the first day."))
            return False
        # What is left empty comes from the current month (or the month of the other day,
        # so that a single day typed on its own never makes an impossible range).
        if first is None:
            first = _month_start(last if last and last < _month_start(self.today) else self.today)
        if last is None:
            last = _month_end(first if first > _month_end(self.today) else self.today)
        self.date_from.data, self.date_to.data = first, last
        return True

    def query_args(self):
        return {"date_from": self.date_from.data.isoformat(), "date_to": self.date_to.data.isoformat()}


def _month_start(day):
    return day.replace(day=1)


def _month_end(day):
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
