"""Invoices and credit notes: issued with the payment or refund, numbered per seller without
gaps, frozen snapshots, and PDFs whose text says what the order says."""

import io
import json
from email import message_from_bytes

from pypdf import PdfReader

from app.extensions import db
from app.models import Invoice, OutboxMessage, Payment, TaxRate
from app.services import billing_details, checkout, commerce, invoice_pdf, invoicing, registrations, tax
from app.services.mail import to_email
from app.services.payments.base import Capture
from tests import commerce_factories, factories


def _site(rates=None, prices_include_tax=True, **legal):
    organization = factories.make_organization(currency="EUR", timezone="Europe/Stockholm")
    commerce.update_settings(organization, enabled=True, fee_based=True, bank_transfer_enabled=True,
                             bank_transfer_details="IBAN SE00 0000")
    settings = commerce.settings_for(organization)
    settings.prices_include_tax = prices_include_tax
    legal.setdefault("legal_name", "Kursverket AB")
    legal.setdefault("legal_address", "Storgatan 1\n111 22 Stockholm")
    legal.setdefault("legal_country", "SE")
    legal.setdefault("legal_vat_id", "SE556012345601")
    legal.setdefault("invoice_prefix", "KV-")
    for name, value in legal.items():
        setattr(settings, name, value)
    db.session.add_all(
        TaxRate(organization_id=organization.id, country=c, rate_bp=r) for c, r in (rates or {"": 2500}).items()
    )
    db.session.commit()
    return organization


def _registered(organization, fee=10000, email="ana@example.com", locale="en", **details):
    host = factories.make_user(organization, role="host")
    session = factories.make_session(host, fee_minor=fee, currency="EUR", title="Säkerhet & GDPR")
    order = registrations.register(session, "Ana Novak", email, locale, 15)
    tax.apply_to_order(order)  # what registrations.register does once the lead wires it in
    db.session.commit()
    if details:
        billing_details.set_billing_details(order, **details)
    return order


def _pay_with_paypal(order, capture_id="CAP-77"):
    payment = Payment(order=order, provider="paypal", method="paypal", amount_minor=order.total_minor,
                      currency="EUR", state="approved", provider_order_id=f"PP-{order.id}")
    db.session.add(payment)
    db.session.commit()
    checkout.record_capture(
        payment.id, Capture("completed", capture_id, order.total_minor, "EUR", f"payment-{payment.id}")
    )
    db.session.refresh(order)
    return order


def _pay_by_bank_transfer(order):
    checkout.new_payment(order, "bank_transfer", "")
    db.session.commit()
    checkout.mark_bank_transfer_paid(order)
    db.session.refresh(order)
    return order


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


# Issuing ------------------------------------------------------------------------------------


def test_a_paid_order_gets_an_invoice_with_the_next_number_of_its_seller(app):
    site = _site()
    first = _pay_with_paypal(_registered(site, email="a@example.com"))
    second = _pay_by_bank_transfer(_registered(site, email="b@example.com"))

    invoices = db.session.query(Invoice).order_by(Invoice.number).all()

    assert [(i.order_id, i.number, i.display_number, i.kind) for i in invoices] == [
        (first.id, 1, "KV-000001", "invoice"), (second.id, 2, "KV-000002", "invoice"),
    ]
    assert (invoices[0].net_minor, invoices[0].tax_minor, invoices[0].total_minor) == (8000, 2000, 10000)
    assert invoices[0].seller_id == site.id


def test_the_snapshot_freezes_seller_buyer_lines_tax_and_payment(app):
    site = _site(prices_include_tax=False)
    order = _pay_with_paypal(_registered(site, company="Acme d.o.o.", address="Slovenska 1\nLjubljana",
                                         country="SI", vat_id="SI12345678"))

    snapshot = json.loads(invoicing.invoice_of(order.id).snapshot)

    assert snapshot["seller"] == {"name": "Kursverket AB", "address": "Storgatan 1\n111 22 Stockholm",
                                  "country": "SE", "vat_id": "SE556012345601"}
    assert snapshot["buyer"]["company"] == "Acme d.o.o." and snapshot["buyer"]["vat_id"] == "SI12345678"
    assert snapshot["lines"] == [{"description": "Säkerhet & GDPR", "quantity": 1,
                                  "unit_price_minor": 10000, "total_minor": 10000}]
    assert (snapshot["treatment"], snapshot["note"], snapshot["tax_minor"], snapshot["total_minor"]) == (
        "reverse_charge", "reverse_charge", 0, 10000)
    assert snapshot["payment"] == {"provider": "paypal", "reference": "CAP-77"}
    assert snapshot["order_code"] == order.code and snapshot["title"] == "invoice"


