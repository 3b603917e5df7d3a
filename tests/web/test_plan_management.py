"""The operator's pages under /plans/manage: plans, features, add-ons, legal pages,
subscriptions with their bank-transfer invoices, sales requests; and the public legal pages."""

import csv
import io
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AddOn, Feature, LegalPage, Organization, Plan, SalesRequest, User
from app.services import accounts, demo, plan_admin
from tests import factories
from tests.plan_factories import make_add_on, make_invoice, make_plan
from tests.subscription_factories import make_subscription, mails

PLAN = {"code": "business", "name": "Business", "summary": "For teams.", "currency": "EUR",
        "monthly_price": "25", "annual_price": "250.00", "position": "2"}
ADD_ON = {"code": "callback", "name": "Callback", "summary": "", "currency": "EUR",
          "monthly_price": "9", "annual_price": "90", "position": "1"}
MANAGE_PAGES = ("/plans/manage/plans", "/plans/manage/plans/new", "/plans/manage/features",
                "/plans/manage/add-ons", "/plans/manage/add-ons/new", "/plans/manage/legal",
                "/plans/manage/legal/terms", "/plans/manage/subscriptions",
                "/plans/manage/sales-requests", "/plans/manage/sales-requests.csv")


@pytest.fixture
def operator(csrf_client):
    organization = factories.make_organization(is_operator=True, currency="EUR", timezone="Europe/Stockholm")
    user = factories.make_user(organization, role="admin")
    csrf_client.sign_in(user)
    return user


def text(response):
    return response.get_data(as_text=True)


def plans():
    db.session.expire_all()
    return db.session.scalars(select(Plan).order_by(Plan.id)).all()


# Who may use the pages ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client):
    plan = make_plan()

    for url in MANAGE_PAGES + (f"/plans/manage/plans/{plan.id}",):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/auth/sign-in?next="), url


@pytest.mark.parametrize("is_operator,role", [(False, "admin"), (True, "host"), (True, "member")])
def test_only_the_operators_administrators_may_manage_plans(csrf_client, is_operator, role):
    organization = factories.make_organization(is_operator=is_operator)
    plan = make_plan(code="starter", name="Starter")
    csrf_client.sign_in(factories.make_user(organization, role=role))

    statuses = {url: csrf_client.get(url).status_code for url in MANAGE_PAGES}
    created = csrf_client.post("/plans/manage/plans/new", PLAN, page="/")
    edited = csrf_client.post(f"/plans/manage/plans/{plan.id}", dict(PLAN, code="starter"), page="/")
    legal = csrf_client.post("/plans/manage/legal/terms", {"body": "Mine"}, page="/")

    assert set(statuses.values()) == {403}
    assert (created.status_code, edited.status_code, legal.status_code) == (403, 403, 403)
    assert [(p.code, p.name) for p in plans()] == [("starter", "Starter")]
    assert db.session.scalars(select(LegalPage)).all() == []


def test_the_manage_address_leads_to_the_plans(csrf_client, operator):
    response = csrf_client.get("/plans/manage")

    assert response.status_code == 302 and response.headers["Location"] == "/plans/manage/plans"


# Plans -------------------------------------------------------------------------------------------


def test_an_operator_creates_a_plan_then_chooses_its_features(csrf_client, operator):
    response = csrf_client.post("/plans/manage/plans/new", PLAN)

    [plan] = plans()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/plans/manage/plans/{plan.id}"
    assert (plan.code, plan.name, plan.summary, plan.currency) == ("business", "Business", "For teams.", "EUR")
    assert (plan.monthly_price_minor, plan.annual_price_minor) == (2500, 25000)
    assert (plan.position, plan.retired) == (2, False)
    page = text(csrf_client.get(response.headers["Location"]))
    assert "The plan Business has been created." in page and 'value="25.00"' in page


def test_the_new_plan_form_starts_in_the_operators_currency_after_the_last_plan(csrf_client, operator):
    make_plan(position=7)

    page = text(csrf_client.get("/plans/manage/plans/new"))

    assert '<option selected value="EUR">' in page
    assert re.search(r'<input[^>]* id="position"[^>]* value="8"', page)


