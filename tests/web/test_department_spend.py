"""Pay-per-use spend per department and host, for a range of days in the site's time zone."""

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import SessionCost
from app.models.base import utcnow
from tests import factories
from tests.commerce_factories import make_order, switch_on

MARCH = "/admin/spend?date_from=2026-03-01&date_to=2026-03-31"


@pytest.fixture
def admin(csrf_client):
    organization = factories.make_organization(currency="SEK", timezone="Europe/Stockholm")
    user = factories.make_user(organization, role="admin")
    switch_on(organization, pay_per_use=True)
    csrf_client.sign_in(user)
    return user


def at(*args):
    return datetime(*args, tzinfo=timezone.utc)


def host_in(organization, name, department=None):
    return factories.make_user(organization, role="host", name=name, department=department)


def paid_estimate(host, paid_at, due, refunded=0, currency="SEK", session=None, already=0,
                  state="paid"):
    """An estimate the host paid `due` for (an order), as the checkout leaves it."""
    session = session or factories.make_session(host, currency=currency)
    order = make_order(session, purpose="pay_per_use", state="partially_refunded" if refunded else "paid",
                       subtotal=due, refunded=refunded, currency=currency) if due else None
    cost = SessionCost(
        session_id=session.id, host_id=host.id, department_id=host.department_id, duration_min=60,
        computers=10, teleconference_computers=0, person_rate=Decimal("1"), teleconference_rate=Decimal("0"),
        minimum_minor=0, currency=currency, total_minor=already + due, already_paid_minor=already,
        order_id=order.id if order else None, state=state, paid_at=paid_at,
    )
    db.session.add(cost)
    db.session.commit()
    return cost


@pytest.fixture
def march(admin):
    """Spend of four hosts in two departments (and none) in March 2026, plus noise around it."""
    organization = admin.organization
    finance = factories.make_department(organization, "Finance")
    sales = factories.make_department(organization, "Sales")
    anna = host_in(organization, "Anna", finance)
    bo = host_in(organization, "Bo", finance)
    cy = host_in(organization, "Cy", sales)
    dee = host_in(organization, "Dee")
    # Anna: one session estimated twice (paid 600, then 400 more), settled with 300 back
    first = paid_estimate(anna, at(2026, 3, 2, 9), 600, state="settled")
    paid_estimate(anna, at(2026, 3, 3, 9), 400, refunded=300, session=first.session, already=600,
                  state="settled")
    # Anna again: paid at 00:30 on 1 March in Stockholm (still 28 February in UTC)
    paid_estimate(anna, at(2026, 2, 28, 23, 30), 250)
    bo_cost = paid_estimate(bo, at(2026, 3, 15, 12), 1000)
    paid_estimate(bo, at(2026, 3, 16, 12), 700, currency="EUR")
    paid_estimate(cy, at(2026, 3, 31, 21, 30), 2000, refunded=500)  # 23:30 on 31 March locally
    paid_estimate(dee, at(2026, 3, 10, 8), 90)
    # Outside the range: 00:30 on 1 April in Stockholm, and February
    paid_estimate(cy, at(2026, 3, 31, 22, 30), 5000)
    paid_estimate(dee, at(2026, 2, 27, 8), 5000)
    # Lowered after paying: nothing due, so it adds nothing (and no negative amount)
    paid_estimate(bo, at(2026, 3, 20, 8), 0, session=bo_cost.session, already=1000)
    # Another organisation's host in the same days
    paid_estimate(factories.make_user(role="host", name="Stranger"), at(2026, 3, 5, 9), 9999)
    return dict(finance=finance, sales=sales)


def spend_rows(html):
    """(first cell, host or total, sessions, paid, refunded, net) of each body row."""
    table = html[html.index('<table id="spend">'):html.index("</table>")]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        rows.append(cells)
    return rows


def test_spend_is_summed_per_department_and_host_for_the_days_in_the_sites_time_zone(csrf_client, march):
    html = csrf_client.get(MARCH + "&lang=en").get_data(as_text=True)

    assert spend_rows(html) == [
        ["Finance", "Anna", "2", "SEK12.50", "SEK3.00", "SEK9.50"],
        ["Finance", "Bo", "1", "€7.00", "€0.00", "€7.00"],
        ["Finance", "Bo", "1", "SEK10.00", "SEK0.00", "SEK10.00"],
        ["Total for Finance in EUR", "1", "€7.00", "€0.00", "€7.00"],
        ["Total for Finance in SEK", "3", "SEK22.50", "SEK3.00", "SEK19.50"],
        ["Sales", "Cy", "1", "SEK20.00", "SEK5.00", "SEK15.00"],
        ["Total for Sales in SEK", "1", "SEK20.00", "SEK5.00", "SEK15.00"],
        ["No department", "Dee", "1", "SEK0.90", "SEK0.00", "SEK0.90"],
        ["Total for No department in SEK", "1", "SEK0.90", "SEK0.00", "SEK0.90"],
        ["Total in EUR", "1", "€7.00", "€0.00", "€7.00"],
        ["Total in SEK", "5", "SEK43.40", "SEK8.00", "SEK35.40"],
    ]
    assert "Stranger" not in html


