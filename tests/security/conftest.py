"""One portal per test module and backend (see portal.py): building the world once and
rebuilding it only after a request that changed it keeps several hundred requests fast."""

import pytest
from flask import request_started

from app import create_app
from app.extensions import db
from tests.conftest import _empty_all_tables, _fresh_globals
from tests.fakes.paypal import FakePayPal
from tests.security.portal import Portal


@pytest.fixture(scope="module")
def portal(database_url, tmp_path_factory):
    with FakePayPal() as paypal:
        app = create_app(
            "testing", SQLALCHEMY_DATABASE_URI=database_url,
            MAIL_FILE_DIR=str(tmp_path_factory.mktemp("mail")),
            RATELIMIT_ENABLED=False,  # hundreds of requests from one address; limits have their own tests
            PAYPAL_BASE_URL=paypal.base_url, PAYPAL_CLIENT_ID=paypal.client_id,
            PAYPAL_CLIENT_SECRET=paypal.client_secret,
        )
        request_started.connect(_fresh_globals, app)
        with app.app_context():
            yield Portal(app, paypal)
            db.session.remove()
            _empty_all_tables()
            db.engine.dispose()
