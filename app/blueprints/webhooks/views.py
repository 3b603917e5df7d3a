"""Provider webhooks: no CSRF (the provider posts), verified by the provider, used as triggers.

An event is never trusted for its content: once PayPal confirms its signature, we ask PayPal
for the order's current state and act on that, exactly as reconciliation does.
"""

from flask import abort, current_app, request

from app.blueprints.webhooks import bp
from app.extensions import csrf, db
from app.models import Organization
from app.services import checkout, commerce
from app.services.payments import paypal_provider
from app.services.payments.base import ProviderError


@bp.route("/webhooks/paypal/<int:organization_id>", methods=["POST"])
@csrf.exempt
def paypal(organization_id):
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        abort(404)
    settings = commerce.settings_for(organization)
    if not settings.paypal_enabled:
        abort(404)
    provider = paypal_provider(settings, current_app.config)
    try:
        event = provider.verify_webhook(request.headers, request.get_data())
    except ProviderError:
        return "verification unavailable", 503  # PayPal retries later
    if event is None:
        return "invalid signature", 400
    payment = checkout.payment_for_provider_order(event.provider_order_id or "")
    if payment is None or payment.order.organization_id != organization.id:
        return "", 204  # not one of ours: acknowledged so PayPal stops sending it
    try:
        status = provider.fetch_status(payment)
        if status.status == "completed" and status.capture is not None:
            checkout.record_capture(payment.id, status.capture)
        elif status.status == "approved":
            checkout.complete_provider_payment(payment, provider)
    except ProviderError:
        return "provider unavailable", 503
    return "", 204
