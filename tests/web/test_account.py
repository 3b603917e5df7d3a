"""A user's own profile and password."""

from app.extensions import db
from app.services import accounts
from tests import factories


def test_profile_changes_name_language_and_time_zone(csrf_client):
    user = factories.make_user()
    csrf_client.sign_in(user)

    response = csrf_client.post("/account/", {"name": "New Name", "locale": "ro", "timezone": "Europe/Bucharest"})

    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.name, user.locale, user.timezone) == ("New Name", "ro", "Europe/Bucharest")
    assert '<html lang="ro">' in csrf_client.get("/account/").get_data(as_text=True)


def test_profile_refuses_an_unknown_time_zone_and_keeps_the_rest(csrf_client):
    user = factories.make_user(name="Old Name")
    csrf_client.sign_in(user)

    response = csrf_client.post("/account/", {"name": "Typed Name", "locale": "", "timezone": "Mars/Olympus"})

    assert response.status_code == 422
    assert 'value="Typed Name"' in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.name == "Old Name"


def test_changing_the_password_needs_the_current_one(csrf_client):
    user = factories.make_user()
    csrf_client.sign_in(user)
    new = {"password": "a fresh password!", "confirm": "a fresh password!"}

    wrong = csrf_client.post("/account/password", dict(new, current_password="nope"))
    right = csrf_client.post("/account/password", dict(new, current_password=factories.PASSWORD))

    assert wrong.status_code == 422
    assert "The current password is not correct." in wrong.get_data(as_text=True)
    assert right.status_code == 302
    assert accounts.authenticate(user.email, "a fresh password!") is not None


def test_account_pages_need_a_signed_in_user(client):
    assert client.get("/account/").status_code == 302
    assert client.get("/account/password").status_code == 302
