"""Which language a page is in: the picker, the stored preference, the cookie, the browser."""

from markupsafe import escape

from app.extensions import db
from tests import factories
from tests.i18n_helpers import translated


def lang_of(response):
    html = response.get_data(as_text=True)
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_the_browser_language_is_used_when_nothing_was_chosen(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"})) == "ro"


def test_an_unsupported_browser_language_falls_back_to_english(client):
    assert lang_of(client.get("/", headers={"Accept-Language": "de-DE"})) == "en"


def test_the_picker_remembers_the_choice_in_a_cookie_and_goes_back(csrf_client):
    response = csrf_client.post("/language", {"locale": "sl", "next": "/auth/sign-in"}, page="/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/sign-in"
    assert "lectern_locale=sl" in response.headers["Set-Cookie"]
    assert lang_of(csrf_client.get("/", headers={"Accept-Language": "fr"})) == "sl"


def test_a_signed_in_users_choice_is_stored_on_their_profile(csrf_client):
    user = factories.make_user()
    csrf_client.sign_in(user)

    csrf_client.post("/language", {"locale": "ru"}, page="/")

    db.session.refresh(user)
    assert user.locale == "ru"


def test_an_unknown_language_from_the_picker_is_refused_and_changes_nothing(csrf_client):
    user = factories.make_user(locale="sv")
    csrf_client.sign_in(user)

    response = csrf_client.post("/language", {"locale": "xx"}, page="/")

    assert response.status_code == 400
    assert "Set-Cookie" not in response.headers or "lectern_locale" not in response.headers["Set-Cookie"]
    db.session.refresh(user)
    assert user.locale == "sv"


def test_an_unknown_language_cookie_is_ignored(client):
    client.set_cookie("lectern_locale", "klingon")

    assert lang_of(client.get("/", headers={"Accept-Language": "fr"})) == "fr"


def test_an_unknown_language_in_the_url_is_explained_on_the_page(client):
    response = client.get("/?lang=xx", headers={"Accept-Language": "sv"})

    assert response.status_code == 200
    assert lang_of(response) == "sv"
    notice = translated(
        "sv",
        "The language “%(code)s” is not available; this page is shown in %(language)s.",
        code="xx",
        language="Svenska",
    )
    assert str(escape(notice)) in response.get_data(as_text=True)


def test_a_language_in_the_url_wins_for_that_page(client):
    assert lang_of(client.get("/?lang=ru", headers={"Accept-Language": "fr"})) == "ru"


def test_times_are_shown_in_the_readers_time_zone(csrf_client):
    from datetime import datetime, timezone

    factories.make_session(starts_at=datetime(2030, 1, 15, 8, 0, tzinfo=timezone.utc))
    user = factories.make_user(timezone="Asia/Tokyo", locale="en")
    csrf_client.sign_in(user)

    html = csrf_client.get("/").get_data(as_text=True)

    assert "Tuesday, January 15, 2030" in html
    assert "5:00\u202fPM" in html  # 08:00 UTC is 17:00 in Tokyo
    assert "Asia/Tokyo" in html
