"""Pay-per-use spend per department and host, for organisations that give each department a
training budget and reimburse it later; with a CSV export of the same figures."""

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, validators

from app.blueprints.admin import bp
from app.forms import LecternForm
from app.services import reports, session_costs
from app.web import admin_required, render

SPEND_CSV_HEADER = ("department", "host", "currency", "sessions", "paid", "refunded", "net")


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


def _sort_key(row):
    """Departments by name, people without one last; hosts by name within."""
    return (row["department"] is None, (row["department"] or "").casefold(),
            row["department_id"] or 0, row["host"].casefold(), row["host_id"], row["currency"])


def _totals(rows):
    """One totals row per currency, in currency order."""
    totals = {}
    for row in rows:
        total = totals.setdefault(row["currency"], {"currency": row["currency"], "sessions": 0,
                                                    "paid_minor": 0, "refunded_minor": 0, "net_minor": 0})
        for key in ("sessions", "paid_minor", "refunded_minor", "net_minor"):
            total[key] += row[key]
    return [totals[code] for code in sorted(totals)]


def spend_groups(organization, day_from, day_to):
    """[(department name or None, host rows, totals per currency)] and the overall totals."""
    rows = sorted(session_costs.spend_by_department_and_host(organization, day_from, day_to),
                  key=_sort_key)
    groups = []
    for row in rows:
        if not groups or groups[-1]["department_id"] != row["department_id"]:
            groups.append({"department_id": row["department_id"], "name": row["department"],
                           "rows": []})
        groups[-1]["rows"].append(row)
    for group in groups:
        group["totals"] = _totals(group["rows"])
    return rows, groups, _totals(rows)


def _render(form, status=200, **results):
    return render("admin/spend.html", status=status, form=form, **results)


@bp.route("/spend")
@admin_required
def spend():
    organization = current_user.organization
    form = SpendFilterForm(organization, request.args)
    if not form.validate():
        return _render(form, status=422)
    rows, groups, totals = spend_groups(organization, form.date_from.data, form.date_to.data)
    return _render(form, rows=rows, groups=groups, totals=totals, query_args=form.query_args())


@bp.route("/spend.csv")
@admin_required
def export_spend():
    organization = current_user.organization
    form = SpendFilterForm(organization, request.args)
    if not form.validate():
        return _render(form, status=422)
    rows, _, _ = spend_groups(organization, form.date_from.data, form.date_to.data)
    text = reports.write_csv(SPEND_CSV_HEADER, (
        (
            row["department"] or "",
            row["host"],
            row["currency"],
            row["sessions"],
            reports.major_string(row["paid_minor"], row["currency"]),
            reports.major_string(row["refunded_minor"], row["currency"]),
            reports.major_string(row["net_minor"], row["currency"]),
        )
        for row in rows
    ))
    response = Response(text, mimetype="text/csv")
    name = f"pay-per-use-spend-{form.date_from.data.isoformat()}-{form.date_to.data.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