@pytest.mark.parametrize("changes,message", [
    ({"monthly_price": "-5"}, "Enter an amount such as 50 or 49.50."),
    ({"annual_price": "12.345"}, "Use at most 2 decimal places."),
    ({"code": "Not a code!"}, "Use up to 40 lower-case letters a–z, digits and hyphens"),
    ({"name": ""}, "This field is required."),
    ({"currency": "XYZ"}, "Not a valid choice."),
    ({"position": "-1"}, "Enter a number from 0 to 10000."),
])
def test_bad_plan_input_comes_back_with_its_error_and_the_input_kept(csrf_client, operator, changes, message):
    response = csrf_client.post("/plans/manage/plans/new", dict(PLAN, summary="Kept summary", **changes))

    page = text(response)
    assert response.status_code == 422
    assert message in page
    assert "Kept summary" in page
    assert ('value="Business"' in page) == (changes.get("name") != "")
    for price in ("monthly_price", "annual_price"):
        assert f'value="{changes.get(price, PLAN[price])}"' in page
    assert plans() == []


def test_a_taken_plan_code_is_an_error_on_the_code(csrf_client, operator):
    make_plan(code="business")

    response = csrf_client.post("/plans/manage/plans/new", PLAN)

    assert response.status_code == 422
    assert 'id="code-error"' in text(response) and "A plan with this code already exists." in text(response)
    assert len(plans()) == 1


def test_an_operator_edits_and_retires_a_plan_and_it_stays_listed(csrf_client, operator):
    plan = make_plan(code="starter", name="Starter", monthly=1200, annual=12000)

    form = text(csrf_client.get(f"/plans/manage/plans/{plan.id}"))
    response = csrf_client.post(f"/plans/manage/plans/{plan.id}",
                                dict(PLAN, code="starter", name="Starter", monthly_price="13,50", retired="y"))

    [saved] = plans()
    assert 'value="12.00"' in form and 'value="120.00"' in form
    assert response.status_code == 302 and response.headers["Location"] == "/plans/manage/plans"
    assert (saved.monthly_price_minor, saved.retired) == (1350, True)
    listing = text(csrf_client.get("/plans/manage/plans"))
    assert "Starter" in listing and "Retired" in listing and "€13.50" in listing


def test_a_bad_edit_keeps_the_input_and_changes_nothing(csrf_client, operator):
    plan = make_plan(code="starter", name="Starter", monthly=1200)

    response = csrf_client.post(f"/plans/manage/plans/{plan.id}",
                                dict(PLAN, code="starter", name="Renamed", monthly_price="lots"))

    assert response.status_code == 422
    assert 'value="Renamed"' in text(response) and 'value="lots"' in text(response)
    assert (plans()[0].name, plans()[0].monthly_price_minor) == ("Starter", 1200)


def test_an_operator_sets_a_plans_features(csrf_client, operator):
    plan = make_plan(features=[("Cloud recording", "10 GB"), ("Single sign-on", "")])
    recording, sso = plan_admin.all_features()
    dial_in = plan_admin.create_feature("Toll-free dial-in numbers", 3)
    page = text(csrf_client.get(f"/plans/manage/plans/{plan.id}"))

    response = csrf_client.post(f"/plans/manage/plans/{plan.id}/features", {
        "offers-0-feature_id": recording.id, "offers-0-value": "",
        "offers-1-feature_id": sso.id, "offers-1-value": "SAML", "offers-1-included": "y",
        "offers-2-feature_id": dial_in.id, "offers-2-included": "y", "offers-2-value": " ",
    })

    db.session.expire_all()
    assert 'value="10 GB"' in page and "Toll-free dial-in numbers" in page
    assert response.status_code == 302
    assert plan_admin.plan_offers(plan) == {sso.id: "SAML", dial_in.id: ""}


def test_a_too_long_feature_text_comes_back_with_the_input_kept(csrf_client, operator):
    plan = make_plan(features=[("Cloud recording", "10 GB")])
    [recording] = plan_admin.all_features()

    response = csrf_client.post(f"/plans/manage/plans/{plan.id}/features", {
        "offers-0-feature_id": recording.id, "offers-0-value": "x" * 81,
    })

    assert response.status_code == 422
    assert "Enter at most 80 characters." in text(response) and "x" * 81 in text(response)
    assert plan_admin.plan_offers(plan) == {recording.id: "10 GB"}


