"""Sales reports: the site's orders (filtered, paged, exported) and revenue per session."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event

from app.extensions import db
from tests import factories
from tests.commerce_factories import make_order, make_registration, make_sale, switch_on


@pytest.fixture
def admin(csrf_client):
    organization = factories.make_organization(currency="SEK", timezone="Europe/Stockholm")
    user = factories.make_user(organization, role="admin")
    switch_on(organization)
    csrf_client.sign_in(user)
    return user


@pytest.fixture
def host(admin):
    return factories.make_user(admin.organization, role="host")


def at(*args):
    return datetime(*args, tzinfo=timezone.utc)


def read_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def order_codes(html):
    return [line.split("<code>")[1].split("</code>")[0] for line in html.splitlines()
            if '<th scope="row"><code>' in line]


@pytest.mark.parametrize("page", ["/admin/orders", "/admin/orders.csv", "/admin/revenue", "/admin/revenue.csv"])
@pytest.mark.parametrize("role", ["host", "member"])
def test_reports_are_closed_to_hosts_and_members(csrf_client, page, role):
    csrf_client.sign_in(factories.make_user(role=role))

    assert csrf_client.get(page).status_code == 403


# Orders ---------------------------------------------------------------------------------------


def test_orders_are_listed_newest_first_with_buyer_session_amounts_and_state(csrf_client, admin, host):
    session = factories.make_session(host, title="Excel for beginners")
    make_order(session, code="OLDER", state="paid", created_at=at(2026, 3, 1, 9))
    make_order(session, code="NEWER", state="partially_refunded", subtotal=49000, refunded=10050,
               buyer_name="Greta Garbo", buyer_email="greta@example.com", created_at=at(2026, 3, 2, 9))
    make_order(factories.make_session(), code="THEIRS")  # another organisation's

    response = csrf_client.get("/admin/orders")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert order_codes(html) == ["NEWER", "OLDER"]
    assert "Greta Garbo" in html and "greta@example.com" in html and "Excel for beginners" in html
    assert "SEK490.00" in html and "SEK100.50" in html
    assert "<td>Partly refunded</td>" in html and "<td>Paid</td>" in html
    assert "Monday, March 2, 2026" in html  # the `when` filter, in the reader's zone


def test_orders_are_filtered_by_state(csrf_client, admin, host):
    session = factories.make_session(host)
    make_order(session, code="PAID1", state="paid")
    make_order(session, code="WAITING", state="pending")
    make_order(session, code="REVIEW", state="review")

    html = csrf_client.get("/admin/orders?state=pending").get_data(as_text=True)

    assert order_codes(html) == ["WAITING"]
    assert "Awaiting payment" in html


def test_orders_are_filtered_by_session(csrf_client, admin, host):
    excel, word = factories.make_session(host), factories.make_session(host)
    make_order(excel, code="EXCEL1")
    make_order(word, code="WORD1")

    html = csrf_client.get(f"/admin/orders?session={word.id}").get_data(as_text=True)

    assert order_codes(html) == ["WORD1"]


def test_order_dates_are_days_in_the_organisations_time_zone(csrf_client, admin, host):
    session = factories.make_session(host)
    make_order(session, code="LATE", created_at=at(2026, 3, 1, 22, 30))  # 23:30 on 1 March in Stockholm
    make_order(session, code="EARLY", created_at=at(2026, 3, 1, 23, 30))  # 00:30 on 2 March
    make_order(session, code="NEXT", created_at=at(2026, 3, 2, 23, 30))  # 00:30 on 3 March

    march_2 = csrf_client.get("/admin/orders?date_from=2026-03-02&date_to=2026-03-02").get_data(as_text=True)
    until_1 = csrf_client.get("/admin/orders?date_to=2026-03-01").get_data(as_text=True)
    from_2 = csrf_client.get("/admin/orders?date_from=2026-03-02").get_data(as_text=True)

    assert order_codes(march_2) == ["EARLY"]
    assert order_codes(until_1) == ["LATE"]
    assert order_codes(from_2) == ["NEXT", "EARLY"]


@pytest.mark.parametrize("query,message", [
    ("date_from=2026-03-05&date_to=2026-03-01", "The last day cannot be before the first day."),
    ("date_from=yesterday", "Not a valid date value."),
    ("state=lost", "Not a valid choice."),
])
def test_bad_filters_answer_422_with_the_message_and_no_list(csrf_client, admin, host, query, message):
    make_order(factories.make_session(host), code="ANY1")

    response = csrf_client.get(f"/admin/orders?{query}")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert order_codes(html) == []


def test_filtering_over_htmx_returns_only_the_orders_section(csrf_client, admin, host):
    make_order(factories.make_session(host), code="ONLY1", state="paid")

    response = csrf_client.get("/admin/orders?state=paid", headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="orders"')
    assert "<html" not in html and "ONLY1" in html
    assert "HX-Request" in response.headers["Vary"]


def test_orders_come_fifty_to_a_page_and_the_pages_keep_the_filters(csrf_client, admin, host):
    session = factories.make_session(host)
    start = at(2026, 1, 1, 12)
    for n in range(51):
        make_order(session, code=f"P{n:03d}", state="paid", created_at=start + timedelta(hours=n))

    first = csrf_client.get("/admin/orders?state=paid").get_data(as_text=True)
    second = csrf_client.get("/admin/orders?state=paid&page=2").get_data(as_text=True)

    assert len(order_codes(first)) == 50 and order_codes(first)[0] == "P050"
    assert order_codes(second) == ["P000"]
    assert "51 orders" in first
    assert "/admin/orders?page=2&amp;state=paid" in first


def test_the_orders_page_loads_sessions_in_one_query_not_one_per_row(app, csrf_client, admin, host):
    def queries_for_orders_page():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert csrf_client.get("/admin/orders").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    make_order(factories.make_session(host))
    with_one = queries_for_orders_page()
    for _ in range(10):
        make_order(factories.make_session(host))
    with_eleven = queries_for_orders_page()

    assert with_eleven == with_one


def test_the_orders_export_has_exact_amounts_and_uses_the_same_filters(csrf_client, admin, host):
    session = factories.make_session(host, title="Excel")
    make_order(session, code="EXPORT1", state="partially_refunded", subtotal=49000, discount=9800,
               refunded=1, buyer_name="Ada", buyer_email="ada@example.com", created_at=at(2026, 3, 1, 8))
    make_order(session, code="SKIPPED", state="pending")
    make_order(organization=admin.organization, code="PPU1", purpose="pay_per_use", state="paid",
               currency="JPY", subtotal=1200, created_at=at(2026, 3, 1, 9))

    response = csrf_client.get("/admin/orders.csv?state=paid")
    filtered = read_csv(csrf_client.get("/admin/orders.csv?state=partially_refunded"))

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="orders-')
    assert [row["code"] for row in read_csv(response)] == ["PPU1"]
    assert read_csv(response)[0]["total"] == "1200" and read_csv(response)[0]["currency"] == "JPY"
    assert filtered == [{
        "code": "EXPORT1", "created": "2026-03-01T09:00:00+01:00", "buyer_name": "Ada",
        "buyer_email": "ada@example.com", "session": "Excel", "purpose": "registration",
        "state": "partially_refunded", "currency": "SEK", "subtotal": "490.00", "discount": "98.00",
        "tax": "0.00", "tax_included": "0.00", "tax_deducted": "0.00", "total": "392.00", "refunded": "0.01",
        "invoice_number": "", "credit_note_numbers": "", "payment_provider": "", "payment_capture_ids": "",
        "payment_order_ids": "", "refund_ids": "",
    }]


def test_the_orders_export_defuses_formula_cells(csrf_client, admin, host):
    make_order(factories.make_session(host), buyer_name="=cmd|' /C calc'!A0", buyer_email="@evil.example")

    [row] = read_csv(csrf_client.get("/admin/orders.csv"))

    assert row["buyer_name"] == "'=cmd|' /C calc'!A0"
    assert row["buyer_email"] == "'@evil.example"


def test_the_export_link_carries_the_filters(csrf_client, admin, host):
    html = csrf_client.get("/admin/orders?state=paid&date_from=2026-03-01").get_data(as_text=True)

    assert "/admin/orders.csv?state=paid&amp;date_from=2026-03-01" in html


# Revenue --------------------------------------------------------------------------------------


def test_revenue_adds_up_paid_orders_refunds_and_seats_per_session(csrf_client, admin, host):
    excel = factories.make_session(host, title="Excel", starts_at=at(2026, 5, 2, 8))
    factories.make_session(host, title="Quiet session", starts_at=at(2026, 5, 1, 8))
    make_sale(excel, state="paid", subtotal=10000)
    make_sale(excel, state="paid", subtotal=10000, discount=2000)
    make_sale(excel, state="partially_refunded", subtotal=10000, refunded=2500)
    make_sale(excel, state="refunded", subtotal=5000, refunded=5000, registration_state="refunded")
    make_sale(excel, state="pending", subtotal=9999, registration_state="held")
    make_sale(excel, state="expired", subtotal=9999, registration_state="expired")
    make_order(excel, state="paid", purpose="pay_per_use", subtotal=77700)  # the host's fee, not a sale
    make_sale(factories.make_session(title="Not ours"), state="paid", subtotal=12345)

    response = csrf_client.get("/admin/revenue")
    rows = read_csv(csrf_client.get("/admin/revenue.csv"))

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Not ours" not in html
    assert [(r["session"], r["currency"], r["seats_sold"], r["orders_paid"], r["gross"], r["refunded"], r["net"])
            for r in rows] == [
        ("Excel", "SEK", "3", "4", "330.00", "75.00", "255.00"),
        ("Quiet session", "SEK", "0", "0", "0.00", "0.00", "0.00"),
    ]
    assert "SEK330.00" in html and "SEK75.00" in html and "SEK255.00" in html
    assert "Total in SEK" in html


def test_revenue_is_kept_apart_per_currency(csrf_client, admin, host):
    session = factories.make_session(host, title="Bilingual")
    make_sale(session, state="paid", subtotal=4950, currency="EUR")
    make_sale(session, state="paid", subtotal=4950, currency="EUR")
    make_sale(session, state="paid", subtotal=50000, currency="SEK")

    rows = read_csv(csrf_client.get("/admin/revenue.csv"))
    html = csrf_client.get("/admin/revenue").get_data(as_text=True)

    assert [(r["currency"], r["seats_sold"], r["gross"]) for r in rows] == [
        ("EUR", "2", "99.00"), ("SEK", "1", "500.00")]
    assert "Total in EUR" in html and "Total in SEK" in html
    assert "€99.00" in html


def test_a_seat_counts_once_even_when_its_order_was_partly_refunded(csrf_client, admin, host):
    session = factories.make_session(host, title="Once")
    order = make_order(session, state="partially_refunded", subtotal=10000, refunded=100)
    make_registration(order, state="confirmed")

    [row] = read_csv(csrf_client.get("/admin/revenue.csv"))

    assert (row["seats_sold"], row["orders_paid"], row["net"]) == ("1", "1", "99.00")
