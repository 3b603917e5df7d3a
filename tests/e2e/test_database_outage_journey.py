"""What a host sees when the database goes away under an htmx update: the portal's own notice
that their data is safe (htmx never shows a 5xx's body), and the page working again after."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app import create_app
from app.extensions import db
from app.services import commerce
from tests import factories
from tests.e2e.conftest import LiveServer
from tests.e2e.test_journeys import sign_in
from tests.faults.pg_cluster import PostgresCluster, require_own_cluster


@pytest.fixture
def live_server(tmp_path):
    """The live server on a PostgreSQL of its own, which the test may stop and start."""
    require_own_cluster()
    with PostgresCluster() as cluster:
        app = create_app("testing", SQLALCHEMY_DATABASE_URI=cluster.create_database("lectern"),
                         MAIL_FILE_DIR=str(tmp_path / "mail"))
        with app.app_context():
            db.create_all()
            host = factories.make_user(role="host", email="hana@example.com")
            host.organization.currency = "EUR"
            commerce.update_settings(host.organization, enabled=True, pay_per_use=True,
                                     person_minute_rate=Decimal("2"))
            factories.make_session(host=host, state="awaiting_payment", capacity=10)
            db.engine.dispose()
        with LiveServer(app) as server:
            server.cluster = cluster
            yield server
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def expected_console_errors():
    return ["status of 503", "Error Code 503"]  # the request the outage answers (Chromium, htmx)


def test_an_estimate_update_during_an_outage_says_the_data_is_safe_and_works_again_after(page, live_server):
    page.goto(f"{live_server.url}/auth/sign-in")
    sign_in(page, "hana@example.com", factories.PASSWORD)
    page.goto(f"{live_server.url}/sessions/")
    page.get_by_role("link", name="Awaiting your payment: see the estimated cost").click()
    expect(page.locator("#estimate-total")).to_have_text("€12.00")  # 60 minutes × 10 × 2 cents

    live_server.cluster.stop()
    page.get_by_label("Computers connected to the session").fill("25")

    notice = page.locator("#request-error")
    expect(notice).to_contain_text("Lectern is briefly unavailable")
    expect(notice).to_contain_text("Your data is safe. Please try again in a few seconds.")
    expect(page.locator("#estimate-total")).to_have_text("€12.00")  # the old figures stay

    live_server.cluster.start()
    page.get_by_label("Computers connected to the session").fill("20")
    expect(page.locator("#estimate-total")).to_have_text("€24.00")
    expect(notice).to_be_hidden()
