"""Scale-out tests run the portal as separate processes against one PostgreSQL database of
their own (built by the migrations, as production's is) and one Redis. The test process
arranges data and reads results through `shared_db`, an app on the same database.

Outside CI they are skipped when PostgreSQL (TEST_DATABASE_URL) or Redis is missing; with
CI=true a missing one fails them.
"""

import os
import uuid

import pytest
import redis
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from tests.conftest import IN_CI, TEST_DATABASE_URL
from tests.processes import flask_command, portal_env

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _missing(what):
    if IN_CI:
        pytest.fail(f"CI=true but {what}")
    pytest.skip(what)


@pytest.fixture(scope="session")
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        _missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def shared_database_url():
    """A new database on TEST_DATABASE_URL's server, migrated once, dropped at the end of the
    run (dropping makes PostgreSQL checkpoint, which takes seconds: once is enough)."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        _missing("scale-out tests need PostgreSQL: set TEST_DATABASE_URL")
    name = f"lectern_scale_{uuid.uuid4().hex[:12]}"
    server = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
        flask_command(["db", "upgrade"], portal_env(DATABASE_URL=url))
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def shared_db(shared_database_url, tmp_path):
    """The test's own app on the shared database; every table is emptied after the test."""
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=shared_database_url, MAIL_FILE_DIR=str(tmp_path / "mail"))
    with app.app_context():
        yield app
        db.session.remove()
        names = ", ".join(table.name for table in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        db.engine.dispose()
