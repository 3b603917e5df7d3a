"""The operator's catalogue rules: plans, add-ons, features, a plan's features, legal pages,
and the lists the operator looks after (subscriptions' open invoices, sales requests)."""

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AddOn, Feature, LegalPage, Plan, PlanFeature, SalesRequest
from app.services import plan_admin
from app.services.plan_admin import PlanAdminError
from tests import factories
from tests.plan_factories import make_invoice, make_plan
from tests.subscription_factories import make_subscription

PLAN = dict(code="business", name="Business", summary="For teams.", monthly_price_minor=2500,
            annual_price_minor=25000, currency="EUR", position=2, retired=False)


def refused(call, *args, **kwargs):
    with pytest.raises(PlanAdminError) as caught:
        call(*args, **kwargs)
    return caught.value


# Plans and add-ons -----------------------------------------------------------------------------


def test_a_plan_is_created_with_a_normalised_code(app):
    plan = plan_admin.create_plan(**dict(PLAN, code="  Business-2 ", name="  Business "))

    db.session.expire_all()
    assert (plan.code, plan.name, plan.monthly_price_minor, plan.annual_price_minor) == (
        "business-2", "Business", 2500, 25000)
    assert (plan.currency, plan.position, plan.retired, plan.summary) == ("EUR", 2, False, "For teams.")


@pytest.mark.parametrize("changes,field", [
    ({"code": ""}, "code"),
    ({"code": "busi ness"}, "code"),
    ({"code": "-business"}, "code"),
    ({"code": "b" * 41}, "code"),
    ({"code": "bäst"}, "code"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 81}, "name"),
    ({"summary": "x" * 301}, "summary"),
    ({"monthly_price_minor": -1}, "monthly_price"),
    ({"annual_price_minor": -100}, "annual_price"),
    ({"annual_price_minor": 3_000_000_000}, "annual_price"),
    ({"currency": "XYZ"}, "currency"),
    ({"currency": ""}, "currency"),
    ({"position": -1}, "position"),
    ({"position": 10_001}, "position"),
])
def test_a_plan_with_bad_fields_is_refused_naming_the_field(app, changes, field):
    error = refused(plan_admin.create_plan, **dict(PLAN, **changes))

    assert error.field == field
    assert db.session.scalars(select(Plan)).all() == []


def test_a_price_must_be_minor_units(app):
    with pytest.raises(TypeError):
        plan_admin.create_plan(**dict(PLAN, monthly_price_minor="25.00"))


def test_a_plan_code_is_unique(app):
    make_plan(code="business")

    error = refused(plan_admin.create_plan, **dict(PLAN, code="Business"))

    assert error.field == "code" and "already exists" in str(error.message)


def test_a_plan_keeps_its_own_code_when_edited_but_cannot_take_another(app):
    plan = make_plan(code="starter")
    make_plan(code="business")

    plan_admin.update_plan(plan, **dict(PLAN, code="starter", name="Starter", monthly_price_minor=0,
                                        retired=True))
    error = refused(plan_admin.update_plan, plan, **dict(PLAN, code="business"))

    db.session.expire_all()
    assert error.field == "code"
    assert (plan.code, plan.name, plan.monthly_price_minor, plan.retired) == ("starter", "Starter", 0, True)


def test_a_refused_edit_changes_nothing(app):
    plan = make_plan(code="starter", name="Starter", monthly=1200)

    refused(plan_admin.update_plan, plan, **dict(PLAN, code="starter", name="New", monthly_price_minor=-5))

    db.session.expire_all()
    assert (plan.name, plan.monthly_price_minor) == ("Starter", 1200)


