"""/c/<token>: what cancelling gives now, and the button that does it. No account is needed:
the token is a capability, found only in the attendee's confirmation email."""

from flask import current_app

from app.blueprints.cancellations import bp
from app.blueprints.cancellations.forms import CancelRegistrationForm
from app.extensions import limiter
from app.models.base import utcnow
from app.services import cancellation_policy, cancellations, commerce
from app.services.locks import Busy
from app.services.payments import provider_for_order
from app.web import render


@bp.app_template_global()
def cancellation_terms(session):
    """The session's cancellation policy in words, in the reader's language (pages and emails)."""
    settings = commerce.settings_for(session.organization)
    return cancellation_policy.describe(cancellation_policy.policy_for(session, settings), session.currency)


@bp.app_template_global()
def default_cancellation_terms(organization):
    """The site's default policy in words (the host's session form shows it)."""
    tiers = cancellation_policy.read(commerce.settings_for(organization).cancellation_policy)
    return cancellation_policy.describe(tiers, organization.currency)


def _cancel_limit():
    return current_app.config["RATELIMIT_CANCEL"]


def _page(registration, form, outcome=None, error=None, status=200):
    tiers, quote = cancellations.terms(registration, utcnow())
    refund = outcome.refund if outcome else cancellations.latest_refund(registration)
    return render(
        "cancellations/cancel.html", status=status, registration=registration,
        session=registration.session, order=registration.order, tiers=tiers, quote=quote, form=form,
        outcome=outcome, refund=refund, error=error,
    )


@bp.route("/c/<token>", methods=["GET", "POST"])
@limiter.limit(_cancel_limit, methods=["POST"])
def cancel(token):
    registration = cancellations.registration_for_token(token)
    if registration is None:
        # The same page for unknown and malformed links: nothing to learn by guessing.
        return render("join/unknown_link.html", status=404)
    form = CancelRegistrationForm()
    if not form.validate_on_submit():
        return _page(registration, form, status=400 if form.is_submitted() else 200)
    try:
        outcome = cancellations.cancel_by_token(token, provider_for_order)
    except (cancellations.CancellationError, Busy) as error:
        return _page(registration, form, error=error.message, status=409)
    return _page(outcome.registration, form, outcome=outcome)