def test_invoicing_an_order_twice_gives_the_same_invoice(app):
    order = _pay_with_paypal(_registered(_site()))

    again = invoicing.issue_invoice(order, order.paid_at)
    db.session.commit()

    assert again.number == 1
    assert db.session.query(Invoice).count() == 1


def test_a_seller_without_legal_details_issues_receipts_and_numbers_without_a_prefix(app):
    site = _site(legal_name="", legal_address="", invoice_prefix="")
    order = _pay_with_paypal(_registered(site))

    invoice = invoicing.invoice_of(order.id)

    assert invoice.display_number == "000001"
    assert json.loads(invoice.snapshot)["title"] == "receipt"
    assert json.loads(invoice.snapshot)["seller"]["name"] == site.name
    assert pdf_text(invoice_pdf.render(invoice)).startswith("Receipt")


def test_an_order_of_a_free_session_gets_no_invoice(app):
    order = _registered(_site(), fee=0)
    checkout.begin_payment(order, "", 0, None, "", "", None)

    assert db.session.get(type(order), order.id).state == "paid"
    assert invoicing.invoice_of(order.id) is None


def test_what_the_portal_sells_is_invoiced_by_the_operator(app):
    operator = _site(invoice_prefix="OP-")
    operator.is_operator = True
    customer = factories.make_organization()
    order = commerce_factories.make_order(organization=customer, purpose="pay_per_use", state="pending",
                                          subtotal=6000, currency="EUR")
    order.lines = []
    _pay_by_bank_transfer(order)

    invoice = invoicing.invoice_of(order.id)

    assert (invoice.seller_id, invoice.display_number) == (operator.id, "OP-000001")


def test_the_operator_missing_the_customer_sells_itself(app):
    customer = _site(invoice_prefix="C-")
    order = commerce_factories.make_order(organization=customer, purpose="pay_per_use", state="pending",
                                          subtotal=6000, currency="EUR")
    _pay_by_bank_transfer(order)

    assert invoicing.invoice_of(order.id).display_number == "C-000001"


# Credit notes -------------------------------------------------------------------------------


def test_a_refund_gets_a_credit_note_with_its_share_of_the_tax(app):
    site = _site()
    order = _pay_by_bank_transfer(_registered(site))  # 10000 incl. 2000 tax

    checkout.refund_order(order, 3333, None, reason="partly")

    note = db.session.query(Invoice).filter_by(kind="credit_note").one()
    assert (note.number, note.display_number, note.order_id) == (2, "KV-000002", order.id)
    assert (note.total_minor, note.tax_minor, note.net_minor) == (3333, 667, 2666)  # 666.6 -> 667
    assert json.loads(note.snapshot)["for_invoice"] == "KV-000001"


def test_each_refund_is_credit_noted_once_and_numbers_run_on(app):
    site = _site()
    order = _pay_by_bank_transfer(_registered(site))
    checkout.refund_order(order, 4000, None)
    refund = order.refunds[0]

    again = invoicing.issue_credit_note(refund, refund.created_at)
    checkout.refund_order(db.session.get(type(order), order.id), 6000, None)

    notes = db.session.query(Invoice).filter_by(kind="credit_note").order_by(Invoice.number).all()
    assert again.id == notes[0].id
    assert [(n.number, n.total_minor, n.tax_minor) for n in notes] == [(2, 4000, 800), (3, 6000, 1200)]


# PDFs ---------------------------------------------------------------------------------------


def test_the_invoice_pdf_shows_number_totals_and_tax_line(app):
    site = _site(prices_include_tax=False)
    order = _pay_with_paypal(_registered(site, company="Acme AB", address="Lilla vägen 2", country="SE"))
    invoice = invoicing.invoice_of(order.id)

    text = pdf_text(invoice_pdf.render(invoice))

    assert text.startswith("Invoice")
    assert "KV-000001" in text and order.code in text
    assert "Kursverket AB" in text and "VAT ID: SE556012345601" in text and "Acme AB" in text
    assert "Säkerhet & GDPR" in text
    assert "Subtotal €100.00" in text
    assert "Net amount €100.00" in text
    assert "VAT 25% €25.00" in text
    assert "Total €125.00" in text
    assert "Paid through PayPal, reference CAP-77" in text


