"""Coupons in the administration: only while switched on, created, disabled, generated, exported."""

import csv
import io
import re
from datetime import datetime, timezone

import pytest

from app.extensions import db
from app.models import Coupon
from app.services.coupons import CODE_ALPHABET
from tests import factories
from tests.commerce_factories import make_coupon, switch_on

PERCENT = {"code": "", "kind": "percent", "value": "20", "max_uses": "", "valid_from": "",
           "valid_until": "", "session_id": ""}


@pytest.fixture
def admin(csrf_client):
    user = factories.make_user(role="admin", organization=factories.make_organization(currency="SEK"))
    switch_on(user.organization, coupons=True)
    csrf_client.sign_in(user)
    return user


def coupons_of(organization):
    db.session.expire_all()
    return db.session.query(Coupon).filter_by(organization_id=organization.id).order_by(Coupon.id).all()


def read_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


# Who may use the pages ------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{}, {"coupons": False}, {"enabled": False, "coupons": True}])
def test_coupon_pages_do_not_exist_while_coupons_are_off(csrf_client, settings):
    admin = factories.make_user(role="admin")
    if settings:
        switch_on(admin.organization, **settings)
    coupon = make_coupon(admin.organization, code="SPRING")
    csrf_client.sign_in(admin)

    statuses = [csrf_client.get(url).status_code
                for url in ("/admin/coupons", "/admin/coupons/generate", "/admin/coupons.csv")]
    toggled = csrf_client.post(f"/admin/coupons/{coupon.id}/active", {"active": "0"}, page="/admin/people")
    created = csrf_client.post("/admin/coupons", dict(PERCENT, code="NEW"), page="/admin/people")

    assert statuses == [404, 404, 404]
    assert (toggled.status_code, created.status_code) == (404, 404)
    assert [c.code for c in coupons_of(admin.organization)] == ["SPRING"]
    assert coupons_of(admin.organization)[0].active
    assert 'href="/admin/coupons"' not in csrf_client.get("/admin/people").get_data(as_text=True)


@pytest.mark.parametrize("role", ["host", "member"])
def test_coupon_pages_are_closed_to_hosts_and_members(csrf_client, role):
    organization = factories.make_organization()
    switch_on(organization, coupons=True)
    csrf_client.sign_in(factories.make_user(organization, role=role))

    assert csrf_client.get("/admin/coupons").status_code == 403
    assert csrf_client.get("/admin/coupons.csv").status_code == 403
    assert csrf_client.post("/admin/coupons", dict(PERCENT, code="MINE"), page="/").status_code == 403
    assert coupons_of(organization) == []


def test_another_organisations_coupon_is_not_found(csrf_client, admin):
    other = factories.make_organization()
    switch_on(other, coupons=True)
    theirs = make_coupon(other, code="THEIRS")

    response = csrf_client.post(f"/admin/coupons/{theirs.id}/active", {"active": "0"}, page="/admin/coupons")

    assert response.status_code == 404
    db.session.refresh(theirs)
    assert theirs.active
    assert "THEIRS" not in csrf_client.get("/admin/coupons").get_data(as_text=True)
    assert "THEIRS" not in csrf_client.get("/admin/coupons.csv").get_data(as_text=True)


# Creating -------------------------------------------------------------------------------------


def test_admin_creates_a_percent_coupon_whose_code_is_stored_upper_case(csrf_client, admin):
    response = csrf_client.post("/admin/coupons", dict(PERCENT, code="  spring-20 ", max_uses="10"))

    assert response.status_code == 302
    [coupon] = coupons_of(admin.organization)
    assert (coupon.code, coupon.kind, coupon.value, coupon.currency) == ("SPRING-20", "percent", 20, None)
    assert (coupon.max_uses, coupon.used_count, coupon.active) == (10, 0, True)
    page = csrf_client.get("/admin/coupons").get_data(as_text=True)
    assert "The coupon SPRING-20 has been created." in page
    assert "20%" in page and "0 / 10" in page


