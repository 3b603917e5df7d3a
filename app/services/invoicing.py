"""Invoices for paid orders and credit notes for refunds, numbered without gaps per seller.

Both run inside the caller's transaction (the one that marks the order paid, or records the
refund), so a document exists exactly when the payment or refund does. The number comes from
the seller's `InvoiceCounter` row, locked until that transaction ends: two payments of one
seller take turns, and a rolled-back payment gives its number back. Invoices and credit notes
share one sequence.

Who sells: a site selling seats (registration orders) is the seller of its own invoices; what
the portal itself sells (pay-per-use, plans, partner orders) is sold by the operator.

A document is frozen when issued: its snapshot (JSON) holds everything printed on it.
Its title: "Invoice" when the seller has entered its legal name and address (what an invoice
must show), else "Receipt". Orders of a free session (nothing sold at a price) get none.
"""

import json
from datetime import timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import CommerceSettings, Invoice, InvoiceCounter, Organization
from app.services import tax
from app.services.locks import lock_row
from app.services.pricing import round_half_up

NUMBER_DIGITS = 6


# Who sells, and the next number --------------------------------------------------------


def seller_id_for(order):
    if order.purpose == "registration":
        return order.organization_id
    operator_id = db.session.scalar(
        select(Organization.id).where(Organization.is_operator.is_(True)).order_by(Organization.id).limit(1)
    )
    return operator_id or order.organization_id


def _next_number(seller_id):
    """Take the seller's next number: make its counter row if it has none (safe when two
    transactions make it at once), then lock it until the transaction ends."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(
        insert(InvoiceCounter).values(id=seller_id, last_number=0).on_conflict_do_nothing(index_elements=["id"])
    )
    counter = lock_row(InvoiceCounter, seller_id)
    counter.last_number += 1
    return counter.last_number


def display_number(prefix, number):
    """'LEC-' and 42 -> 'LEC-000042'."""
    return f"{prefix or ''}{number:0{NUMBER_DIGITS}d}"


# Issuing --------------------------------------------------------------------------------


def invoice_of(order_id):
    return db.session.scalar(
        select(Invoice).where(Invoice.order_id == order_id, Invoice.kind == "invoice")
    )


def documents_of(order_id):
    """The order's invoice and credit notes, oldest first."""
    return db.session.scalars(
        select(Invoice).where(Invoice.order_id == order_id).order_by(Invoice.number)
    ).all()


def needs_invoice(order):
    return order.subtotal_minor > 0


