"""Pay-per-use spend per department and host, for organisations that give each department a
training budget and reimburse it later; with a CSV export of the same figures."""

from flask import request
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.spend_forms import SpendFilterForm
from app.services import reports
from app.services.spend_report import spend_groups
from app.web import admin_required, csv_attachment, render

SPEND_CSV_HEADER = ("department", "host", "currency", "sessions", "paid", "refunded", "net")


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
    return csv_attachment(
        text, f"pay-per-use-spend-{form.date_from.data.isoformat()}-{form.date_to.data.isoformat()}.csv"
    )
