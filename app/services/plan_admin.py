"""The operator's side of paid plans: the catalogue (plans, features, add-ons), the legal pages,
and what to look after (subscriptions, their open bank-transfer invoices, sales requests).

Each change is one transaction. Bad input raises PlanAdminError before anything is written;
its `field` names the form field the (lazy, translated) message belongs to.
"""

import re

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    AddOn,
    Feature,
    LegalPage,
    Order,
    Payment,
    Plan,
    PlanFeature,
    SalesRequest,
    Subscription,
)
from app.models.plans import LEGAL_PAGES
from app.services.errors import ServiceError
from app.services.money import MAX_MINOR, SITE_CURRENCIES
from app.services.reports import local_iso, write_csv

LEGAL_PAGE_TITLES = {
    "terms": _l("Terms of use"),
    "privacy": _l("Privacy policy"),
    "emergency": _l("Emergency-calling policy"),
}
SUBSCRIPTION_STATE_LABELS = {
    "pending": _l("Awaiting payment"),
    "provisioning": _l("Being set up"),
    "active": _l("Active"),
    "past_due": _l("Past due"),
    "canceled": _l("Canceled"),
}
CYCLE_LABELS = {"monthly": _l("Monthly"), "annual": _l("Annual")}

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")  # of plans and add-ons, after lower-casing
CODE_RULE = _l("Use up to 40 lower-case letters a–z, digits and hyphens, starting with a letter or digit.")
MAX_POSITION = 10_000
MAX_NAME = 80  # plans and add-ons
MAX_SUMMARY = 300
MAX_FEATURE_NAME = 120
MAX_FEATURE_VALUE = 80
MAX_LEGAL_BODY = 50_000
PER_PAGE = 50


class PlanAdminError(ServiceError):
    """The catalogue or a legal page cannot be changed as asked."""


