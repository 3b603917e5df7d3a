"""Invoices and credit notes: numbered without gaps per seller organisation, frozen when issued.

A document keeps a snapshot of everything printed on it (seller, buyer, lines, tax), so its PDF
is the same whenever it is downloaded, whatever changes later in the settings or the order.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Organization
from app.models.base import Base, UTCDateTime, utcnow
from app.models.commerce import Order, Refund


class InvoiceCounter(Base):
    """The last number a seller gave; locked by whoever takes the next, so numbers never skip."""

    __tablename__ = "invoice_counters"

    id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)  # the seller
    last_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind"),
        CheckConstraint("number > 0", name="number_positive"),
        UniqueConstraint("seller_id", "number"),
        # One invoice per order; a credit note per refund.
        Index(
            "uq_invoices_order_invoice",
            "order_id",
            unique=True,
            sqlite_where=text("kind = 'invoice'"),
            postgresql_where=text("kind = 'invoice'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[int] = mapped_column(Integer)
    display_number: Mapped[str] = mapped_column(String(40))  # prefix + number, as printed
    kind: Mapped[str] = mapped_column(String(12))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refunds.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    net_minor: Mapped[int] = mapped_column(Integer)  # positive on credit notes too
    tax_minor: Mapped[int] = mapped_column(Integer)
    total_minor: Mapped[int] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(8))  # the buyer's: the PDF's language
    snapshot: Mapped[str] = mapped_column(Text)  # JSON: seller, buyer, lines, tax treatment
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    seller: Mapped[Organization] = relationship()
    order: Mapped[Order] = relationship()
    refund: Mapped[Refund | None] = relationship()


class TaxRate(Base):
    """A seller's tax rate for buyers in one country ("" = every other country)."""

    __tablename__ = "tax_rates"
    __table_args__ = (
        UniqueConstraint("organization_id", "country"),
        CheckConstraint("rate_bp BETWEEN 0 AND 10000", name="rate_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2, or ""
    rate_bp: Mapped[int] = mapped_column(Integer)  # basis points: 2500 = 25 %
