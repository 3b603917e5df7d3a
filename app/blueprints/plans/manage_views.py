"""The operator's pages (/plans/manage), for administrators of the organisation that runs the
portal: the catalogue (plans, features, add-ons), the legal pages, subscriptions with their open
bank-transfer invoices, and sales requests. Also the public legal pages (/plans/legal/<slug>)."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.blueprints.plans import bp
from app.blueprints.plans.manage_forms import (
    AddOnForm,
    FeatureForm,
    LegalPageForm,
    PlanFeaturesForm,
    PlanForm,
    SubscriptionFilterForm,
)
from app.extensions import db
from app.models import AddOn, Feature, Plan
from app.models.base import utcnow
from app.models.plans import LEGAL_PAGES
from app.services import checkout, plan_admin, plan_catalog
from app.services.locks import Busy
from app.services.plan_admin import (
    CYCLE_LABELS,
    LEGAL_PAGE_TITLES,
    SUBSCRIPTION_STATE_LABELS,
    PlanAdminError,
)
from app.services.reports import local_iso
from app.web import csv_attachment, form_status, next_or, operator_required, render, wants_fragment


def _show_error(form, error):
    field = getattr(form, error.field or "", None)
    (field.errors if field is not None else form.form_errors).append(error.message)


def _page_number():
    return max(request.args.get("page", 1, type=int), 1)


@bp.route("/manage")
@operator_required
def manage():
    return redirect(url_for("plans.manage_plans"))


# Plans -------------------------------------------------------------------------------------------


@bp.route("/manage/plans")
@operator_required
def manage_plans():
    return render("plans/manage_plans.html", plans=plan_admin.all_plans())


@bp.route("/manage/plans/new", methods=["GET", "POST"])
@operator_required
def manage_new_plan():
    form = PlanForm(currency=current_user.organization.currency, position=plan_admin.next_position(Plan))
    if form.validate_on_submit():
        try:
            plan = plan_admin.create_plan(**form.values())
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            flash(_l("The plan %(name)s has been created. Now choose its features.", name=plan.name),
                  "success")
            return redirect(url_for("plans.manage_plan", plan_id=plan.id))
    return render("plans/manage_plan.html", plan=None, form=form, status=form_status(form))


def _render_plan(plan, form=None, features_form=None):
    """The plan's page: its details and its features, one of them possibly posted back."""
    features = plan_admin.all_features()
    if form is None:
        form = PlanForm.for_item(plan, formdata=None)
    if features_form is None:
        features_form = PlanFeaturesForm.for_plan(features, plan_admin.plan_offers(plan), formdata=None)
    return render(
        "plans/manage_plan.html", plan=plan, form=form, features_form=features_form,
        feature_names={feature.id: feature.name for feature in features},
        sold=plan_admin.plan_was_sold(plan), status=422 if form.errors or features_form.errors else 200,
    )


@bp.route("/manage/plans/<int:plan_id>", methods=["GET", "POST"])
@operator_required
def manage_plan(plan_id):
    plan = db.get_or_404(Plan, plan_id)
    form = PlanForm.for_item(plan)
    if form.validate_on_submit():
        try:
            plan_admin.update_plan(plan, **form.values())
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            flash(_l("The plan %(name)s has been saved.", name=plan.name), "success")
            return redirect(url_for("plans.manage_plans"))
    return _render_plan(plan, form=form)


@bp.route("/manage/plans/<int:plan_id>/features", methods=["POST"])
@operator_required
def manage_plan_features(plan_id):
    plan = db.get_or_404(Plan, plan_id)
    form = PlanFeaturesForm()
    if form.validate_on_submit():
        try:
            plan_admin.set_plan_features(plan, form.chosen())
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            flash(_l("The features of %(name)s have been saved.", name=plan.name), "success")
            return redirect(url_for("plans.manage_plan", plan_id=plan.id))
    return _render_plan(plan, features_form=form)


@bp.route("/manage/plans/<int:plan_id>/delete", methods=["POST"])
@operator_required
def manage_delete_plan(plan_id):
    plan = db.get_or_404(Plan, plan_id)
    name = plan.name
    try:
        plan_admin.delete_plan(plan)
    except PlanAdminError as error:
        flash(error.message, "error")
        return redirect(url_for("plans.manage_plan", plan_id=plan_id))
    flash(_l("The plan %(name)s has been deleted.", name=name), "success")
    return redirect(url_for("plans.manage_plans"))


# Features: one list, edited in place (htmx swaps the whole section) ------------------------------


def _feature_form(feature, **kwargs):
    return FeatureForm(obj=feature, prefix=f"feature-{feature.id}", **kwargs)


def _new_feature_form(**kwargs):
    return FeatureForm(position=plan_admin.next_position(Feature), **kwargs)


def _render_features(form=None, posted=None, status=200):
    """The features page; `posted` is (feature id, its form) when that came back with errors."""
    posted_id, posted_form = posted or (None, None)
    rows = [
        (feature, posted_form if feature.id == posted_id else _feature_form(feature, formdata=None))
        for feature in plan_admin.all_features()
    ]
    if form is None:
        form = _new_feature_form(formdata=None)
    return render("plans/manage_features.html", "plans/_manage_features.html", status=status,
                  rows=rows, form=form)


def _features_changed(message):
    flash(message, "success")
    if wants_fragment():
        return _render_features()
    return redirect(url_for("plans.manage_features"))


@bp.route("/manage/features", methods=["GET", "POST"])
@operator_required
def manage_features():
    form = _new_feature_form()
    if form.validate_on_submit():
        try:
            feature = plan_admin.create_feature(form.name.data, form.position.data)
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            return _features_changed(_l("The feature %(name)s has been added.", name=feature.name))
    return _render_features(form=form, status=form_status(form))


