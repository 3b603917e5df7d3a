"""Fixtures: an app per test on each database backend, clients, sign-in helpers, outbox access.

Database tests run on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL too. With
CI=true a missing PostgreSQL or Chromium fails the run instead of skipping those tests.
"""

import os
import re
import shutil

import pytest
from flask import g, request_started
from sqlalchemy import create_engine, select, text

from app import create_app
from app.extensions import db, limiter
from app.models import OutboxMessage
from tests import factories

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = "/usr/bin/chromium"
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def pytest_configure(config):
    if not IN_CI:
        return
    if not TEST_DATABASE_URL.startswith("postgresql"):
        raise pytest.UsageError("CI=true needs TEST_DATABASE_URL pointing at PostgreSQL")
    try:
        with create_engine(TEST_DATABASE_URL).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure must stop CI, not skip tests
        raise pytest.UsageError(f"CI=true but PostgreSQL is not reachable: {exc}")
    if not shutil.which(CHROMIUM):
        raise pytest.UsageError(f"CI=true but {CHROMIUM} is missing: the browser tests must run")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter):
    """Say how many tests ran per backend and in Chromium, so CI shows they were not skipped."""
    passed = terminalreporter.stats.get("passed", [])
    counts = {
        "SQLite": sum("[sqlite" in r.nodeid for r in passed),
        "PostgreSQL": sum("[postgresql" in r.nodeid for r in passed),
        "Chromium journeys": sum("/e2e/" in r.nodeid for r in passed),
    }
    terminalreporter.write_line(
        "passed per kind: " + ", ".join(f"{name} {count}" for name, count in counts.items())
    )


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """One schema per backend for the whole run (create_all is allowed in tests only)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        url = TEST_DATABASE_URL
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield url
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=database_url,
        MAIL_FILE_DIR=str(tmp_path / "mail"),
    )
    request_started.connect(_fresh_globals, app)
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        _empty_all_tables()
        db.engine.dispose()


def _fresh_globals(sender, **extra):
    """Tests hold one app context, which requests then share; give each request a fresh `g`
    (as in production) so the signed-in user, language and time zone are not carried over."""
    for key in list(g):
        g.pop(key)


def _empty_all_tables():
    tables = list(reversed(db.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def postgresql_app(app):
    """For race tests: only a real multi-writer database shows them (SQLite serialises writers)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: the race tests run on the PostgreSQL backend")
    db.engine.pool.dispose()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_client(app):
    """A client for requests that must pass CSRF checks (WTF_CSRF is on in tests)."""
    return CsrfClient(app.test_client())


class CsrfClient:
    """Wraps a test client: fetches a page first and posts its CSRF token along."""

    TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, client):
        self.client = client

    def token(self, page="/"):
        html = self.client.get(page).get_data(as_text=True)
        match = self.TOKEN.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def get(self, *args, **kwargs):
        return self.client.get(*args, **kwargs)

    def post(self, url, data=None, page=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(page or url))
        return self.client.post(url, data=data, **kwargs)

    def htmx_post(self, url, data=None, page=None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.token(page or url)}
        return self.client.post(url, data=data or {}, headers=headers, **kwargs)

    def sign_in(self, user, password=factories.PASSWORD):
        response = self.post(
            "/auth/sign-in", {"email": user.email, "password": password}, page="/auth/sign-in"
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return response


@pytest.fixture
def paypal():
    """A fake PayPal on loopback, speaking the REST protocol our client uses."""
    from tests.fakes.paypal import FakePayPal

    with FakePayPal() as fake:
        yield fake


@pytest.fixture
def outbox(app):
    """The queued/sent messages, newest last."""

    def messages():
        db.session.expire_all()
        return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()

    return messages
