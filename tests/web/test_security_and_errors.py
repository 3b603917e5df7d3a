"""Security headers, CSRF, cookies and the friendly error pages."""

import pytest

from app import create_app
from tests import factories
from tests.i18n_helpers import translated


def test_every_page_sends_a_strict_content_security_policy_and_friends(client):
    response = client.get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


def test_hsts_is_sent_over_https(client):
    response = client.get("/", base_url="https://lectern.example")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_have_no_inline_scripts_or_styles(client):
    html = client.get("/auth/sign-up").get_data(as_text=True)

    assert "<script>" not in html and "<script " not in html.replace('<script src=', '')
    assert " style=" not in html and "<style" not in html


def test_the_session_cookie_is_http_only_and_same_site(client):
    cookie = client.get("/auth/sign-in").headers["Set-Cookie"]

    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    app = create_app("production", SECRET_KEY="s" * 64, SQLALCHEMY_DATABASE_URI="sqlite://")
    cookie = app.test_client().get("/auth/sign-in", base_url="https://lectern.example").headers["Set-Cookie"]

    assert "Secure" in cookie


def test_a_post_without_csrf_token_gets_a_translated_400_and_changes_nothing(client):
    response = client.post(
        "/auth/sign-up?lang=ru",
        data={"name": "A", "email": "a@example.com", "organization_name": "O",
              "password": "long enough password", "confirm": "long enough password"},
    )

    assert response.status_code == 400
    assert translated("ru", "This form has expired. Please go back, reload the page and try again.") in (
        response.get_data(as_text=True)
    )


def test_htmx_requests_carry_the_csrf_token_in_a_header(app, csrf_client):
    admin = factories.make_user(role="admin")
    csrf_client.sign_in(admin)

    without = csrf_client.client.post("/admin/departments", data={"name": "X"}, headers={"HX-Request": "true"})
    with_header = csrf_client.htmx_post("/admin/departments", {"name": "X"})

    assert without.status_code == 400
    assert with_header.status_code == 200


@pytest.mark.parametrize("locale", ["en", "sv", "ru"])
def test_not_found_is_a_friendly_translated_page(client, locale):
    response = client.get(f"/nothing-here?lang={locale}")

    assert response.status_code == 404
    assert translated(locale, "The page you asked for does not exist or has moved.") in (
        response.get_data(as_text=True)
    )


def test_forbidden_is_a_friendly_page(csrf_client):
    csrf_client.sign_in(factories.make_user(role="member"))

    response = csrf_client.get("/admin/people")

    assert response.status_code == 403
    assert "You do not have permission to open this page." in response.get_data(as_text=True)


def test_an_unexpected_error_is_a_friendly_500_page(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom?lang=fr")

    assert response.status_code == 500
    assert translated("fr", "Something went wrong") in response.get_data(as_text=True)


def test_too_many_password_reset_requests_get_a_429_page(csrf_client):
    statuses = [
        csrf_client.post("/auth/forgot-password", {"email": "x@example.com"}).status_code
        for _ in range(6)
    ]

    assert statuses[:5] == [302] * 5
    assert statuses[5] == 429
