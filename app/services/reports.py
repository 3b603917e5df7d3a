"""What a site's administrator reads about its sales: orders, revenue per session, CSV exports.

Also the small helpers every export shares: the order-state labels, a site's calendar days as
UTC moments, and a CSV writer that keeps spreadsheets from running cells as formulas.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Order, Payment, Refund, Registration, TrainingSession
from app.models.invoicing import Invoice
from app.services.money import to_major

# One place for the words people see for an order's state (the checkout and mail reuse them).
ORDER_STATE_LABELS = {
    "pending": _l("Awaiting payment"),
    "paid": _l("Paid"),
    "partially_refunded": _l("Partly refunded"),
    "refunded": _l("Refunded"),
    "expired": _l("Expired"),
    "canceled": _l("Canceled"),
    "review": _l("Needs review"),
}

# Orders whose money came in (some of it may have gone back out again).
REVENUE_STATES = ("paid", "partially_refunded", "refunded")
ORDERS_PER_PAGE = 50

# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection):
# = + - @, tab and carriage return, a line feed (a cell may be read from its second line on),
# and their full-width forms, which some spreadsheets (Excel in East Asian locales) also run.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Rows of an export whose references (invoices, payments, refunds) are read in one query each.
EXPORT_CHUNK = 500


# Days in a site's time zone ------------------------------------------------------------------


def day_start(day, timezone_name):
    """The first moment of `day` in the zone, as aware UTC."""
    local = datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone_name))
    return local.astimezone(timezone.utc)


def day_end(day, timezone_name):
    """The last moment (microsecond) of `day` in the zone, as aware UTC."""
    return day_start(day + timedelta(days=1), timezone_name) - timedelta(microseconds=1)


def local_iso(moment, timezone_name):
    """'2026-05-01T09:00:00+02:00', or '' for no moment."""
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone_name)).isoformat(timespec="seconds")


# CSV -----------------------------------------------------------------------------------------


def csv_cell(value):
    """Text for one cell; a value a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(header, rows):
    """A CSV document (RFC 4180, CRLF line ends) of a header row and data rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def major_string(minor, currency):
    """4950, 'SEK' -> '49.50': an exact decimal string for machines (no locale)."""
    return format(to_major(minor, currency), "f")


# Orders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderFilter:
    state: str | None = None
    session_id: int | None = None
    date_from: date | None = None  # days in the organisation's time zone, both included
    date_to: date | None = None


def organization_sessions(organization):
    """The organisation's sessions, newest first (for choosing one in a filter or a coupon)."""
    return db.session.scalars(
        select(TrainingSession)
        .where(TrainingSession.organization_id == organization.id)
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    ).all()


def _orders_query(organization, filters):
    query = (
        select(Order)
        .options(selectinload(Order.session))
        # A subscription order is the organisation buying from the operator, not a sale of its own.
        .where(Order.organization_id == organization.id, Order.purpose != "subscription")
        .order_by(Order.created_at.desc(), Order.id.desc())
    )
    if filters.state:
        query = query.where(Order.state == filters.state)
    if filters.session_id:
        query = query.where(Order.session_id == filters.session_id)
    if filters.date_from:
        query = query.where(Order.created_at >= day_start(filters.date_from, organization.timezone))
    if filters.date_to:
        query = query.where(Order.created_at <= day_end(filters.date_to, organization.timezone))
    return query


def orders_page(organization, filters, page=1, per_page=ORDERS_PER_PAGE):
    """One page of the site's orders, newest first (a Flask-SQLAlchemy Pagination)."""
    return db.paginate(
        _orders_query(organization, filters), page=max(page, 1), per_page=per_page,
        error_out=False, max_per_page=per_page,
    )


def filtered_orders(organization, filters):
    return db.session.scalars(_orders_query(organization, filters)).all()


ORDERS_CSV_HEADER = (
    "code", "created", "buyer_name", "buyer_email", "session", "purpose", "state", "currency",
    "subtotal", "discount", "tax", "tax_included", "tax_deducted", "total", "refunded",
    "invoice_number", "credit_note_numbers", "payment_provider", "payment_capture_ids",
    "payment_order_ids", "refund_ids",
)


@dataclass
class OrderReferences:
    """What ties an order to the books and to the payment provider; several values of one
    kind are joined with spaces in the export."""

    invoice_number: str = ""
    credit_note_numbers: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)  # of captured payments
    capture_ids: list[str] = field(default_factory=list)  # captured payments' (PayPal's transaction ids)
    provider_order_ids: list[str] = field(default_factory=list)  # the order at the provider
    refund_ids: list[str] = field(default_factory=list)  # the provider's refund ids