def test_a_fixed_amount_is_typed_in_the_site_currency_and_stored_exactly(csrf_client, admin):
    response = csrf_client.post("/admin/coupons", dict(PERCENT, code="FIFTY", kind="fixed", value="49.50"))

    assert response.status_code == 302
    [coupon] = coupons_of(admin.organization)
    assert (coupon.kind, coupon.value, coupon.currency) == ("fixed", 4950, "SEK")
    page = csrf_client.get("/admin/coupons").get_data(as_text=True)
    assert "SEK49.50" in page and "0 / unlimited" in page


def test_fields_left_out_of_the_form_mean_no_limit(csrf_client, admin):
    response = csrf_client.post("/admin/coupons", {"code": "PLAIN", "value": "5"})

    assert response.status_code == 302
    [coupon] = coupons_of(admin.organization)
    assert (coupon.kind, coupon.value, coupon.max_uses, coupon.session_id) == ("percent", 5, None, None)
    assert (coupon.valid_from, coupon.valid_until) == (None, None)


def test_a_decimal_comma_is_understood(csrf_client, admin):
    csrf_client.post("/admin/coupons", dict(PERCENT, code="KOMMA", kind="fixed", value="12,5"))

    assert coupons_of(admin.organization)[0].value == 1250


def test_a_free_coupon_needs_no_value(csrf_client, admin):
    response = csrf_client.post("/admin/coupons", dict(PERCENT, code="GRATIS", kind="free", value=""))

    assert response.status_code == 302
    [coupon] = coupons_of(admin.organization)
    assert (coupon.kind, coupon.value) == ("free", 0)
    assert "Free" in csrf_client.get("/admin/coupons").get_data(as_text=True)


def test_an_empty_code_gets_a_random_readable_one(csrf_client, admin):
    csrf_client.post("/admin/coupons", PERCENT)

    [coupon] = coupons_of(admin.organization)
    assert len(coupon.code) == 10
    assert set(coupon.code) <= set(CODE_ALPHABET)
    assert not set(coupon.code) & set("0O1I")


def test_a_duplicate_code_is_refused_whatever_its_case(csrf_client, admin):
    make_coupon(admin.organization, code="SUMMER")

    response = csrf_client.post("/admin/coupons", dict(PERCENT, code="summer", value="15"))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="code-error"' in html and "A coupon with this code already exists." in html
    assert 'value="summer"' in html and 'value="15"' in html
    assert len(coupons_of(admin.organization)) == 1


def test_the_same_code_may_exist_in_another_organisation(csrf_client, admin):
    make_coupon(factories.make_organization(), code="SUMMER")

    response = csrf_client.post("/admin/coupons", dict(PERCENT, code="summer"))

    assert response.status_code == 302


@pytest.mark.parametrize("fields,field,message", [
    ({"kind": "fixed", "value": "49.505"}, "value", "Use at most 2 decimal places."),
    ({"kind": "fixed", "value": "0"}, "value", "Enter an amount greater than zero."),
    ({"kind": "fixed", "value": "-5"}, "value", "Enter an amount such as 50 or 49.50."),
    ({"kind": "fixed", "value": "1e3"}, "value", "Enter an amount such as 50 or 49.50."),
    ({"kind": "percent", "value": "101"}, "value", "Enter a whole percentage from 1 to 100."),
    ({"kind": "percent", "value": "12.5"}, "value", "Enter a whole percentage from 1 to 100."),
    ({"kind": "percent", "value": ""}, "value", "Enter a whole percentage from 1 to 100."),
    ({"kind": "bogus"}, "kind", "Not a valid choice."),
    ({"code": "A B C"}, "code", "Use 3 to 40 letters A–Z, digits, hyphens or underscores"),
    ({"code": "AB"}, "code", "Use 3 to 40 letters A–Z, digits, hyphens or underscores"),
    ({"max_uses": "0"}, "max_uses", "Enter a number from 1 to 1000000."),
    ({"max_uses": "many"}, "max_uses", "Not a valid integer value."),
    ({"valid_from": "2026-13-01"}, "valid_from", "Not a valid date value."),
    ({"valid_from": "2026-06-10", "valid_until": "2026-06-09"}, "valid_until",
     "The last day cannot be before the first day."),
])
def test_rule_breaks_are_refused_on_their_field_and_change_nothing(csrf_client, admin, fields, field, message):
    response = csrf_client.post("/admin/coupons", {**PERCENT, "code": "TYPED", **fields})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html
    assert message in html
    assert coupons_of(admin.organization) == []


