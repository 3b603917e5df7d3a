"""An invoice, receipt or credit note as a PDF, drawn from the document's frozen snapshot.

In the buyer's language (Invoice.locale): labels through our catalogs, money and dates through
Babel. DejaVu Sans (vendored in app/fonts/, with its licence) prints every language we speak.
"""

import json
from datetime import date, timezone
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_percent
from flask_babel import force_locale, gettext

from app.extensions import db
from app.models import Invoice
from app.services.mail import DocumentAttachment
from app.services.money import format_money
from app.services.tax import country_name

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVu"

def filename(invoice):
    return f"{invoice.display_number}.pdf"


def title_of(invoice):
    """The document's title in the current language."""
    return _TITLES[json.loads(invoice.snapshot)["title"]]()


_TITLES = {
    "invoice": lambda: gettext("Invoice"),
    "receipt": lambda: gettext("Receipt"),
    "credit_note": lambda: gettext("Credit note"),
}


def render(invoice):
    """The document's PDF as bytes."""
    data = json.loads(invoice.snapshot)
    with force_locale(invoice.locale):
        return _Document(invoice, data, invoice.locale).build()


class _Document:
    def __init__(self, invoice, data, locale):
        self.invoice, self.data, self.locale = invoice, data, locale
        self.currency = data["currency"]

    def money(self, minor):
        return format_money(minor, self.currency, self.locale)

    def build(self):
        from fpdf import FPDF

        pdf = self.pdf = FPDF(format="A4")
        pdf.set_margins(20, 18, 20)
        pdf.set_auto_page_break(True, margin=18)
        pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        issued = self.invoice.issued_at
        if issued.tzinfo is None:
            issued = issued.replace(tzinfo=timezone.utc)
        pdf.set_creation_date(issued)
        pdf.set_title(f"{self.title()} {self.invoice.display_number}")
        pdf.set_author(self.data["seller"]["name"])
        pdf.set_lang(self.locale)
        pdf.add_page()
        self.heading()
        self.parties()
        self.lines()
        self.totals()
        self.notes()
        return bytes(pdf.output())

    def title(self):
        return _TITLES[self.data["title"]]()

    def text(self, value, size=10, bold=False, height=5.5):
        self.pdf.set_font(FONT, "B" if bold else "", size)
        self.pdf.multi_cell(0, height, value, new_x="LMARGIN", new_y="NEXT")

    def heading(self):
        pdf, data = self.pdf, self.data
        self.text(self.title(), size=20, bold=True, height=10)
        pdf.ln(2)
        facts = [
            (gettext("Number"), self.invoice.display_number),
            (gettext("Date"), format_date(date.fromisoformat(data["issued_on"]), "long", locale=self.locale)),
            (gettext("Order"), data["order_code"]),
        ]
        for label, value in facts:
            pdf.set_font(FONT, "B", 10)
            pdf.cell(40, 5.5, label)
            pdf.set_font(FONT, "", 10)
            pdf.cell(0, 5.5, value, new_x="LMARGIN", new_y="NEXT")
        if data.get("for_invoice"):
            pdf.ln(1)
            self.text(gettext("Credit note for invoice %(number)s", number=data["for_invoice"]))
        pdf.ln(6)

    def parties(self):
        pdf = self.pdf
        top = pdf.get_y()
        width = (pdf.epw - 10) / 2
        bottoms = []
        for column, (label, lines) in enumerate(
            ((gettext("Seller"), self.seller_lines()), (gettext("Buyer"), self.buyer_lines()))
        ):
            pdf.set_xy(pdf.l_margin + column * (width + 10), top)
            pdf.set_font(FONT, "B", 10)
            pdf.multi_cell(width, 5.5, label, new_x="LEFT", new_y="NEXT")
            pdf.set_font(FONT, "", 10)
            pdf.multi_cell(width, 5.5, "\n".join(lines), new_x="LEFT", new_y="NEXT")
            bottoms.append(pdf.get_y())
        pdf.set_xy(pdf.l_margin, max(bottoms) + 8)

    def seller_lines(self):
        seller = self.data["seller"]
        lines = [seller["name"], *seller["address"].splitlines()]
        if seller["country"]:
            lines.append(country_name(seller["country"], self.locale))
        if seller["vat_id"]:
            lines.append(gettext("VAT ID: %(vat_id)s", vat_id=seller["vat_id"]))
        return [line for line in lines if line]

    def buyer_lines(self):
        buyer = self.data["buyer"]
        lines = [buyer["company"], buyer["name"], *buyer["address"].splitlines()]
        if buyer["country"]:
            lines.append(country_name(buyer["country"], self.locale))
        if buyer["vat_id"]:
            lines.append(gettext("VAT ID: %(vat_id)s", vat_id=buyer["vat_id"]))
        lines.append(buyer["email"])
        return [line for line in lines if line]

    def lines(self):
        pdf = self.pdf
        pdf.set_font(FONT, "", 10)
        with pdf.table(
            col_widths=(80, 25, 32, 33), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            line_height=6, padding=1.5, borders_layout="HORIZONTAL_LINES",
        ) as table:
            header = table.row()
            for label in (gettext("Description"), gettext("Quantity"), gettext("Unit price"), gettext("Amount")):
                header.cell(label)
            for line in self.data["lines"]:
                row = table.row()
                row.cell(line["description"])
                row.cell(str(line["quantity"]))
                row.cell(self.money(line["unit_price_minor"]))
                row.cell(self.money(line["total_minor"]))
        pdf.ln(4)

    def tax_label(self):
        rate = format_percent(Decimal(self.data["tax_rate_bp"]) / 10000, locale=self.locale,
                              decimal_quantization=False)
        if self.data["prices_include_tax"]:
            return gettext("Including VAT %(rate)s", rate=rate)
        return gettext("VAT %(rate)s", rate=rate)

    def totals(self):
        data = self.data
        rows = []
        if data["kind"] == "invoice":
            rows.append((gettext("Subtotal"), self.money(data["subtotal_minor"]), False))
            if data["discount_minor"]:
                label = (gettext("Discount (coupon %(code)s)", code=data["coupon_code"])
                         if data["coupon_code"] else gettext("Discount"))
                rows.append((label, "−" + self.money(data["discount_minor"]), False))
            if data.get("tax_deducted_minor"):
                rows.append((gettext("VAT included in the price, not charged"),
                             "−" + self.money(data["tax_deducted_minor"]), False))
        if data["treatment"] == "standard":
            rows.append((gettext("Net amount"), self.money(data["net_minor"]), False))
            rows.append((self.tax_label(), self.money(data["tax_minor"]), False))
        elif data["treatment"] in ("reverse_charge", "exempt"):
            rows.append((gettext("VAT"), self.money(0), False))
        total_label = gettext("Amount refunded") if data["kind"] == "credit_note" else gettext("Total")
        rows.append((total_label, self.money(data["total_minor"]), True))
        pdf = self.pdf
        for label, amount, bold in rows:
            pdf.set_font(FONT, "B" if bold else "", 11 if bold else 10)
            pdf.set_x(pdf.l_margin + pdf.epw - 110)
            pdf.cell(75, 6.5, label, align="R")
            pdf.cell(35, 6.5, amount, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)

    def notes(self):
        data = self.data
        if data["note"] == "reverse_charge":
            self.text(gettext("Reverse charge: VAT to be accounted for by the recipient"), bold=True)
        elif data["note"] == "exempt":
            self.text(gettext("Exempt from tax: %(reference)s",
                              reference=data["buyer"]["exemption_reference"]), bold=True)
        payment = data.get("payment") or {}
        message = self.payment_message(payment.get("provider"), payment.get("reference") or "")
        if message:
            self.pdf.ln(1)
            self.text(message)
        if data["kind"] == "invoice" and data.get("paid_on") and message:
            paid = date.fromisoformat(data["paid_on"])
            self.text(gettext("Paid on %(date)s", date=format_date(paid, "long", locale=self.locale)))

    def payment_message(self, provider, reference):
        if self.data["kind"] == "credit_note":
            if provider == "paypal":
                return (gettext("Refunded through PayPal, reference %(reference)s", reference=reference)
                        if reference else gettext("Refunded through PayPal"))
            if provider == "bank_transfer":
                return gettext("Refunded by bank transfer")
            return ""
        if provider == "paypal":
            return gettext("Paid through PayPal, reference %(reference)s", reference=reference)
        if provider == "bank_transfer":
            return gettext("Paid by bank transfer, reference %(reference)s", reference=reference)
        return ""


def render_by_id(invoice_id):
    return render(db.session.get(Invoice, invoice_id))


def attachment(invoice):
    """The document as an email attachment, rendered when the email is sent."""
    return DocumentAttachment(filename(invoice), "application/pdf", invoice.id)


def order_attachments(order):
    """The order's invoice as a list of attachments: [] when it has none (a free session)."""
    from app.services.invoicing import invoice_of

    invoice = invoice_of(order.id)
    return [attachment(invoice)] if invoice is not None else []
