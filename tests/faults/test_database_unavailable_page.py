"""While the database cannot be reached, every request gets the translated 503 page.

The app here points at a loopback port nobody listens on: PostgreSQL refusing connections,
as it does while it restarts.
"""

import pytest

from app import create_app
from tests.fakes.smtp import free_port
from tests.i18n_helpers import translated

RETRIES_ITSELF = "Your data is safe. This page will try again in a few seconds."
TRY_AGAIN = "Your data is safe. Please try again in a few seconds."


@pytest.fixture
def app_without_database():
    return create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/lectern",
        WTF_CSRF_ENABLED=False,
        PROPAGATE_EXCEPTIONS=False,  # as in production: what no handler answers becomes a 500
    )


@pytest.fixture
def visitor(app_without_database):
    return app_without_database.test_client()


@pytest.fixture
def signed_in_visitor(visitor):
    with visitor.session_transaction() as session:
        session["_user_id"] = "1"  # Flask-Login will load user 1 from the database
    return visitor


def in_language(app, locale, message, **variables):
    with app.app_context():
        return translated(locale, message, **variables)


def test_a_page_is_a_translated_503_that_tries_again_by_itself(app_without_database, visitor):
    response = visitor.get("/?lang=sv")
    html = response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert '<html lang="sv">' in html
    swedish = in_language(app_without_database, "sv", RETRIES_ITSELF)
    assert swedish != RETRIES_ITSELF and swedish in html
    assert in_language(app_without_database, "sv", "Error code: %(code)s", code=503) in html
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'href="/?lang=sv"' in html  # "Try again now" reloads the same page


def test_a_form_sent_meanwhile_gets_a_notice_to_try_again_without_reloading(visitor):
    response = visitor.post("/s/demo-2/register", data={"name": "A", "email": "a@example.com"})
    html = response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert TRY_AGAIN in html
    assert "http-equiv" not in html  # a refresh would GET the form's address, not send it


def test_an_htmx_request_gets_the_notice_alone(visitor):
    """app.js shows the .unavailable-notice where htmx requests report failures."""
    response = visitor.get("/s/demo-2", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert html.strip().startswith('<div class="unavailable-notice">')
    assert "Lectern is briefly unavailable" in html and TRY_AGAIN in html
    assert "<html" not in html and "http-equiv" not in html  # nothing reloads by itself


@pytest.mark.parametrize("path", ["/", "/s/demo-2", "/no-such-page", "/sessions/"])
def test_a_signed_in_visitor_gets_the_503_page_though_loading_them_fails_too(
    app_without_database, signed_in_visitor, path
):
    """Loading the user (for the navigation, or their language) fails as well; even on the
    404 page, whose handler needs them, the answer is the 503 page, not a bare 500."""
    response = signed_in_visitor.get(path, headers={"Accept-Language": "fr"})

    assert response.status_code == 503
    assert in_language(app_without_database, "fr", RETRIES_ITSELF) in response.get_data(as_text=True)
    with signed_in_visitor.session_transaction() as session:
        assert session["_user_id"] == "1"  # still signed in once the database is back


def test_an_unexpected_error_meanwhile_still_gets_a_page(app_without_database, signed_in_visitor):
    @app_without_database.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = signed_in_visitor.get("/boom")

    assert response.status_code == 503  # the 500 page needs the user, who cannot be loaded
    assert RETRIES_ITSELF in response.get_data(as_text=True)