def test_too_many_decimals_for_a_currency_without_decimals_are_refused(csrf_client):
    admin = factories.make_user(role="admin", organization=factories.make_organization(currency="JPY"))
    switch_on(admin.organization, coupons=True)
    csrf_client.sign_in(admin)

    refused = csrf_client.post("/admin/coupons", dict(PERCENT, code="YEN", kind="fixed", value="500.5"))
    accepted = csrf_client.post("/admin/coupons", dict(PERCENT, code="YEN", kind="fixed", value="500"))

    assert refused.status_code == 422
    assert "Enter a whole amount: JPY has no decimals." in refused.get_data(as_text=True)
    assert accepted.status_code == 302
    assert [(c.value, c.currency) for c in coupons_of(admin.organization)] == [(500, "JPY")]


def test_validity_days_are_whole_days_in_the_organisations_time_zone(csrf_client, admin):
    admin.organization.timezone = "Europe/Stockholm"
    db.session.commit()

    csrf_client.post("/admin/coupons", dict(PERCENT, code="JUNE", valid_from="2026-06-01",
                                            valid_until="2026-06-30"))

    [coupon] = coupons_of(admin.organization)
    assert coupon.valid_from == datetime(2026, 5, 31, 22, 0, tzinfo=timezone.utc)
    assert coupon.valid_until == datetime(2026, 6, 30, 21, 59, 59, 999999, tzinfo=timezone.utc)


def test_a_coupon_can_be_limited_to_one_of_the_sites_sessions_only(csrf_client, admin):
    host = factories.make_user(admin.organization, role="host")
    ours = factories.make_session(host, title="Excel for beginners")
    theirs = factories.make_session(title="Someone else's course")

    accepted = csrf_client.post("/admin/coupons", dict(PERCENT, code="EXCEL", session_id=str(ours.id)))
    refused = csrf_client.post("/admin/coupons", dict(PERCENT, code="OTHER", session_id=str(theirs.id)))

    assert accepted.status_code == 302
    assert refused.status_code == 422
    assert "Someone else" not in refused.get_data(as_text=True)
    assert [(c.code, c.session_id) for c in coupons_of(admin.organization)] == [("EXCEL", ours.id)]
    assert "Excel for beginners" in csrf_client.get("/admin/coupons").get_data(as_text=True)


# Disabling ------------------------------------------------------------------------------------


def test_disabling_over_htmx_swaps_only_that_row(csrf_client, admin):
    coupon = make_coupon(admin.organization, code="SPRING")
    make_coupon(admin.organization, code="OTHER")

    response = csrf_client.htmx_post(f"/admin/coupons/{coupon.id}/active", {"active": "0"}, page="/admin/coupons")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="coupon-{coupon.id}">')
    assert "<html" not in html and "OTHER" not in html
    assert "Disabled" in html and 'name="active" value="1"' in html
    assert "HX-Request" in response.headers["Vary"]
    assert [c.active for c in coupons_of(admin.organization)] == [False, True]


def test_without_javascript_disabling_and_enabling_redirect_back_to_the_list(csrf_client, admin):
    coupon = make_coupon(admin.organization, code="SPRING")

    disabled = csrf_client.post(f"/admin/coupons/{coupon.id}/active", {"active": "0"}, page="/admin/coupons")
    page = csrf_client.get("/admin/coupons").get_data(as_text=True)
    enabled = csrf_client.post(f"/admin/coupons/{coupon.id}/active", {"active": "1"}, page="/admin/coupons")

    assert disabled.status_code == enabled.status_code == 302
    assert disabled.headers["Location"] == "/admin/coupons"
    assert "The coupon SPRING has been disabled." in page
    assert coupons_of(admin.organization)[0].active


def test_a_state_other_than_on_or_off_is_a_bad_request(csrf_client, admin):
    coupon = make_coupon(admin.organization, code="SPRING")

    response = csrf_client.post(f"/admin/coupons/{coupon.id}/active", {"active": "maybe"}, page="/admin/coupons")

    assert response.status_code == 400
    assert coupons_of(admin.organization)[0].active


# Bulk generation and export -------------------------------------------------------------------