def _commit(field, message):
    """Commit; a unique constraint someone else hit a moment ago becomes a PlanAdminError."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise PlanAdminError(message, field) from None


def _position(position):
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= MAX_POSITION:
        raise PlanAdminError(
            _l("Enter a number from %(min)d to %(max)d.", min=0, max=MAX_POSITION), "position"
        )
    return position


def _too_long(max_length):
    return lazy_ngettext(
        "Enter at most %(num)d character.", "Enter at most %(num)d characters.", max_length
    )


def _text(value, max_length, field, required=True):
    text = (value or "").strip()
    if required and not text:
        raise PlanAdminError(_l("This field is required."), field)
    if len(text) > max_length:
        raise PlanAdminError(_too_long(max_length), field)
    return text


def next_position(model):
    """A position after every plan (or add-on, or feature) there is: new entries go last."""
    return min((db.session.scalar(select(func.max(model.position))) or 0) + 1, MAX_POSITION)


# Plans and add-ons -------------------------------------------------------------------------------

_CODE_TAKEN = {
    Plan: _l("A plan with this code already exists."),
    AddOn: _l("An add-on with this code already exists."),
}


def _price(minor, field):
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"{field} must be an int of minor units")
    if minor < 0:
        raise PlanAdminError(_l("A price cannot be negative."), field)
    if minor > MAX_MINOR:
        raise PlanAdminError(_l("This amount is too large."), field)
    return minor


def _catalogue_fields(model, item, *, code, name, monthly_price_minor, annual_price_minor, currency,
                      summary="", position=0, retired=False):
    """Check a plan's or add-on's fields and return its columns (`item` is None when new)."""
    code = (code or "").strip().lower()
    if not CODE_PATTERN.match(code):
        raise PlanAdminError(CODE_RULE, "code")
    same_code = select(model.id).where(model.code == code)
    if item is not None:
        same_code = same_code.where(model.id != item.id)
    if db.session.scalar(same_code) is not None:
        raise PlanAdminError(_CODE_TAKEN[model], "code")
    if currency not in SITE_CURRENCIES:
        raise PlanAdminError(_l("Choose one of the currencies in the list."), "currency")
    return dict(
        code=code,
        name=_text(name, MAX_NAME, "name"),
        summary=_text(summary, MAX_SUMMARY, "summary", required=False),
        monthly_price_minor=_price(monthly_price_minor, "monthly_price"),
        annual_price_minor=_price(annual_price_minor, "annual_price"),
        currency=currency,
        position=_position(position),
        retired=bool(retired),
    )


def _save_catalogue_item(model, item, fields):
    values = _catalogue_fields(model, item, **fields)
    if item is None:
        item = model()
        db.session.add(item)
    for column, value in values.items():
        setattr(item, column, value)
    _commit("code", _CODE_TAKEN[model])
    return item


# The fields of a plan or an add-on, as keyword arguments: code (a–z, 0–9, -), name, summary,
# monthly_price_minor and annual_price_minor (per license for a plan, per subscription for an
# add-on; minor units of `currency`), currency (one of SITE_CURRENCIES), position, retired.


def create_plan(**fields):
    return _save_catalogue_item(Plan, None, fields)


def update_plan(plan, **fields):
    """Subscriptions keep the prices they were sold at. A retired plan is no longer on sale;
    the subscriptions that have it go on."""
    return _save_catalogue_item(Plan, plan, fields)


def plan_was_sold(plan):
    sold = select(Subscription.id).where(Subscription.plan_id == plan.id).limit(1)
    return db.session.scalar(sold) is not None


def delete_plan(plan):
    """Delete a plan nobody ever bought (a mistake); a plan that was sold can only be retired."""
    sold = _l("This plan has been sold, so it cannot be deleted. Retire it instead.")
    if plan_was_sold(plan):
        raise PlanAdminError(sold)
    db.session.delete(plan)
    _commit(None, sold)  # bought a moment ago


def create_add_on(**fields):
    return _save_catalogue_item(AddOn, None, fields)


def update_add_on(add_on, **fields):
    return _save_catalogue_item(AddOn, add_on, fields)


def all_plans():
    """Every plan, retired ones too, in the order buyers see them."""
    return db.session.scalars(
        select(Plan).options(selectinload(Plan.features)).order_by(Plan.position, Plan.id)
    ).all()


def all_add_ons():
    return db.session.scalars(select(AddOn).order_by(AddOn.position, AddOn.id)).all()


# Features ----------------------------------------------------------------------------------------


def all_features():
    return db.session.scalars(select(Feature).order_by(Feature.position, Feature.id)).all()


def _feature_fields(feature, name, position):
    name = _text(name, MAX_FEATURE_NAME, "name")
    same_name = select(Feature.id).where(func.lower(Feature.name) == name.lower())
    if feature is not None:
        same_name = same_name.where(Feature.id != feature.id)
    if db.session.scalar(same_name) is not None:
        raise PlanAdminError(_l("A feature with this name already exists."), "name")
    return dict(name=name, position=_position(position))


def create_feature(name, position=0):
    """A new row of the comparison table; no plan has it until it is given to one."""
    feature = Feature(**_feature_fields(None, name, position))
    db.session.add(feature)
    _commit("name", _l("A feature with this name already exists."))
    return feature


def update_feature(feature, name, position):
    """Rename or move a feature; every plan that has it shows the new name."""
    for column, value in _feature_fields(feature, name, position).items():
        setattr(feature, column, value)
    _commit("name", _l("A feature with this name already exists."))
    return feature


def remove_feature(feature):
    """The feature leaves the comparison table and every plan."""
    db.session.execute(delete(PlanFeature).where(PlanFeature.feature_id == feature.id))
    db.session.delete(feature)
    db.session.commit()


def plan_offers(plan):
    """{feature id: "" (included) or a text such as "100 attendees"} for what the plan has."""
    return {offer.feature_id: offer.value for offer in plan.features}


def set_plan_features(plan, offers):
    """What the plan offers of each feature, in one transaction.

    offers: {feature id: None (not included), "" (included) or a short text}. Features left
    out keep what they had (one added meanwhile in another tab, for instance).
    """
    known = set(db.session.scalars(select(Feature.id).where(Feature.id.in_(list(offers)))))
    if known != set(offers):
        raise PlanAdminError(
            _l("A feature has been removed meanwhile. Please check the list and save again.")
        )
    values = {}
    for feature_id, value in offers.items():
        if value is not None:
            value = value.strip()
            if len(value) > MAX_FEATURE_VALUE:
                raise PlanAdminError(_too_long(MAX_FEATURE_VALUE))
        values[feature_id] = value
    current = {offer.feature_id: offer for offer in plan.features}
    for feature_id, value in values.items():
        offer = current.get(feature_id)
        if value is None:
            if offer is not None:
                plan.features.remove(offer)
        elif offer is None:
            plan.features.append(PlanFeature(feature_id=feature_id, value=value))
        else:
            offer.value = value
    db.session.commit()
    return plan


# Legal pages -------------------------------------------------------------------------------------


def legal_pages():
    """{slug: LegalPage or None} for every legal page, in their order."""
    saved = {page.slug: page for page in db.session.scalars(select(LegalPage))}
    return {slug: saved.get(slug) for slug in LEGAL_PAGES}


def save_legal_page(slug, body):
    """Write a legal page's text (plain text; line breaks are kept). Made on its first save."""
    if slug not in LEGAL_PAGES:
        raise ValueError(f"no legal page {slug!r}")
    body = (body or "").replace("\r\n", "\n").strip()
    if len(body) > MAX_LEGAL_BODY:
        raise PlanAdminError(_too_long(MAX_LEGAL_BODY), "body")
    page = db.session.get(LegalPage, slug)
    if page is None:
        page = LegalPage(slug=slug)
        db.session.add(page)
    page.body = body
    _commit("body", _l("Someone else saved this page at the same moment. Please check it and save again."))
    return page