def test_the_csv_export_has_the_same_rows_with_exact_amounts_and_currency(csrf_client, march):
    response = csrf_client.get(MARCH.replace("/admin/spend", "/admin/spend.csv"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="pay-per-use-spend-2026-03-01-2026-03-31.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["department"], r["host"], r["currency"], r["sessions"], r["paid"], r["refunded"], r["net"])
            for r in rows] == [
        ("Finance", "Anna", "SEK", "2", "12.50", "3.00", "9.50"),
        ("Finance", "Bo", "EUR", "1", "7.00", "0.00", "7.00"),
        ("Finance", "Bo", "SEK", "1", "10.00", "0.00", "10.00"),
        ("Sales", "Cy", "SEK", "1", "20.00", "5.00", "15.00"),
        ("", "Dee", "SEK", "1", "0.90", "0.00", "0.90"),
    ]


def test_the_export_link_keeps_the_chosen_days(csrf_client, march):
    html = csrf_client.get(MARCH).get_data(as_text=True)

    assert 'href="/admin/spend.csv?date_from=2026-03-01&amp;date_to=2026-03-31"' in html


def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(csrf_client, admin):
    department = factories.make_department(admin.organization, "@SUM(A1)")
    paid_estimate(host_in(admin.organization, "=HYPERLINK(\"http://evil.example\")", department),
                  at(2026, 3, 5, 9), 100)

    text = csrf_client.get("/admin/spend.csv?date_from=2026-03-01&date_to=2026-03-31").get_data(as_text=True)

    row = list(csv.reader(io.StringIO(text)))[1]
    assert row[0] == "'@SUM(A1)" and row[1].startswith("'=HYPERLINK")


def test_without_days_the_current_month_in_the_sites_time_zone_is_shown(csrf_client, admin):
    host = host_in(admin.organization, "Anna")
    paid_estimate(host, utcnow(), 123)
    paid_estimate(host, utcnow() - timedelta(days=40), 4000)

    html = csrf_client.get("/admin/spend?lang=en").get_data(as_text=True)

    assert spend_rows(html)[0] == ["No department", "Anna", "1", "SEK1.23", "SEK0.00", "SEK1.23"]
    assert re.search(r'name="date_from"[^>]*value="\d{4}-\d{2}-01"', html)


@pytest.mark.parametrize("page", ["/admin/spend", "/admin/spend.csv"])
def test_a_last_day_before_the_first_is_refused(csrf_client, admin, page):
    response = csrf_client.get(f"{page}?date_from=2026-03-31&date_to=2026-03-01&lang=en")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The last day cannot be before the first day." in html
    assert re.search(r'name="date_to"[^>]*value="2026-03-01"', html)
    assert '<table id="spend">' not in html


def test_a_day_that_is_not_a_date_is_refused(csrf_client, admin):
    response = csrf_client.get("/admin/spend?date_from=March&lang=en")

    assert response.status_code == 422
    assert "Not a valid date value." in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["/admin/spend", "/admin/spend.csv"])
@pytest.mark.parametrize("role", ["host", "member"])
def test_the_spend_report_is_for_administrators_only(csrf_client, page, role):
    csrf_client.sign_in(factories.make_user(role=role))

    assert csrf_client.get(page).status_code == 403


def test_the_admin_menu_links_the_report_only_with_pay_per_use_on(csrf_client, admin):
    assert 'href="/admin/spend"' in csrf_client.get("/admin/people").get_data(as_text=True)

    switch_on(admin.organization, pay_per_use=False)

    assert 'href="/admin/spend"' not in csrf_client.get("/admin/people").get_data(as_text=True)


def test_two_hosts_with_the_same_name_keep_their_own_rows(csrf_client, admin):
    paid_estimate(host_in(admin.organization, "Alex"), at(2026, 3, 5, 9), 100)
    paid_estimate(host_in(admin.organization, "Alex"), at(2026, 3, 6, 9), 200)

    html = csrf_client.get(MARCH + "&lang=en").get_data(as_text=True)

    assert spend_rows(html)[:2] == [["No department", "Alex", "1", "SEK1.00", "SEK0.00", "SEK1.00"],
                                    ["No department", "Alex", "1", "SEK2.00", "SEK0.00", "SEK2.00"]]
