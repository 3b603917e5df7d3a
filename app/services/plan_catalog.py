"""The plans on sale: what the Plans and pricing page shows and what a cart may hold."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import AddOn, Feature, LegalPage, Plan


def plans_on_sale():
    return db.session.scalars(
        select(Plan)
        .where(Plan.retired.is_(False))
        .options(selectinload(Plan.features))
        .order_by(Plan.position, Plan.id)
    ).all()


def add_ons_on_sale():
    return db.session.scalars(
        select(AddOn).where(AddOn.retired.is_(False)).order_by(AddOn.position, AddOn.id)
    ).all()


def plan_on_sale(code):
    """The plan with this code, or None when there is none or it is retired."""
    return db.session.scalars(
        select(Plan).where(Plan.code == (code or ""), Plan.retired.is_(False))
    ).first()


def add_ons_by_code(codes):
    """{code: add-on} for the codes that name an add-on on sale."""
    if not codes:
        return {}
    rows = db.session.scalars(
        select(AddOn).where(AddOn.code.in_(list(codes)), AddOn.retired.is_(False))
    ).all()
    return {add_on.code: add_on for add_on in rows}


@dataclass(frozen=True)
class ComparisonRow:
    feature: Feature
    values: list  # per plan, in the plans' order: None (not included), "" (included) or a text


def comparison(plans):
    """The feature comparison table: every feature any of the plans offers, in order."""
    offered = {(pf.plan_id, pf.feature_id): pf.value for plan in plans for pf in plan.features}
    feature_ids = {feature_id for _, feature_id in offered}
    if not feature_ids:
        return []
    features = db.session.scalars(
        select(Feature).where(Feature.id.in_(feature_ids)).order_by(Feature.position, Feature.id)
    ).all()
    return [
        ComparisonRow(feature, [offered.get((plan.id, feature.id)) for plan in plans])
        for feature in features
    ]


def legal_page(slug):
    return db.session.get(LegalPage, slug)