# Subscriptions and their open invoices -----------------------------------------------------------


def subscriptions_page(state=None, page=1):
    """Subscriptions of every organisation, newest first, optionally in one state."""
    query = (
        select(Subscription)
        .options(selectinload(Subscription.organization), selectinload(Subscription.plan))
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )
    if state:
        query = query.where(Subscription.state == state)
    return db.paginate(query, page=max(page, 1), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)


def _open_invoices_query():
    """Subscription orders waiting for a bank transfer that an administrator may mark paid."""
    return select(Order).where(
        Order.purpose == "subscription",
        Order.state == "pending",
        Order.payments.any((Payment.provider == "bank_transfer") & (Payment.state == "created")),
    )


def open_invoices(subscriptions):
    """{subscription id: [open invoices, oldest first]} for these subscriptions."""
    ids = [subscription.id for subscription in subscriptions]
    invoices = {}
    if ids:
        orders = db.session.scalars(
            _open_invoices_query().where(Order.subscription_id.in_(ids)).order_by(Order.id)
        )
        for order in orders:
            invoices.setdefault(order.subscription_id, []).append(order)
    return invoices


def open_invoice(order_id):
    """The order if it is an open bank-transfer invoice of a subscription, else None."""
    return db.session.scalar(_open_invoices_query().where(Order.id == order_id))


# Sales requests ----------------------------------------------------------------------------------


def _sales_requests_query():
    return select(SalesRequest).order_by(SalesRequest.created_at.desc(), SalesRequest.id.desc())


def sales_requests_page(page=1):
    return db.paginate(
        _sales_requests_query(), page=max(page, 1), per_page=PER_PAGE, max_per_page=PER_PAGE,
        error_out=False,
    )


SALES_REQUESTS_CSV_HEADER = ("created_at", "name", "email", "organization", "cart", "message")


def sales_requests_csv(timezone_name="UTC"):
    """Every sales request, newest first, as CSV (moments in ISO 8601 in the time zone)."""
    return write_csv(SALES_REQUESTS_CSV_HEADER, (
        (local_iso(r.created_at, timezone_name), r.name, r.email, r.organization_name, r.cart, r.message)
        for r in db.session.scalars(_sales_requests_query())
    ))