def test_a_plan_nobody_bought_can_be_deleted_but_a_sold_one_only_retired(csrf_client, operator):
    unsold = make_plan(code="mistake")
    sold = make_subscription(plan=make_plan(code="sold"), state="active").plan

    unsold_page = text(csrf_client.get(f"/plans/manage/plans/{unsold.id}"))
    sold_page = text(csrf_client.get(f"/plans/manage/plans/{sold.id}"))
    deleted = csrf_client.post(f"/plans/manage/plans/{unsold.id}/delete", page=f"/plans/manage/plans/{unsold.id}")
    kept = csrf_client.post(f"/plans/manage/plans/{sold.id}/delete", page=f"/plans/manage/plans/{sold.id}")

    assert "Delete plan" in unsold_page and "Delete plan" not in sold_page
    assert deleted.headers["Location"] == "/plans/manage/plans"
    assert kept.headers["Location"] == f"/plans/manage/plans/{sold.id}"
    assert [p.code for p in plans()] == ["sold"]
    assert "Retire it instead" in text(csrf_client.get(kept.headers["Location"]))


# Features ----------------------------------------------------------------------------------------


def test_features_are_added_renamed_and_removed_in_place_with_htmx(csrf_client, operator):
    added = csrf_client.htmx_post("/plans/manage/features", {"name": "Cloud recording", "position": "1"})
    [feature] = plan_admin.all_features()
    prefix = f"feature-{feature.id}"
    renamed = csrf_client.htmx_post(f"/plans/manage/features/{feature.id}",
                                    {f"{prefix}-name": "Recording", f"{prefix}-position": "2"},
                                    page="/plans/manage/features")
    removed = csrf_client.htmx_post(f"/plans/manage/features/{feature.id}/remove", page="/plans/manage/features")

    assert added.status_code == 200 and text(added).lstrip().startswith('<section id="features"')
    assert "<html" not in text(added) and "The feature Cloud recording has been added." in text(added)
    assert added.headers["Vary"] and "HX-Request" in added.headers["Vary"]
    assert "The feature Recording has been saved." in text(renamed) and 'value="Recording"' in text(renamed)
    assert "The feature Recording has been removed." in text(removed)
    assert plan_admin.all_features() == []


def test_features_work_without_javascript_too(csrf_client, operator):
    plan_admin.create_feature("Cloud recording", 2)
    page = text(csrf_client.get("/plans/manage/features"))

    response = csrf_client.post("/plans/manage/features", {"name": "Single sign-on", "position": "3"})

    assert re.search(r'<input[^>]* id="position"[^>]* value="3"', page)  # after the last one

    assert response.status_code == 302 and response.headers["Location"] == "/plans/manage/features"
    assert [(f.name, f.position) for f in plan_admin.all_features()] == [
        ("Cloud recording", 2), ("Single sign-on", 3)]


def test_a_duplicate_feature_name_comes_back_on_its_row(csrf_client, operator):
    plan_admin.create_feature("Cloud recording", 1)
    sso = plan_admin.create_feature("Single sign-on", 2)
    prefix = f"feature-{sso.id}"

    added = csrf_client.htmx_post("/plans/manage/features", {"name": "cloud recording", "position": "3"})
    renamed = csrf_client.htmx_post(f"/plans/manage/features/{sso.id}",
                                    {f"{prefix}-name": "Cloud recording", f"{prefix}-position": "2"},
                                    page="/plans/manage/features")

    assert (added.status_code, renamed.status_code) == (422, 422)
    assert "A feature with this name already exists." in text(added) and 'value="cloud recording"' in text(added)
    assert f'id="{prefix}-name-error"' in text(renamed)
    assert [f.name for f in plan_admin.all_features()] == ["Cloud recording", "Single sign-on"]


# Add-ons -----------------------------------------------------------------------------------------


def test_an_operator_creates_and_edits_an_add_on(csrf_client, operator):
    created = csrf_client.post("/plans/manage/add-ons/new", ADD_ON)
    add_on = db.session.scalars(select(AddOn)).one()
    edited = csrf_client.post(f"/plans/manage/add-ons/{add_on.id}", dict(ADD_ON, monthly_price="10", retired="y"))

    db.session.expire_all()
    assert created.headers["Location"] == edited.headers["Location"] == "/plans/manage/add-ons"
    assert (add_on.code, add_on.monthly_price_minor, add_on.annual_price_minor, add_on.retired) == (
        "callback", 1000, 9000, True)
    listing = text(csrf_client.get("/plans/manage/add-ons"))
    assert "Callback" in listing and "Retired" in listing and "€10.00" in listing


def test_bad_add_on_input_comes_back_with_the_input_kept(csrf_client, operator):
    make_add_on(code="callback")

    response = csrf_client.post("/plans/manage/add-ons/new",
                                dict(ADD_ON, name="Second callback", annual_price="9.999"))
    taken = csrf_client.post("/plans/manage/add-ons/new", dict(ADD_ON, name="Second callback"))

    assert (response.status_code, taken.status_code) == (422, 422)
    assert "Use at most 2 decimal places." in text(response) and 'value="9.999"' in text(response)
    assert "An add-on with this code already exists." in text(taken) and 'value="Second callback"' in text(taken)
    assert db.session.scalars(select(AddOn.code)).all() == ["callback"]