def test_add_ons_follow_the_same_rules_and_have_their_own_codes(app):
    make_plan(code="callback")

    add_on = plan_admin.create_add_on(code="callback", name="Callback", monthly_price_minor=900,
                                      annual_price_minor=9000, currency="EUR")
    taken = refused(plan_admin.create_add_on, code="callback", name="Again", monthly_price_minor=1,
                    annual_price_minor=1, currency="EUR")
    plan_admin.update_add_on(add_on, code="callback", name="Callback", monthly_price_minor=1000,
                             annual_price_minor=9000, currency="SEK", retired=True)

    db.session.expire_all()
    assert taken.field == "code"
    assert (add_on.monthly_price_minor, add_on.currency) == (1000, "SEK")
    assert (add_on.retired, add_on.position) == (True, 0)
    assert [a.code for a in plan_admin.all_add_ons()] == ["callback"]


def test_all_plans_lists_retired_ones_too_in_order(app):
    late = make_plan(code="late", position=5)
    retired = make_plan(code="old", position=1, retired=True)

    assert [p.code for p in plan_admin.all_plans()] == [retired.code, late.code]
    assert plan_admin.next_position(Plan) == 6
    assert plan_admin.next_position(AddOn) == 1


def test_a_plan_nobody_bought_can_be_deleted_with_its_features(app):
    plan = make_plan(features=[("Recording", "10 GB")])

    plan_admin.delete_plan(plan)

    assert db.session.scalars(select(Plan)).all() == []
    assert db.session.scalars(select(PlanFeature)).all() == []
    assert [f.name for f in db.session.scalars(select(Feature))] == ["Recording"]


def test_a_sold_plan_cannot_be_deleted(app):
    subscription = make_subscription()

    error = refused(plan_admin.delete_plan, subscription.plan)

    assert "Retire it instead" in str(error.message)
    assert plan_admin.plan_was_sold(subscription.plan)
    assert db.session.get(Plan, subscription.plan_id) is not None


# Features ----------------------------------------------------------------------------------------


def test_features_are_added_renamed_and_kept_unique(app):
    recording = plan_admin.create_feature(" Cloud recording ", 2)
    sso = plan_admin.create_feature("Single sign-on", 1)

    duplicate = refused(plan_admin.create_feature, "cloud RECORDING", 3)
    taken = refused(plan_admin.update_feature, sso, "Cloud recording", 1)
    empty = refused(plan_admin.create_feature, "", 3)
    plan_admin.update_feature(recording, "Recording in the cloud", 0)

    assert (duplicate.field, taken.field, empty.field) == ("name", "name", "name")
    assert [f.name for f in plan_admin.all_features()] == ["Recording in the cloud", "Single sign-on"]


def test_removing_a_feature_takes_it_from_every_plan(app):
    plan = make_plan(features=[("Recording", "10 GB"), ("SSO", "")])
    recording = db.session.scalars(select(Feature).filter_by(name="Recording")).one()

    plan_admin.remove_feature(recording)

    assert [f.name for f in plan_admin.all_features()] == ["SSO"]
    assert list(plan_admin.plan_offers(plan).values()) == [""]


def test_a_plans_features_are_set_in_one_go(app):
    plan = make_plan(features=[("Recording", "10 GB"), ("SSO", "")])
    recording, sso = plan_admin.all_features()
    dial_in = plan_admin.create_feature("Toll-free dial-in", 3)

    plan_admin.set_plan_features(plan, {recording.id: None, sso.id: "SAML 2.0 ", dial_in.id: ""})

    db.session.expire_all()
    assert plan_admin.plan_offers(plan) == {sso.id: "SAML 2.0", dial_in.id: ""}


def test_features_left_out_keep_what_they_had(app):
    plan = make_plan(features=[("Recording", "10 GB"), ("SSO", "")])
    recording, sso = plan_admin.all_features()

    plan_admin.set_plan_features(plan, {sso.id: None})

    assert plan_admin.plan_offers(plan) == {recording.id: "10 GB"}


