"""Every CSV export: cells a spreadsheet would run as formulas come out defused (OWASP CSV
injection), and the orders export carries invoice numbers and the payment provider's references."""

import csv
import io

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Payment, Refund, SalesRequest
from app.models.invoicing import Invoice
from app.services import plan_admin
from tests import factories
from tests.commerce_factories import make_coupon, make_order, switch_on

# What a buyer, host or attendee could type as a name, and what the export must contain instead.
PAYLOADS = ['=HYPERLINK("http://evil.example","Click")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "＝1+1"]
DEFUSED = ["'" + payload for payload in PAYLOADS]
NO_WHITESPACE = PAYLOADS[:4] + PAYLOADS[6:]  # pasted names have their whitespace tidied


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.fixture
def admin(csrf_client):
    organization = factories.make_organization(currency="SEK", timezone="Europe/Stockholm")
    user = factories.make_user(organization, role="admin")
    switch_on(organization)
    csrf_client.sign_in(user)
    return user


def add_invoice(order, number, kind="invoice", refund=None):
    invoice = Invoice(
        seller_id=order.organization_id, number=number, display_number=f"INV-{number:05d}", kind=kind,
        order_id=order.id, refund_id=refund.id if refund else None, currency=order.currency,
        net_minor=order.total_minor, tax_minor=0, total_minor=order.total_minor, locale="en", snapshot="{}",
    )
    db.session.add(invoice)
    db.session.commit()
    return invoice


def add_payment(order, state="captured", **fields):
    payment = Payment(order_id=order.id, provider="paypal", method="paypal", amount_minor=order.total_minor,
                      currency=order.currency, state=state, **fields)
    db.session.add(payment)
    db.session.commit()
    return payment


# Formula injection, export by export -----------------------------------------------------------


def test_the_orders_export_defuses_buyer_names(csrf_client, admin):
    session = factories.make_session(factories.make_user(admin.organization, role="host"))
    for payload in PAYLOADS:
        make_order(session, buyer_name=payload)

    rows = read_csv(csrf_client.get("/admin/orders.csv").get_data(as_text=True))

    assert sorted(row["buyer_name"] for row in rows) == sorted(DEFUSED)


def test_the_sessions_own_orders_export_defuses_buyer_names_and_its_title(csrf_client):
    host = factories.make_user(role="host")
    csrf_client.sign_in(host)
    session = factories.make_session(host, title="-Excel")
    for payload in PAYLOADS:
        make_order(session, buyer_name=payload)

    rows = read_csv(csrf_client.get(f"/sessions/{session.id}/orders.csv").get_data(as_text=True))

    assert sorted(row["buyer_name"] for row in rows) == sorted(DEFUSED)
    assert {row["session"] for row in rows} == {"'-Excel"}


def test_the_revenue_export_defuses_session_titles(csrf_client, admin):
    host = factories.make_user(admin.organization, role="host")
    for payload in PAYLOADS:
        factories.make_session(host, title=payload)

    rows = read_csv(csrf_client.get("/admin/revenue.csv").get_data(as_text=True))

    assert sorted(row["session"] for row in rows) == sorted(DEFUSED)


def test_the_coupons_export_defuses_session_titles(csrf_client, admin):
    switch_on(admin.organization, coupons=True)
    host = factories.make_user(admin.organization, role="host")
    for payload in PAYLOADS:
        make_coupon(admin.organization, session_id=factories.make_session(host, title=payload).id)

    rows = read_csv(csrf_client.get("/admin/coupons.csv").get_data(as_text=True))

    assert sorted(row["session"] for row in rows) == sorted(DEFUSED)


def test_the_spend_export_defuses_department_and_host_names(csrf_client, admin):
    from tests.web.test_department_spend import at, host_in, paid_estimate

    switch_on(admin.organization, pay_per_use=True)
    for n, payload in enumerate(PAYLOADS):
        department = factories.make_department(admin.organization, f"{payload} {n}")
        paid_estimate(host_in(admin.organization, payload, department), at(2026, 3, 5, 9), 100)

    text = csrf_client.get("/admin/spend.csv?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert sorted(row[1] for row in rows) == sorted(DEFUSED)
    assert all(row[0].startswith("'") for row in rows)


def test_the_personal_links_export_defuses_pasted_names(csrf_client):
    host = factories.make_user(role="host")
    csrf_client.sign_in(host)
    session = factories.make_session(host, access_mode="unique_link")

    response = csrf_client.post(f"/sessions/{session.id}/invitations",
                                {"names": "\n".join(NO_WHITESPACE), "format": "csv"})

    rows = read_csv(response.get_data(as_text=True))
    assert response.mimetype == "text/csv"
    assert sorted(row["name"] for row in rows) == sorted("'" + name for name in NO_WHITESPACE)
    assert all(row["link"].startswith("http://localhost/j/") for row in rows)


def test_the_sales_requests_export_defuses_every_typed_field(app):
    for payload in PAYLOADS:
        db.session.add(SalesRequest(name=payload, email="@x.example", organization_name=payload,
                                    cart="=1", message=payload))
    db.session.commit()

    rows = read_csv(plan_admin.sales_requests_csv("UTC"))

    assert sorted(row["name"] for row in rows) == sorted(DEFUSED)
    assert sorted(row["organization"] for row in rows) == sorted(DEFUSED)
    assert sorted(row["message"] for row in rows) == sorted(DEFUSED)
    assert {(row["email"], row["cart"]) for row in rows} == {("'@x.example", "'=1")}


# Invoice numbers and provider references -------------------------------------------------------


def test_the_orders_export_has_the_invoice_credit_notes_and_paypal_references(csrf_client, admin):
    session = factories.make_session(factories.make_user(admin.organization, role="host"))
    order = make_order(session, code="PAIDPP", state="partially_refunded", subtotal=10000, refunded=3000)
    add_payment(order, provider_order_id="PPORDER-FAILED", capture_id=None, state="failed")
    payment = add_payment(order, provider_order_id="5O190127TN364715T", capture_id="3C679366HH908993F")
    first = Refund(order_id=order.id, payment_id=payment.id, amount_minor=1000, state="succeeded",
                   provider_refund_id="1JU08902781691411")
    second = Refund(order_id=order.id, payment_id=payment.id, amount_minor=2000, state="succeeded",
                    provider_refund_id="2KV19013892702522")
    pending = Refund(order_id=order.id, payment_id=payment.id, amount_minor=500, state="pending")
    db.session.add_all([first, second, pending])
    db.session.commit()
    add_invoice(order, 7)
    add_invoice(order, 8, "credit_note", first)
    add_invoice(order, 9, "credit_note", second)
    make_order(session, code="NOINVOICE", state="pending")

    rows = {row["code"]: row for row in read_csv(csrf_client.get("/admin/orders.csv").get_data(as_text=True))}

    assert {k: rows["PAIDPP"][k] for k in ("invoice_number", "credit_note_numbers", "payment_provider",
                                           "payment_capture_ids", "payment_order_ids", "refund_ids")} == {
        "invoice_number": "INV-00007",
        "credit_note_numbers": "INV-00008 INV-00009",
        "payment_provider": "paypal",
        "payment_capture_ids": "3C679366HH908993F",
        "payment_order_ids": "5O190127TN364715T",
        "refund_ids": "1JU08902781691411 2KV19013892702522",
    }
    assert (rows["NOINVOICE"]["invoice_number"], rows["NOINVOICE"]["payment_capture_ids"]) == ("", "")


def test_the_orders_export_has_the_vat_included_in_prices_and_the_vat_taken_off(csrf_client, admin):
    session = factories.make_session(factories.make_user(admin.organization, role="host"))
    make_order(session, code="INCLUDED", included_tax_minor=2000)
    deducted = make_order(session, code="DEDUCTED", subtotal=10000)
    deducted.tax_deducted_minor, deducted.total_minor = 2000, 8000  # a reverse-charge buyer's net price
    db.session.commit()

    rows = {row["code"]: row for row in read_csv(csrf_client.get("/admin/orders.csv").get_data(as_text=True))}

    assert [rows["INCLUDED"][k] for k in ("tax", "tax_included", "tax_deducted", "total")] == [
        "0.00", "20.00", "0.00", "100.00"]
    assert [rows["DEDUCTED"][k] for k in ("tax", "tax_included", "tax_deducted", "total")] == [
        "0.00", "0.00", "20.00", "80.00"]


def test_the_orders_export_takes_the_same_queries_for_many_orders_as_for_one(app, csrf_client, admin):
    session = factories.make_session(factories.make_user(admin.organization, role="host"))
    numbers = iter(range(1, 100))

    def sale():
        order = make_order(session)
        add_payment(order, provider_order_id=f"PO{order.id}", capture_id=f"CAP{order.id}")
        add_invoice(order, next(numbers))

    def statements_for_export():
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            response = csrf_client.get("/admin/orders.csv")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen), len(read_csv(response.get_data(as_text=True)))

    sale()
    with_one = statements_for_export()
    for _ in range(12):
        sale()
    with_thirteen = statements_for_export()

    assert with_one[1] == 1 and with_thirteen[1] == 13
    assert with_thirteen[0] == with_one[0]


@pytest.mark.parametrize("value", ["\nline", "\uff0bSUM(A1)", "\uff0d1", "\uff20SUM(A1)", "\r=1"])
def test_a_line_break_and_full_width_formula_signs_at_the_start_are_defused_too(value):
    from app.services.reports import csv_cell

    assert csv_cell(value) == "'" + value