# Legal pages -------------------------------------------------------------------------------------


def test_an_operator_writes_a_legal_page_that_anyone_can_read(csrf_client, operator, client):
    empty = client.get("/plans/legal/privacy")

    saved = csrf_client.post("/plans/manage/legal/privacy",
                             {"body": "We keep little.\r\nSee https://example.org"})
    listing = text(csrf_client.get("/plans/manage/legal"))
    public = client.get("/plans/legal/privacy")

    assert empty.status_code == 200
    assert "Privacy policy" in text(empty) and "This page has not been written yet." in text(empty)
    assert saved.headers["Location"] == "/plans/manage/legal"
    assert db.session.get(LegalPage, "privacy").body == "We keep little.\nSee https://example.org"
    assert "Terms of use" in listing and "Emergency-calling policy" in listing
    assert public.status_code == 200
    assert "We keep little.<br>" in text(public) and '<a href="https://example.org">' in text(public)


def test_a_legal_page_is_edited_with_its_text_shown(csrf_client, operator):
    plan_admin.save_legal_page("terms", "Old terms")

    page = text(csrf_client.get("/plans/manage/legal/terms"))
    too_long = csrf_client.post("/plans/manage/legal/terms", {"body": "y" * 50_001})

    assert "Terms of use" in page and "Old terms" in page
    assert too_long.status_code == 422 and "Enter at most 50000 characters." in text(too_long)
    assert db.session.get(LegalPage, "terms").body == "Old terms"


def test_unknown_legal_pages_do_not_exist(csrf_client, operator, client):
    assert client.get("/plans/legal/imprint").status_code == 404
    assert csrf_client.get("/plans/manage/legal/imprint").status_code == 404
    assert csrf_client.post("/plans/manage/legal/imprint", {"body": "x"}, page="/").status_code == 404


# Subscriptions and invoices ----------------------------------------------------------------------


def test_subscriptions_are_listed_and_filtered_by_state(csrf_client, operator):
    active = make_subscription(organization=factories.make_organization(name="Active Academy"), state="active")
    make_subscription(organization=factories.make_organization(name="Late Learning"), state="past_due")

    everything = text(csrf_client.get("/plans/manage/subscriptions"))
    past_due = text(csrf_client.get("/plans/manage/subscriptions?state=past_due"))
    wrong = csrf_client.get("/plans/manage/subscriptions?state=sleeping")

    assert "Active Academy" in everything and "Late Learning" in everything
    assert active.plan.name in everything and "Monthly" in everything
    assert "Late Learning" in past_due and "Active Academy" not in past_due and "Past due" in past_due
    assert wrong.status_code == 422 and "Not a valid choice." in text(wrong)


def test_marking_a_renewal_invoice_paid_renews_the_subscription(csrf_client, operator):
    period_end = datetime(2026, 2, 15, 10, 0, tzinfo=timezone.utc)
    subscription = make_subscription(state="past_due", period_end=period_end, payment_method="bank_transfer",
                                     vault_id="", failed_attempts=0, next_attempt_at=period_end)
    invoice = make_invoice(subscription, "renewal:2026-02-15")

    listing = text(csrf_client.get("/plans/manage/subscriptions?state=past_due"))
    response = csrf_client.post(f"/plans/manage/invoices/{invoice.id}/mark-paid",
                                {"next": "/plans/manage/subscriptions?state=past_due"},
                                page="/plans/manage/subscriptions")

    db.session.expire_all()
    assert invoice.code in listing and "Mark as paid" in listing
    assert response.headers["Location"] == "/plans/manage/subscriptions?state=past_due"
    assert invoice.state == "paid" and invoice.payments[0].state == "captured"
    assert subscription.state == "active" and subscription.next_attempt_at is None
    assert subscription.current_period_start == period_end
    assert subscription.current_period_end == datetime(2026, 3, 15, 10, 0, tzinfo=timezone.utc)
    assert len(mails("renewed")) == 1
    after = text(csrf_client.get("/plans/manage/subscriptions"))
    assert f"Order {invoice.code} is marked as paid." in after and "Mark as paid" not in after


