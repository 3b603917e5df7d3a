"""Two app servers (gunicorn, two workers each) against one PostgreSQL database and one Redis:
what a visitor can do does not depend on which server, or which worker, answers."""

import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis

from app.extensions import db
from app.models import Registration
from app.services import commerce
from tests import factories
from tests.processes import Browser, app_servers, portal_env

SHARED_SECRET = "one-secret-key-for-every-server"


def server_env(database_url, tmp_path, **settings):
    return portal_env(
        DATABASE_URL=database_url, SECRET_KEY=SHARED_SECRET, MAIL_DELIVER_AFTER_REQUEST=0,
        MAIL_FILE_DIR=tmp_path / "mail", RATELIMIT_SIGN_IN="3 per minute", RATELIMIT_COUPON="3 per minute",
        **settings,
    )


@pytest.fixture(scope="module")
def limit_prefix():
    """A fresh prefix for the limit counters, so earlier runs' counts in Redis do not matter."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def servers(shared_database_url, redis_url, limit_prefix, tmp_path_factory):
    env = server_env(shared_database_url, tmp_path_factory.mktemp("servers"),
                     RATELIMIT_STORAGE_URI=redis_url, RATELIMIT_KEY_PREFIX=limit_prefix)
    with app_servers(env) as both:
        yield both


@pytest.fixture
def fresh_limits(redis_url, limit_prefix):
    """Every test starts with no counts: all of them come from the same address."""
    yield
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{limit_prefix}*"):  # Flask-Limiter puts its own prefix first
        client.delete(key)


@pytest.fixture
def shop(shared_db):
    """A site selling a paid session with coupons on; `capacity` seats."""

    def make(capacity=10):
        host = factories.make_user(role="host")
        commerce.update_settings(host.organization, enabled=True, fee_based=True, coupons=True,
                                 bank_transfer_enabled=True, hold_minutes=15)
        return factories.make_session(host=host, fee_minor=49000, currency="SEK", capacity=capacity)

    return make


def register(browser, server, session, email):
    return browser.post_form(f"{server.url}/s/{session.slug}/register", {"name": "Attendee", "email": email})


def test_sign_in_guesses_through_both_servers_count_against_one_limit(servers, shared_db, fresh_limits):
    first, second = servers
    user = factories.make_user()
    browser = Browser()
    guess = {"email": user.email, "password": "wrong"}

    statuses = [browser.post_form(f"{first.url}/auth/sign-in", guess).status for _ in range(2)]
    statuses += [browser.post_form(f"{second.url}/auth/sign-in", guess).status for _ in range(2)]

    assert statuses == [422, 422, 422, 429]


def test_coupon_guesses_through_both_servers_count_against_one_limit(servers, shop, fresh_limits):
    first, second = servers
    browser = Browser()
    checkout_page = register(browser, first, shop(), "ana@example.com").url
    checkout_path = urlsplit(checkout_page).path
    assert checkout_path.startswith("/checkout/")

    statuses = [
        browser.post_form(f"{server.url}{checkout_path}/coupon", {"code": f"GUESS{n}"}, page=checkout_page).status
        for n, server in enumerate((first, second, second, first))
    ]

    assert statuses == [422, 422, 422, 429]


def test_the_last_seat_held_through_one_server_is_taken_on_the_other_until_the_hold_runs_out(
        servers, shop, fresh_limits):
    first, second = servers
    session = shop(capacity=1)

    held = register(Browser(), first, session, "ana@example.com")
    refused = register(Browser(), second, session, "bo@example.com")

    assert "/checkout/" in held.url
    assert refused.status == 422 and "Sorry, this session is full." in refused.text

    hold = db.session.query(Registration).filter_by(email="ana@example.com").one()
    hold.hold_expires_at = hold.order.expires_at = hold.hold_expires_at - timedelta(minutes=30)
    db.session.commit()

    taken = register(Browser(), second, session, "bo@example.com")
    refused_again = register(Browser(), first, session, "cy@example.com")

    assert "/checkout/" in taken.url
    assert refused_again.status == 422 and "Sorry, this session is full." in refused_again.text
    db.session.expire_all()
    assert {(r.email, r.state) for r in db.session.query(Registration)} == {
        ("ana@example.com", "expired"), ("bo@example.com", "held"),
    }


def test_a_visitor_signed_in_through_one_server_is_signed_in_on_the_other(servers, shared_db, fresh_limits):
    first, second = servers
    user = factories.make_user(name="Signe Shared")
    browser = Browser()

    # The sign-in form comes from the first server; the second accepts its CSRF token.
    signed_in = browser.post_form(f"{second.url}/auth/sign-in",
                                  {"email": user.email, "password": factories.PASSWORD},
                                  page=f"{first.url}/auth/sign-in")
    profile = browser.get(f"{first.url}/account/")
    stranger = Browser().get(f"{first.url}/account/")

    assert signed_in.status == 200 and "/auth/sign-in" not in signed_in.url
    assert profile.status == 200 and profile.url == f"{first.url}/account/" and "Signe Shared" in profile.text
    assert "/auth/sign-in" in stranger.url


def test_without_redis_each_server_counts_guesses_alone(shared_database_url, shared_db, tmp_path):
    """Why the Redis setting matters: the default memory:// store is one per process."""
    env = server_env(shared_database_url, tmp_path)
    user = factories.make_user()
    browser = Browser()
    guess = {"email": user.email, "password": "wrong"}

    with app_servers(env, workers=1) as (first, second):
        statuses = [browser.post_form(f"{first.url}/auth/sign-in", guess).status for _ in range(2)]
        statuses += [browser.post_form(f"{second.url}/auth/sign-in", guess).status for _ in range(2)]

    assert statuses == [422, 422, 422, 422]
