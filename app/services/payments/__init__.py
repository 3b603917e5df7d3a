"""Payment providers. PayPal is the one that moves money over an API; bank transfers are
confirmed by an administrator and zero totals need no provider (see services/checkout.py)."""


def provider_for_order(order):
    """The PayPal of the site the order belongs to (with the running app's defaults); plans
    are bought from the portal's operator, through the server's own PayPal account."""
    from flask import current_app

    from app.services.commerce import settings_for

    if order.purpose == "subscription":
        return operator_paypal(current_app.config)
    return paypal_provider(settings_for(order.organization), current_app.config)


def operator_paypal(config):
    """The PayPal account in the server's configuration (LECTERN_PAYPAL_*)."""
    from types import SimpleNamespace

    own = SimpleNamespace(paypal_base_url="", paypal_client_id="",
                          paypal_client_secret="",  # "": the server's setting  # nosec B106
                          paypal_webhook_id="")
    return paypal_provider(own, config)


def paypal_provider(settings, config):
    """The site's PayPal, with its own credentials, falling back to the server's defaults."""
    from app.services.payments.paypal import PayPalProvider
    from app.services.payments.paypal_client import PayPalClient

    client = PayPalClient(
        settings.paypal_base_url or config["PAYPAL_BASE_URL"],
        settings.paypal_client_id or config["PAYPAL_CLIENT_ID"],
        settings.paypal_client_secret or config["PAYPAL_CLIENT_SECRET"],
        timeout=(3.05, config["PAYPAL_READ_TIMEOUT"]),
    )
    return PayPalProvider(client, settings.paypal_webhook_id)