@bp.route("/manage/features/<int:feature_id>", methods=["POST"])
@operator_required
def manage_feature(feature_id):
    feature = db.get_or_404(Feature, feature_id)
    form = _feature_form(feature)
    if form.validate_on_submit():
        try:
            plan_admin.update_feature(feature, form.name.data, form.position.data)
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            return _features_changed(_l("The feature %(name)s has been saved.", name=feature.name))
    return _render_features(posted=(feature.id, form), status=form_status(form))


@bp.route("/manage/features/<int:feature_id>/remove", methods=["POST"])
@operator_required
def manage_remove_feature(feature_id):
    feature = db.get_or_404(Feature, feature_id)
    name = feature.name
    plan_admin.remove_feature(feature)
    return _features_changed(_l("The feature %(name)s has been removed.", name=name))


# Add-ons -----------------------------------------------------------------------------------------


@bp.route("/manage/add-ons")
@operator_required
def manage_add_ons():
    return render("plans/manage_add_ons.html", add_ons=plan_admin.all_add_ons())


@bp.route("/manage/add-ons/new", methods=["GET", "POST"])
@operator_required
def manage_new_add_on():
    form = AddOnForm(currency=current_user.organization.currency, position=plan_admin.next_position(AddOn))
    return _save_add_on(None, form)


@bp.route("/manage/add-ons/<int:add_on_id>", methods=["GET", "POST"])
@operator_required
def manage_add_on(add_on_id):
    add_on = db.get_or_404(AddOn, add_on_id)
    return _save_add_on(add_on, AddOnForm.for_item(add_on))


def _save_add_on(add_on, form):
    if form.validate_on_submit():
        try:
            if add_on is None:
                add_on = plan_admin.create_add_on(**form.values())
                message = _l("The add-on %(name)s has been created.", name=add_on.name)
            else:
                plan_admin.update_add_on(add_on, **form.values())
                message = _l("The add-on %(name)s has been saved.", name=add_on.name)
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            flash(message, "success")
            return redirect(url_for("plans.manage_add_ons"))
    return render("plans/manage_add_on.html", add_on=add_on, form=form, status=form_status(form))


# Legal pages -------------------------------------------------------------------------------------


def _legal_slug_or_404(slug):
    if slug not in LEGAL_PAGES:
        abort(404)
    return slug


@bp.route("/manage/legal")
@operator_required
def manage_legal_pages():
    return render("plans/manage_legal_pages.html", pages=plan_admin.legal_pages(), titles=LEGAL_PAGE_TITLES)


@bp.route("/manage/legal/<slug>", methods=["GET", "POST"])
@operator_required
def manage_legal_page(slug):
    page = plan_catalog.legal_page(_legal_slug_or_404(slug))
    form = LegalPageForm(obj=page)
    if form.validate_on_submit():
        try:
            plan_admin.save_legal_page(slug, form.body.data)
        except PlanAdminError as error:
            _show_error(form, error)
        else:
            flash(_l("The page “%(title)s” has been saved.", title=LEGAL_PAGE_TITLES[slug]), "success")
            return redirect(url_for("plans.manage_legal_pages"))
    return render("plans/manage_legal_page.html", slug=slug, title=LEGAL_PAGE_TITLES[slug], form=form,
                  status=form_status(form))


@bp.route("/legal/<slug>")
def legal_page(slug):
    """Public: anyone may read the terms, the privacy policy and the emergency-calling policy."""
    page = plan_catalog.legal_page(_legal_slug_or_404(slug))
    return render("plans/legal_page.html", title=LEGAL_PAGE_TITLES[slug], legal=page)


# Subscriptions and sales requests ----------------------------------------------------------------


@bp.route("/manage/subscriptions")
@operator_required
def manage_subscriptions():
    form = SubscriptionFilterForm(request.args)
    if not form.validate():
        return render("plans/manage_subscriptions.html", form=form, results=None, status=422)
    results = plan_admin.subscriptions_page(form.state.data or None, _page_number())
    return render(
        "plans/manage_subscriptions.html", form=form, results=results,
        invoices=plan_admin.open_invoices(results.items), state_labels=SUBSCRIPTION_STATE_LABELS,
        cycle_labels=CYCLE_LABELS,
    )


@bp.route("/manage/invoices/<int:order_id>/mark-paid", methods=["POST"])
@operator_required
def manage_mark_invoice_paid(order_id):
    """The operator saw a plan's bank transfer arrive."""
    order = plan_admin.open_invoice(order_id)
    if order is None:
        abort(404)
    try:
        checkout.mark_bank_transfer_paid(order)
    except (checkout.CheckoutError, Busy) as error:
        flash(error.message, "error")
    else:
        if order.state == "paid":
            flash(_l("Order %(code)s is marked as paid.", code=order.code), "success")
        else:
            flash(_l("The payment for order %(code)s is recorded, but the order needs review.",
                     code=order.code), "error")
    return redirect(next_or("plans.manage_subscriptions"))


@bp.route("/manage/sales-requests")
@operator_required
def manage_sales_requests():
    return render("plans/manage_sales_requests.html", results=plan_admin.sales_requests_page(_page_number()))


@bp.route("/manage/sales-requests.csv")
@operator_required
def manage_export_sales_requests():
    zone = current_user.organization.timezone
    day = local_iso(utcnow(), zone)[:10]
    return csv_attachment(plan_admin.sales_requests_csv(zone), f"sales-requests-{day}.csv")
