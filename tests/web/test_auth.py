"""Sign up, sign in, sign out and password reset through the pages."""

import re

from app.extensions import db
from app.models import Organization, User
from app.services import accounts
from tests import factories
from tests.i18n_helpers import translated

SIGN_UP = {
    "name": "Ada Trainer",
    "email": "Ada@Example.com",
    "organization_name": "Ada's Academy",
    "password": "long enough password",
    "confirm": "long enough password",
}


def test_sign_up_creates_an_organisation_with_the_user_as_its_admin(csrf_client):
    response = csrf_client.post("/auth/sign-up", SIGN_UP)

    assert response.status_code == 302
    user = db.session.query(User).one()
    assert user.email == "ada@example.com"
    assert user.role == "admin"
    assert user.organization.name == "Ada's Academy"
    assert user.organization.subdomain == "ada-s-academy"
    assert "Ada Trainer" in csrf_client.get("/").get_data(as_text=True)


def test_sign_up_with_a_taken_email_keeps_the_input_and_creates_nothing(csrf_client):
    factories.make_user(email="ada@example.com")

    response = csrf_client.post("/auth/sign-up", SIGN_UP)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An account with this email address already exists." in html
    assert 'value="Ada Trainer"' in html
    assert db.session.query(Organization).count() == 1


def test_sign_up_errors_are_per_field_and_translated(csrf_client):
    data = dict(SIGN_UP, email="not-an-email", confirm="something else", password="short")

    response = csrf_client.post("/auth/sign-up?lang=fr", data, page="/auth/sign-up?lang=fr")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and 'id="password-error"' in html
    assert 'aria-invalid="true"' in html
    french = translated("fr", "Enter a valid email address.")
    assert french != "Enter a valid email address."
    assert french in html
    assert db.session.query(User).count() == 0


def test_sign_in_with_the_right_password_opens_the_session(csrf_client):
    user = factories.make_user()

    response = csrf_client.sign_in(user)

    assert response.headers["Location"] == "/"
    assert csrf_client.get("/account/").status_code == 200


def test_sign_in_with_a_wrong_password_says_so_without_naming_which_part(csrf_client):
    user = factories.make_user()

    response = csrf_client.post(
        "/auth/sign-in", {"email": user.email, "password": "wrong"}, page="/auth/sign-in"
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The email address or password is not correct." in html
    assert f'value="{user.email}"' in html
    assert csrf_client.get("/account/").status_code == 302


def test_sign_in_goes_back_to_a_local_next_page_but_never_off_site(csrf_client):
    user = factories.make_user()
    data = {"email": user.email, "password": factories.PASSWORD}

    local = csrf_client.post("/auth/sign-in?next=/account/", dict(data, next="/account/"))
    csrf_client.post("/auth/sign-out", page="/")
    offsite = csrf_client.post("/auth/sign-in", dict(data, next="//evil.example/"))

    assert local.headers["Location"] == "/account/"
    assert offsite.headers["Location"] == "/"


def test_sign_in_is_rate_limited_per_address(csrf_client):
    user = factories.make_user()
    statuses = [
        csrf_client.post("/auth/sign-in", {"email": user.email, "password": "guess"}).status_code
        for _ in range(11)
    ]

    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    page = csrf_client.post("/auth/sign-in", {"email": user.email, "password": factories.PASSWORD})
    assert page.status_code == 429
    assert "You have tried this too many times." in page.get_data(as_text=True)


def test_sign_out_needs_a_post_with_a_csrf_token(csrf_client, client):
    user = factories.make_user()
    csrf_client.sign_in(user)

    assert csrf_client.client.get("/auth/sign-out").status_code == 405
    assert csrf_client.client.post("/auth/sign-out").status_code == 400
    assert csrf_client.post("/auth/sign-out", page="/").status_code == 302
    assert csrf_client.get("/account/").status_code == 302


def _reset_link(message):
    return re.search(r"http://localhost(/auth/reset-password/\S+)", message.body_text).group(1)


def test_password_reset_mails_a_link_that_sets_a_new_password_once(csrf_client, outbox):
    user = factories.make_user(locale="sv")

    response = csrf_client.post("/auth/forgot-password", {"email": user.email.upper()})

    assert response.status_code == 302
    [message] = outbox()
    assert message.recipient == user.email and message.locale == "sv"
    link = _reset_link(message)
    new = {"password": "a brand new password", "confirm": "a brand new password"}
    assert csrf_client.post(link, new).status_code == 302
    assert accounts.authenticate(user.email, "a brand new password") == user
    reused = csrf_client.post(link, new, page="/auth/forgot-password")
    assert reused.status_code == 400
    assert "already been used" in reused.get_data(as_text=True)


def test_password_reset_for_an_unknown_address_looks_the_same_and_mails_nobody(csrf_client, outbox):
    response = csrf_client.post("/auth/forgot-password", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert outbox() == []


def test_an_expired_reset_link_is_refused_and_changes_nothing(app, csrf_client):
    user = factories.make_user()
    token = accounts.make_reset_token(user, app.config["SECRET_KEY"])
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    before = user.password_hash

    response = csrf_client.post(
        f"/auth/reset-password/{token}",
        {"password": "another new password", "confirm": "another new password"},
        page="/auth/forgot-password",
    )

    assert response.status_code == 400
    assert "This reset link has expired." in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.password_hash == before


def test_a_forged_reset_link_is_refused(client):
    response = client.get("/auth/reset-password/not-a-real-token")

    assert response.status_code == 400
    assert "This reset link is not valid." in response.get_data(as_text=True)
