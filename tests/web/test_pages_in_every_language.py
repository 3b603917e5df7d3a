"""Every page renders in all six languages, with the lang attribute and a translated heading."""

import pytest

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
