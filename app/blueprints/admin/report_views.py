"""Sales reports for the site's administrators: orders and revenue per session, with CSV exports."""

from flask import request
from flask_login import current_user

from app.blueprints.admin import bp
from app.blueprints.admin.commerce_forms import OrderFilterForm
from app.models.base import utcnow
from app.services import cancellations, reports
from app.web import admin_required, csv_attachment, render


def csv_download(text, name, organization):
    """A CSV attachment named like 'orders-2026-05-01.csv' (the day in the site's zone)."""
    day = reports.local_iso(utcnow(), organization.timezone)[:10]
    return csv_attachment(text, f"{name}-{day}.csv")


def page_number():
    return max(request.args.get("page", 1, type=int), 1)


def _render_orders(form, results=None, status=200):
    retrying = cancellations.refunds_being_retried([o.id for o in results.items] if results else [])
    return render(
        "admin/orders.html", "admin/_orders.html", status=status, form=form, results=results,
        query_args=form.query_args(), state_labels=reports.ORDER_STATE_LABELS, retrying=retrying,
    )


@bp.route("/orders")
@admin_required
def orders():
    organization = current_user.organization
    form = OrderFilterForm(organization, request.args)
    if not form.validate():
        return _render_orders(form, status=422)
    return _render_orders(form, reports.orders_page(organization, form.filters(), page_number()))


@bp.route("/orders.csv")
@admin_required
def export_orders():
    organization = current_user.organization
    form = OrderFilterForm(organization, request.args)
    if not form.validate():
        return _render_orders(form, status=422)
    orders = reports.filtered_orders(organization, form.filters())
    return csv_download(reports.orders_csv(orders, organization.timezone), "orders", organization)


@bp.route("/revenue")
@admin_required
def revenue():
    rows = reports.revenue_by_session(current_user.organization)
    return render("admin/revenue.html", rows=rows, totals=reports.revenue_totals(rows))


@bp.route("/revenue.csv")
@admin_required
def export_revenue():
    organization = current_user.organization
    rows = reports.revenue_by_session(organization)
    return csv_download(reports.revenue_csv(rows, organization.timezone), "revenue", organization)