BULK = {"count": "25", "prefix": "spring-", "kind": "percent", "value": "10", "valid_from": "",
        "valid_until": "", "session_id": ""}


def test_bulk_generation_makes_unique_one_use_codes_and_returns_them_as_csv(csrf_client, admin):
    make_coupon(admin.organization, code="EXISTING")

    response = csrf_client.post("/admin/coupons/generate", BULK)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="coupons-generated-')
    rows = read_csv(response)
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)) == 25
    assert all(re.fullmatch(r"SPRING-[A-HJ-NP-Z2-9]{10}", code) for code in codes)
    assert {(row["kind"], row["value"], row["max_uses"], row["used_count"]) for row in rows} == {
        ("percent", "10", "1", "0")}
    made = [c for c in coupons_of(admin.organization) if c.code != "EXISTING"]
    assert sorted(c.code for c in made) == sorted(codes)
    assert {c.max_uses for c in made} == {1}
    assert "25 coupon codes have been generated." in csrf_client.get("/admin/coupons").get_data(as_text=True)


@pytest.mark.parametrize("fields,message", [
    ({"count": "1001"}, "Enter a number from 1 to 1000."),
    ({"count": "0"}, "Enter a number from 1 to 1000."),
    ({"prefix": "no spaces"}, "Use at most 20 letters A–Z, digits, hyphens or underscores"),
    ({"kind": "fixed", "value": "9.999"}, "Use at most 2 decimal places."),
])
def test_bulk_generation_refuses_bad_input_and_makes_nothing(csrf_client, admin, fields, message):
    response = csrf_client.post("/admin/coupons/generate", dict(BULK, **fields))

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'value="spring-"' in html or "prefix" in fields
    assert coupons_of(admin.organization) == []


def test_the_export_lists_every_coupon_with_exact_values(csrf_client, admin):
    admin.organization.timezone = "Europe/Stockholm"
    db.session.commit()
    session = factories.make_session(factories.make_user(admin.organization, role="host"), title="Excel")
    make_coupon(admin.organization, code="FIXED", kind="fixed", value=4950, max_uses=10, used_count=3,
                session_id=session.id, valid_from=datetime(2026, 5, 31, 22, 0, tzinfo=timezone.utc))
    make_coupon(admin.organization, code="PCT", kind="percent", value=20, active=False)
    make_coupon(admin.organization, code="GRATIS", kind="free", value=0)

    response = csrf_client.get("/admin/coupons.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="coupons-')
    rows = {row["code"]: row for row in read_csv(response)}
    assert list(read_csv(response)[0]) == ["code", "kind", "value", "currency", "max_uses", "used_count",
                                           "valid_from", "valid_until", "session", "active"]
    assert rows["FIXED"] == {
        "code": "FIXED", "kind": "fixed", "value": "49.50", "currency": "SEK", "max_uses": "10",
        "used_count": "3", "valid_from": "2026-06-01T00:00:00+02:00", "valid_until": "",
        "session": "Excel", "active": "true",
    }
    assert (rows["PCT"]["value"], rows["PCT"]["max_uses"], rows["PCT"]["active"]) == ("20", "", "false")
    assert (rows["GRATIS"]["kind"], rows["GRATIS"]["value"]) == ("free", "")


def test_the_export_defuses_cells_a_spreadsheet_would_run_as_formulas(csrf_client, admin):
    host = factories.make_user(admin.organization, role="host")
    for title in ('=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)"):
        session = factories.make_session(host, title=title)
        make_coupon(admin.organization, session_id=session.id)

    sessions = sorted(row["session"] for row in read_csv(csrf_client.get("/admin/coupons.csv")))

    assert sessions == sorted(["'=HYPERLINK(\"http://evil.example\")", "'+1+1", "'-2+3", "'@SUM(A1)"])


def test_the_list_shows_fifty_coupons_a_page(csrf_client, admin):
    for n in range(51):
        make_coupon(admin.organization, code=f"C{n:03d}")

    first = csrf_client.get("/admin/coupons").get_data(as_text=True)
    second = csrf_client.get("/admin/coupons?page=2").get_data(as_text=True)

    assert first.count('<tr id="coupon-') == 50
    assert second.count('<tr id="coupon-') == 1 and "C000" in second
    assert 'href="/admin/coupons?page=2"' in first
