"""Every page renders in all six languages, with the lang attribute and a translated heading."""

import pytest
from markupsafe import escape

from tests import factories
from tests.i18n_helpers import translated

LOCALES = ["en", "sv", "fr", "sl", "ro", "ru"]

# page, who sees it (None = anonymous), a string the page must show in the reader's language
PAGES = [
    ("/", None, "Upcoming sessions"),
    ("/auth/sign-up", None, "Create your organisation"),
    ("/auth/sign-in", None, "Forgot your password?"),
    ("/auth/forgot-password", None, "Send the link"),
    ("/account/", "member", "My profile"),
    ("/account/password", "member", "Change your password"),
    ("/admin/people", "admin", "Add a person"),
    ("/admin/departments", "admin", "Add department"),
    ("/admin/organization", "admin", "Organisation settings"),
    ("/no-such-page", None, "Page not found"),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path,role,message", PAGES, ids=[p[0] for p in PAGES])
def test_page_speaks_the_chosen_language(csrf_client, path, role, message, locale):
    if role:
        csrf_client.sign_in(factories.make_user(role=role))
    factories.make_session(fee_minor=49000, currency="SEK")

    response = csrf_client.get(path, headers={"Accept-Language": locale})

    html = response.get_data(as_text=True)
    assert response.status_code == (404 if path == "/no-such-page" else 200)
    assert f'<html lang="{locale}">' in html
    expected = translated(locale, message)
    if locale != "en":
        assert expected != message, f"{message!r} is not translated into {locale}"
    assert expected in html


def test_reset_password_page_speaks_the_chosen_language(app, client):
    from app.services.accounts import make_reset_token

    user = factories.make_user()
    token = make_reset_token(user, app.config["SECRET_KEY"])
    for locale in LOCALES:
        html = client.get(f"/auth/reset-password/{token}?lang={locale}").get_data(as_text=True)
        assert f'<html lang="{locale}">' in html
        assert translated(locale, "Choose a new password") in html


COMMERCE_PAGES = [
    ("/sessions/", "host", "Schedule a session"),
    ("/sessions/new", "host", "Who may join"),
    ("/sessions/{session_id}/edit", "host", "Cancel this session"),
    ("/sessions/{session_id}/orders", "host", "Orders for %(title)s"),
    ("/s/{slug}", None, "Seats left"),
    ("/s/{slug}/register", None, "Continue to payment"),
    ("/checkout/{token}", None, "Payment information"),
    ("/checkout/{token}/receipt", None, "Your order"),
    ("/admin/commerce", "admin", "Bank transfer details"),
    ("/admin/coupons", "admin", "Generate codes"),
    ("/admin/orders", "admin", "Orders"),
    ("/admin/revenue", "admin", "Revenue"),
    ("/sessions/{session_id}/invitations", "host", "Generate links"),
    ("/sessions/{session_id}/attendance", "host", "Nobody has joined yet."),
    ("/sessions/{session_id}/invitations/email", "host", "Email invitations"),
    ("/invitations/lists", "host", "Subscriber lists"),
    ("/j/not-a-real-link", None, "This link does not work"),
    ("/sessions/{session_id}/cost", "host", "Estimated session cost"),
    ("/admin/spend", "admin", "Pay-per-use spend"),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path,role,message", COMMERCE_PAGES, ids=[p[0] for p in COMMERCE_PAGES])
def test_commerce_page_speaks_the_chosen_language(app, csrf_client, path, role, message, locale):
    from app.services import commerce, registrations
    from app.services.order_links import make_order_token

    host = factories.make_user(role="host")
    commerce.update_settings(host.organization, enabled=True, fee_based=True, coupons=True,
                             pay_per_use=True, bank_transfer_enabled=True, bank_transfer_details="IBAN")
    session = factories.make_session(host=host, fee_minor=49000, currency="SEK")
    order = registrations.register(session, "Ana", "ana@example.com", "en", 15)
    if role == "host":
        csrf_client.sign_in(host)
    elif role == "admin":
        csrf_client.sign_in(factories.make_user(host.organization, role="admin"))
    url = path.format(session_id=session.id, slug=session.slug,
                      token=make_order_token(order, app.config["SECRET_KEY"]))

    response = csrf_client.get(url, headers={"Accept-Language": locale})

    html = response.get_data(as_text=True)
    assert response.status_code == (404 if path.startswith("/j/") else 200)
    assert f'<html lang="{locale}">' in html
    expected = translated(locale, message, title=session.title)
    if locale != "en":
        assert expected != message % {"title": session.title}
    assert str(escape(expected)) in html


PLAN_PAGES = [
    ("/plans/", None, "Feature comparison"),
    ("/plans/cart", None, "Proceed to checkout"),
    ("/plans/checkout", None, "Account details"),
    ("/plans/checkout", "admin", "Calling plan and phone numbers"),
    ("/plans/contact-sales", None, "Send to sales"),
    ("/plans/subscription", "subscriber", "Add licenses"),
    ("/plans/legal/terms", None, "Terms of use"),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path,role,message", PLAN_PAGES,
                         ids=[f"{p[0]}:{p[1]}" for p in PLAN_PAGES])
def test_plan_page_speaks_the_chosen_language(csrf_client, path, role, message, locale):
    from tests.plan_factories import make_add_on, make_plan
    from tests.subscription_factories import make_subscription

    plan = make_plan("business", features=[("Cloud recording", "")])
    make_add_on("callback")
    csrf_client.post("/plans/cart", {"plan": "business"}, page="/plans/")
    if role == "admin":
        csrf_client.sign_in(factories.make_user(role="admin"))
    elif role == "subscriber":
        csrf_client.sign_in(make_subscription(plan=plan).buyer)

    response = csrf_client.get(path, headers={"Accept-Language": locale})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{locale}">' in html
    expected = translated(locale, message)
    if locale != "en":
        assert expected != message
    assert str(escape(expected)) in html


PARTNER_PAGES = [
    ("/partners/orders", "partner", "Place an order"),
    ("/partners/orders/new", "partner", "Requested start date"),
    ("/partners/setup/{token}", None, "I am a partner"),
    ("/partners/setup/not-a-token", None, "This setup link is not valid"),
]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("path,role,message", PARTNER_PAGES, ids=[p[0] for p in PARTNER_PAGES])
def test_partner_page_speaks_the_chosen_language(app, csrf_client, path, role, message, locale):
    from app.models.base import utcnow
    from app.services import partner_orders
    from tests.plan_factories import make_plan

    make_plan("business")
    partner = factories.make_user(factories.make_organization(kind="partner"), role="admin")
    order = partner_orders.place_order(partner, partner_orders.OrderRequest(
        "business", "annual", 3, (), "Customer Oy", utcnow().date(), "it@customer.example"), utcnow().date())
    if role == "partner":
        csrf_client.sign_in(partner)
    url = path.format(token=partner_orders.make_setup_token(order, app.config["SECRET_KEY"]))

    response = csrf_client.get(url, headers={"Accept-Language": locale})

    html = response.get_data(as_text=True)
    assert response.status_code == (400 if "not-a-token" in path else 200)
    assert f'<html lang="{locale}">' in html
    expected = translated(locale, message)
    if locale != "en":
        assert expected != message
    assert str(escape(expected)) in html