def test_an_unknown_feature_or_a_long_text_changes_nothing(app):
    plan = make_plan(features=[("Recording", "10 GB")])
    [recording] = plan_admin.all_features()

    gone = refused(plan_admin.set_plan_features, plan, {recording.id: None, recording.id + 100: ""})
    long = refused(plan_admin.set_plan_features, plan, {recording.id: "x" * 81})

    db.session.expire_all()
    assert "removed meanwhile" in str(gone.message) and long.field is None
    assert plan_admin.plan_offers(plan) == {recording.id: "10 GB"}


# Legal pages -------------------------------------------------------------------------------------


def test_a_legal_page_is_made_on_its_first_save_and_changed_after(app):
    assert plan_admin.legal_pages() == {"terms": None, "privacy": None, "emergency": None}

    plan_admin.save_legal_page("privacy", "  We keep little.\r\nVery little.  ")
    plan_admin.save_legal_page("privacy", "Nothing at all.")

    pages = plan_admin.legal_pages()
    assert pages["privacy"].body == "Nothing at all." and pages["terms"] is None
    assert db.session.scalars(select(LegalPage)).all() == [pages["privacy"]]
    plan_admin.save_legal_page("terms", "One\r\nTwo")
    assert db.session.get(LegalPage, "terms").body == "One\nTwo"


def test_a_legal_page_has_a_size_limit_and_only_three_slugs(app):
    error = refused(plan_admin.save_legal_page, "terms", "x" * 50_001)
    with pytest.raises(ValueError):
        plan_admin.save_legal_page("imprint", "Hello")

    assert error.field == "body"
    assert db.session.scalars(select(LegalPage)).all() == []
    assert set(plan_admin.LEGAL_PAGE_TITLES) == {"terms", "privacy", "emergency"}


# Subscriptions, open invoices, sales requests ----------------------------------------------------


def test_subscriptions_are_listed_newest_first_and_filtered_by_state(app):
    old = make_subscription(state="active", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    new = make_subscription(state="past_due", created_at=datetime(2026, 2, 1, tzinfo=timezone.utc))

    assert [s.id for s in plan_admin.subscriptions_page().items] == [new.id, old.id]
    assert [s.id for s in plan_admin.subscriptions_page("active").items] == [old.id]
    assert plan_admin.subscriptions_page("canceled").items == []


def test_only_pending_bank_transfer_orders_are_open_invoices(app):
    subscription = make_subscription(state="past_due")
    other = make_subscription(state="active")
    invoice = make_invoice(subscription, "renewal:2026-06-01")
    make_invoice(subscription, "renewal:2026-05-01", state="paid", payment_state="captured")
    make_invoice(subscription, "licenses:2", provider="paypal")
    make_invoice(other, "renewal:2026-06-01", state="expired")

    assert plan_admin.open_invoices([subscription, other]) == {subscription.id: [invoice]}
    assert plan_admin.open_invoices([]) == {}
    assert plan_admin.open_invoice(invoice.id) is invoice
    assert plan_admin.open_invoice(invoice.id + 100) is None


def test_sales_requests_come_newest_first_and_export_as_csv(app):
    organization = factories.make_organization()
    for day, name in ((1, "Early"), (3, "Late")):
        db.session.add(SalesRequest(
            organization_id=organization.id, name=name, email=f"{name.lower()}@example.org",
            organization_name="=Tax-exempt school", cart="Business, 3 licenses", message="Call me",
            created_at=datetime(2026, 3, day, 12, tzinfo=timezone.utc),
        ))
    db.session.commit()

    page = plan_admin.sales_requests_page()
    rows = list(csv.DictReader(io.StringIO(plan_admin.sales_requests_csv("Europe/Stockholm"))))

    assert [r.name for r in page.items] == ["Late", "Early"]
    assert [r["name"] for r in rows] == ["Late", "Early"]
    assert rows[0]["created_at"] == "2026-03-03T13:00:00+01:00"
    assert rows[0]["organization"] == "'=Tax-exempt school"  # not run as a formula
    assert rows[0]["cart"] == "Business, 3 licenses"
