"""The start page lists upcoming sessions; `flask demo load` fills an empty portal."""

from datetime import timedelta

from app.extensions import db
from app.models import Department, TrainingSession, User
from app.models.base import utcnow
from app.services import accounts, demo
from tests import factories


def test_home_lists_upcoming_scheduled_sessions_with_price_in_the_readers_locale(client):
    factories.make_session(title="Paid course", fee_minor=49000, currency="SEK")
    factories.make_session(title="Free taster", fee_minor=0)
    factories.make_session(title="Already over", starts_at=utcnow() - timedelta(days=1))
    factories.make_session(title="Called off", state="canceled")

    html = client.get("/?lang=sv").get_data(as_text=True)

    assert "Paid course" in html and "490,00\xa0kr" in html
    assert "Free taster" in html
    assert "Already over" not in html and "Called off" not in html


def test_demo_load_creates_an_organisation_people_departments_and_sessions(app):
    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output and demo.DEMO_PASSWORD in result.output
    assert db.session.query(Department).count() == 2
    roles = sorted((u.organization.kind, u.organization.is_operator, u.role) for u in db.session.query(User))
    assert roles == [("customer", False, "admin"), ("customer", False, "host"),  # the training provider
                     ("customer", True, "admin"), ("partner", False, "admin")]  # the operator, a partner
    sessions = db.session.query(TrainingSession).all()
    assert len(sessions) >= 3 and any(s.fee_minor > 0 for s in sessions)
    assert all(s.starts_at > utcnow() for s in sessions)
    assert accounts.authenticate("admin@example.com", demo.DEMO_PASSWORD) is not None


def test_demo_load_refuses_in_production_where_its_published_password_would_open_accounts(app):
    app.config["ENV_NAME"] = "production"

    result = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code != 0 and "not in production" in result.output
    assert not demo.has_users()


def test_demo_load_if_empty_leaves_an_existing_database_alone(app):
    factories.make_user()

    result = app.test_cli_runner().invoke(args=["demo", "load", "--if-empty"])
    refused = app.test_cli_runner().invoke(args=["demo", "load"])

    assert result.exit_code == 0
    assert refused.exit_code != 0
    assert db.session.query(User).count() == 1