def issue_invoice(order, now):
    """The invoice of a paid order (inside the caller's transaction). Returns it, or None for
    an order of a free session. An order already invoiced keeps its invoice."""
    existing = invoice_of(order.id)
    if existing is not None or not needs_invoice(order):
        return existing
    seller_id = seller_id_for(order)
    settings = db.session.get(CommerceSettings, seller_id)
    seller = db.session.get(Organization, seller_id)
    number = _next_number(seller_id)
    tax_minor = (order.tax_minor or 0) + (order.included_tax_minor or 0)
    snapshot = {
        "version": 1,
        "kind": "invoice",
        "title": "invoice" if _has_legal_details(settings) else "receipt",
        "seller": _seller(seller, settings),
        "buyer": _buyer(order),
        "order_code": order.code,
        "currency": order.currency,
        "lines": [
            {"description": line.description, "quantity": line.quantity,
             "unit_price_minor": line.unit_price_minor, "total_minor": line.total_minor}
            for line in order.lines
        ],
        "subtotal_minor": order.subtotal_minor,
        "discount_minor": order.discount_minor,
        "coupon_code": order.coupon.code if order.coupon is not None else "",
        "tax_deducted_minor": order.tax_deducted_minor or 0,
        "net_minor": order.total_minor - tax_minor,
        "tax_rate_bp": order.tax_rate_bp or 0,
        "tax_minor": tax_minor,
        # Registration orders follow the site's setting; what the portal sells adds tax on top.
        "prices_include_tax": order.purpose == "registration" and not order.tax_minor
        and tax.prices_include_tax(settings),
        "treatment": order.tax_treatment or "none",
        "note": order.tax_treatment if order.tax_treatment in tax.TREATMENT_NOTES else None,
        "total_minor": order.total_minor,
        "paid_at": (order.paid_at or now).isoformat(),
        "paid_on": _local_date(order.paid_at or now, seller),
        "payment": _payment(order),
        "issued_on": _local_date(now, seller),
    }
    invoice = Invoice(
        seller_id=seller_id, number=number, display_number=display_number(_prefix(settings), number),
        kind="invoice", order_id=order.id, currency=order.currency,
        net_minor=snapshot["net_minor"], tax_minor=tax_minor, total_minor=order.total_minor,
        locale=order.locale, snapshot=json.dumps(snapshot), issued_at=now,
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


def issue_credit_note(refund, now):
    """The credit note of a refund that went through (inside the caller's transaction).
    It names the invoice it corrects; its tax is the invoice's tax in proportion to the
    amount refunded, rounded half-up once. A refund gets one credit note, whatever retries."""
    existing = db.session.scalar(select(Invoice).where(Invoice.refund_id == refund.id))
    if existing is not None:
        return existing
    order = refund.order
    invoice = invoice_of(order.id) or issue_invoice(order, now)  # orders paid before invoicing began
    if invoice is None:
        return None
    original = json.loads(invoice.snapshot)
    amount = refund.amount_minor
    tax_part = round_half_up(amount * invoice.tax_minor / invoice.total_minor) if invoice.total_minor else 0
    tax_part = min(tax_part, amount)
    number = _next_number(invoice.seller_id)
    settings = db.session.get(CommerceSettings, invoice.seller_id)
    description = ", ".join(line["description"] for line in original["lines"]) or original["order_code"]
    snapshot = {
        **{key: original[key] for key in ("seller", "buyer", "order_code", "currency", "tax_rate_bp",
                                          "treatment", "note", "prices_include_tax")},
        "version": 1,
        "kind": "credit_note",
        "title": "credit_note",
        "lines": [{"description": description, "quantity": 1, "unit_price_minor": amount, "total_minor": amount}],
        "subtotal_minor": amount,
        "discount_minor": 0,
        "coupon_code": "",
        "net_minor": amount - tax_part,
        "tax_minor": tax_part,
        "total_minor": amount,
        "paid_at": original.get("paid_at"),
        "payment": {
            "provider": refund.payment.provider if refund.payment is not None else "",
            "reference": refund.provider_refund_id or "",
        },
        "for_invoice": invoice.display_number,
        "issued_on": _local_date(now, db.session.get(Organization, invoice.seller_id)),
    }
    note = Invoice(
        seller_id=invoice.seller_id, number=number, display_number=display_number(_prefix(settings), number),
        kind="credit_note", order_id=order.id, refund_id=refund.id, currency=invoice.currency,
        net_minor=amount - tax_part, tax_minor=tax_part, total_minor=amount, locale=invoice.locale,
        snapshot=json.dumps(snapshot), issued_at=now,
    )
    db.session.add(note)
    db.session.flush()
    return note


# The snapshot's parts --------------------------------------------------------------------


def _has_legal_details(settings):
    return settings is not None and bool(settings.legal_name and settings.legal_address)


def _prefix(settings):
    return (settings.invoice_prefix or "") if settings is not None else ""


def _seller(organization, settings):
    return {
        "name": (settings.legal_name if settings is not None else "") or organization.name,
        "address": (settings.legal_address or "") if settings is not None else "",
        "country": (settings.legal_country or "") if settings is not None else "",
        "vat_id": (settings.legal_vat_id or "") if settings is not None else "",
    }


def _buyer(order):
    return {
        "name": order.buyer_name, "email": order.buyer_email, "company": order.buyer_company or "",
        "address": order.buyer_address or "", "country": order.buyer_country or "",
        "vat_id": order.buyer_vat_id or "", "exemption_reference": order.tax_exemption_reference or "",
    }


def _payment(order):
    """The payment that paid the order: its provider and the provider's reference (PayPal's
    capture id; the order code for a bank transfer)."""
    payment = next((p for p in reversed(order.payments) if p.state == "captured"), None)
    if payment is None:
        return {"provider": "", "reference": ""}
    reference = payment.capture_id or (order.code if payment.provider == "bank_transfer" else "")
    return {"provider": payment.provider, "reference": reference or ""}


def _local_date(moment, organization):
    """The day of `moment` (UTC) where the seller is: the date printed on the document."""
    try:
        zone = ZoneInfo(organization.timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(zone).date().isoformat()


def document_of_order(order_id, invoice_id):
    """Invoice `invoice_id` when it belongs to the order, else None (no peeking at others')."""
    invoice = db.session.get(Invoice, invoice_id)
    return invoice if invoice is not None and invoice.order_id == order_id else None


def documents_of_seller(seller_id, limit=200):
    """A seller's invoices and credit notes, newest first."""
    return db.session.scalars(
        select(Invoice).where(Invoice.seller_id == seller_id).order_by(Invoice.number.desc()).limit(limit)
    ).all()