def _chunks(items, size=EXPORT_CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def order_references(order_ids):
    """{order id: OrderReferences}: invoice and credit note numbers, captured payments' provider
    references and refund ids, in three queries per EXPORT_CHUNK orders."""
    references = {order_id: OrderReferences() for order_id in order_ids}
    for chunk in _chunks(list(references)):
        invoices = db.session.execute(
            select(Invoice.order_id, Invoice.kind, Invoice.display_number)
            .where(Invoice.order_id.in_(chunk))
            .order_by(Invoice.number, Invoice.id)
        )
        for order_id, kind, number in invoices:
            if kind == "invoice":
                references[order_id].invoice_number = number
            else:
                references[order_id].credit_note_numbers.append(number)
        payments = db.session.execute(
            select(Payment.order_id, Payment.provider, Payment.capture_id, Payment.provider_order_id)
            .where(Payment.order_id.in_(chunk), Payment.state == "captured")
            .order_by(Payment.id)
        )
        for order_id, provider, capture_id, provider_order_id in payments:
            seen = references[order_id]
            if provider not in seen.providers:
                seen.providers.append(provider)
            if capture_id:
                seen.capture_ids.append(capture_id)
            if provider_order_id:
                seen.provider_order_ids.append(provider_order_id)
        refunds = db.session.execute(
            select(Refund.order_id, Refund.provider_refund_id)
            .where(Refund.order_id.in_(chunk), Refund.provider_refund_id.isnot(None))
            .order_by(Refund.id)
        )
        for order_id, refund_id in refunds:
            references[order_id].refund_ids.append(refund_id)
    return references


def orders_csv(orders, timezone_name="UTC"):
    """Orders as CSV: amounts as exact decimal strings in major units of their currency, with
    the order's invoice and credit note numbers and the payment provider's references."""
    references = order_references([order.id for order in orders])
    return write_csv(ORDERS_CSV_HEADER, (
        (
            order.code,
            local_iso(order.created_at, timezone_name),
            order.buyer_name,
            order.buyer_email,
            order.session.title if order.session else "",
            order.purpose,
            order.state,
            order.currency,
            major_string(order.subtotal_minor, order.currency),
            major_string(order.discount_minor, order.currency),
            major_string(order.tax_minor, order.currency),
            major_string(order.included_tax_minor, order.currency),
            major_string(order.tax_deducted_minor, order.currency),
            major_string(order.total_minor, order.currency),
            major_string(order.refunded_minor, order.currency),
            *_reference_cells(references[order.id]),
        )
        for order in orders
    ))


def _reference_cells(references):
    return (
        references.invoice_number,
        " ".join(references.credit_note_numbers),
        " ".join(references.providers),
        " ".join(references.capture_ids),
        " ".join(references.provider_order_ids),
        " ".join(references.refund_ids),
    )


# Revenue -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevenueRow:
    session_id: int | None  # None on a totals row
    title: str
    starts_at: datetime | None
    currency: str
    seats_sold: int  # confirmed registrations
    orders_paid: int  # orders that were paid, refunded since or not
    gross_minor: int
    refunded_minor: int

    @property
    def net_minor(self):
        return self.gross_minor - self.refunded_minor


def revenue_by_session(organization):
    """Per session of the organisation and currency: seats sold, paid orders, gross, refunds.

    One query. Every session is listed, also one that has sold nothing yet; a session with
    orders in two currencies gets a row per currency. Only registration orders count.
    """
    took_money = Order.state.in_(REVENUE_STATES)
    currency = func.coalesce(Order.currency, TrainingSession.currency)
    query = (
        select(
            TrainingSession.id,
            TrainingSession.title,
            TrainingSession.starts_at,
            currency.label("currency"),
            func.count(Registration.id),
            func.coalesce(func.sum(case((took_money, 1), else_=0)), 0),
            func.coalesce(func.sum(case((took_money, Order.total_minor), else_=0)), 0),
            func.coalesce(func.sum(case((took_money, Order.refunded_minor), else_=0)), 0),
        )
        .select_from(TrainingSession)
        .outerjoin(Order, and_(
            Order.session_id == TrainingSession.id,
            Order.organization_id == organization.id,
            Order.purpose == "registration",
        ))
        .outerjoin(Registration, and_(
            Registration.order_id == Order.id,
            Registration.session_id == TrainingSession.id,
            Registration.state == "confirmed",
        ))
        .where(TrainingSession.organization_id == organization.id)
        .group_by(TrainingSession.id, TrainingSession.title, TrainingSession.starts_at, currency)
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc(), currency)
    )
    return [
        RevenueRow(session_id, title, starts_at, code, int(seats), int(paid), int(gross), int(refunded))
        for session_id, title, starts_at, code, seats, paid, gross, refunded in db.session.execute(query)
    ]


def revenue_totals(rows):
    """One totals row per currency, in currency order."""
    totals = {}
    for row in rows:
        seen = totals.get(row.currency)
        totals[row.currency] = RevenueRow(
            None, "", None, row.currency,
            row.seats_sold + (seen.seats_sold if seen else 0),
            row.orders_paid + (seen.orders_paid if seen else 0),
            row.gross_minor + (seen.gross_minor if seen else 0),
            row.refunded_minor + (seen.refunded_minor if seen else 0),
        )
    return [totals[code] for code in sorted(totals)]


REVENUE_CSV_HEADER = (
    "session", "starts_at", "currency", "seats_sold", "orders_paid", "gross", "refunded", "net",
)


def revenue_csv(rows, timezone_name="UTC"):
    return write_csv(REVENUE_CSV_HEADER, (
        (
            row.title,
            local_iso(row.starts_at, timezone_name),
            row.currency,
            row.seats_sold,
            row.orders_paid,
            major_string(row.gross_minor, row.currency),
            major_string(row.refunded_minor, row.currency),
            major_string(row.net_minor, row.currency),
        )
        for row in rows
    ))