def test_an_inclusive_price_invoice_says_the_tax_is_included(app):
    order = _pay_with_paypal(_registered(_site()))

    text = pdf_text(invoice_pdf.render(invoicing.invoice_of(order.id)))

    assert "Including VAT 25% €20.00" in text and "Net amount €80.00" in text and "Total €100.00" in text


def test_a_reverse_charge_invoice_shows_zero_vat_and_the_reason(app):
    order = _pay_with_paypal(_registered(_site(prices_include_tax=False), country="DE", vat_id="DE123456789"))

    text = pdf_text(invoice_pdf.render(invoicing.invoice_of(order.id)))

    assert "VAT €0.00" in text and "Total €100.00" in text
    assert "Reverse charge: VAT to be accounted for by the recipient" in text
    assert "VAT ID: DE123456789" in text


def test_an_inclusive_price_invoice_of_a_reverse_charge_buyer_shows_the_tax_taken_off(app):
    order = _pay_with_paypal(_registered(_site(), country="DE", vat_id="DE123456789"))

    text = pdf_text(invoice_pdf.render(invoicing.invoice_of(order.id)))

    assert order.total_minor == 8000
    assert "Subtotal €100.00" in text and "VAT included in the price, not charged −€20.00" in text
    assert "VAT €0.00" in text and "Total €80.00" in text
    assert "Reverse charge: VAT to be accounted for by the recipient" in text


def test_an_exempt_invoice_prints_the_exemption_reference(app):
    order = _pay_with_paypal(_registered(_site(prices_include_tax=False), exemption_reference="UN-4711"))

    text = pdf_text(invoice_pdf.render(invoicing.invoice_of(order.id)))

    assert "Exempt from tax: UN-4711" in text and "Total €100.00" in text


def test_the_credit_note_pdf_names_the_invoice_and_the_amount_refunded(app):
    order = _pay_by_bank_transfer(_registered(_site()))
    checkout.refund_order(order, 5000, None)
    note = db.session.query(Invoice).filter_by(kind="credit_note").one()

    text = pdf_text(invoice_pdf.render(note))

    assert text.startswith("Credit note")
    assert "KV-000002" in text and "Credit note for invoice KV-000001" in text
    assert "Including VAT 25% €10.00" in text and "Amount refunded €50.00" in text


def test_the_pdf_is_in_the_buyers_language_with_cyrillic_and_diacritics(app):
    order = _pay_with_paypal(_registered(_site(legal_name="Čebelica d.o.o."), locale="ru"))

    text = pdf_text(invoice_pdf.render(invoicing.invoice_of(order.id)))

    assert "Čebelica d.o.o." in text and "Säkerhet" in text
    assert "100,00 €" in text  # Babel's Russian money format
    assert "Швеция" in text  # the seller's country, named in Russian


# Email --------------------------------------------------------------------------------------


def test_the_confirmation_email_carries_the_invoice_pdf(app):
    order = _pay_with_paypal(_registered(_site()))

    message = db.session.query(OutboxMessage).filter_by(template="registration_confirmed").one()
    email = message_from_bytes(bytes(to_email(message, "noreply@example.com")))
    parts = {part.get_filename(): part for part in email.walk() if part.get_filename()}

    assert set(parts) == {"session.ics", "KV-000001.pdf"}
    pdf = parts["KV-000001.pdf"]
    assert pdf.get_content_type() == "application/pdf"
    assert "KV-000001" in pdf_text(pdf.get_payload(decode=True))
    assert "BEGIN:VCALENDAR" in parts["session.ics"].get_payload(decode=True).decode()
    assert order.code in pdf_text(pdf.get_payload(decode=True))


def test_the_refund_notice_carries_the_credit_note_pdf(app):
    order = _pay_by_bank_transfer(_registered(_site()))
    checkout.refund_order(order, 10000, None)

    message = db.session.query(OutboxMessage).filter_by(template="refund_issued").one()
    [attachment] = json.loads(message.attachments)

    # The outbox names the document; its PDF is made when the email is sent.
    assert attachment == {"filename": "KV-000002.pdf", "content_type": "application/pdf",
                          "invoice_id": invoicing.documents_of(order.id)[-1].id}
    email = message_from_bytes(bytes(to_email(message, "noreply@example.com")))
    [part] = [p for p in email.walk() if p.get_filename()]
    assert "Credit note for invoice KV-000001" in pdf_text(part.get_payload(decode=True))