def test_a_paid_purchase_of_a_subscription_that_is_not_waiting_is_left_for_review(csrf_client, operator):
    subscription = make_subscription(state="canceled")
    order = make_invoice(subscription, "purchase")

    response = csrf_client.post(f"/plans/manage/invoices/{order.id}/mark-paid",
                                page="/plans/manage/subscriptions", follow_redirects=True)

    db.session.expire_all()
    assert f"The payment for order {order.code} is recorded, but the order needs review." in text(response)
    assert (order.state, order.payments[0].state, subscription.state) == ("review", "captured", "canceled")


@pytest.mark.parametrize("invoice_fields", [
    {"state": "paid", "payment_state": "captured"},
    {"provider": "paypal"},
    {"state": "canceled"},
])
def test_only_open_bank_transfer_invoices_can_be_marked_paid(csrf_client, operator, invoice_fields):
    subscription = make_subscription(state="past_due")
    order = make_invoice(subscription, **invoice_fields)

    response = csrf_client.post(f"/plans/manage/invoices/{order.id}/mark-paid",
                                page="/plans/manage/subscriptions")

    db.session.expire_all()
    assert response.status_code == 404
    assert (order.state, subscription.state) == (invoice_fields.get("state", "pending"), "past_due")


def test_a_failure_to_mark_paid_is_told_not_raised(csrf_client, operator, monkeypatch):
    from app.services import checkout

    subscription = make_subscription(state="past_due")
    invoice = make_invoice(subscription)

    def refuse(order):
        raise checkout.CheckoutError("This order is not waiting for a bank transfer.")

    monkeypatch.setattr(checkout, "mark_bank_transfer_paid", refuse)
    response = csrf_client.post(f"/plans/manage/invoices/{invoice.id}/mark-paid",
                                page="/plans/manage/subscriptions", follow_redirects=True)

    assert response.status_code == 200 and "This order is not waiting for a bank transfer." in text(response)


# Sales requests ----------------------------------------------------------------------------------


def test_sales_requests_are_listed_newest_first_and_exported(csrf_client, operator):
    for day, name in ((1, "Early Bird"), (2, "Late Owl")):
        db.session.add(SalesRequest(name=name, email=f"{name.split()[0].lower()}@school.example",
                                    organization_name="Tax-exempt School", cart="Business, 3 licenses",
                                    message="Please call\nafter 10",
                                    created_at=datetime(2026, 4, day, tzinfo=timezone.utc)))
    db.session.commit()

    page = text(csrf_client.get("/plans/manage/sales-requests"))
    export = csrf_client.get("/plans/manage/sales-requests.csv")

    assert page.index("Late Owl") < page.index("Early Bird") and "Please call<br>" in page
    assert export.mimetype == "text/csv"
    assert export.headers["Content-Disposition"].startswith('attachment; filename="sales-requests-')
    rows = list(csv.DictReader(io.StringIO(text(export))))
    assert [r["name"] for r in rows] == ["Late Owl", "Early Bird"]
    assert rows[0]["message"] == "Please call\nafter 10"


# Demo data ---------------------------------------------------------------------------------------


def test_the_demo_has_an_operator_with_a_catalogue_and_legal_pages(app, csrf_client):
    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    assert "operator@example.com" in result.output and "admin@example.com" in result.output
    operator = accounts.authenticate("operator@example.com", demo.DEMO_PASSWORD)
    assert operator.role == "admin" and operator.organization.is_operator
    assert (operator.organization.subdomain, operator.organization.currency) == ("lectern-cloud", "EUR")
    nordic = db.session.scalars(select(Organization).filter_by(subdomain="nordic-training")).one()
    assert not nordic.is_operator
    assert [(p.code, p.monthly_price_minor, p.annual_price_minor) for p in plan_admin.all_plans()] == [
        ("starter", 1200, 12000), ("business", 2500, 25000), ("enterprise", 4500, 45000)]
    starter, business, enterprise = plan_admin.all_plans()
    sso = db.session.scalars(select(Feature).filter_by(name="Single sign-on")).one()
    assert sso.id in plan_admin.plan_offers(enterprise) and sso.id not in plan_admin.plan_offers(business)
    [callback] = plan_admin.all_add_ons()
    assert (callback.code, callback.monthly_price_minor, callback.annual_price_minor) == ("callback", 900, 9000)
    assert all(page and "Sample text" in page.body for page in plan_admin.legal_pages().values())
    assert db.session.scalars(select(User).filter_by(organization_id=nordic.id)).all()

    csrf_client.sign_in(operator, demo.DEMO_PASSWORD)
    assert csrf_client.get("/plans/manage/plans").status_code == 200
