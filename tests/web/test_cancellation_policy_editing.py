"""Administrators set the site's default cancellation policy (with waitlist offer and reminder
hours); hosts may give a session a policy of its own; the public page shows the one that applies."""

from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import CommerceSettings, TrainingSession
from app.services import commerce
from tests import factories
from tests.web.test_admin_commerce import GOOD

SESSION_FORM = {
    "title": "Excel for managers", "description": "", "time_of_day": "09:30",
    "timezone": "Europe/Stockholm", "duration_min": "90", "capacity": "12",
    "access_mode": "registration", "meeting_url": "", "fee": "490",
}


def session_form(**changes):
    return dict(SESSION_FORM, day=(date.today() + timedelta(days=10)).isoformat(), **changes)


@pytest.fixture
def admin(csrf_client):
    user = factories.make_user(role="admin")
    user.organization.currency = "EUR"
    db.session.commit()
    csrf_client.sign_in(user)
    return user


def stored_settings(organization):
    db.session.expire_all()
    return db.session.get(CommerceSettings, organization.id)


def test_the_admin_writes_the_default_policy_as_text_and_it_is_stored_as_tiers(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", dict(
        GOOD, cancellation_tiers="48 50%\n7d 100%\n24 fee 10.00", waitlist_offer_hours="12",
        reminder_hours="1, 24 ,24"))

    assert response.status_code == 302
    settings = stored_settings(admin.organization)
    assert settings.cancellation_policy == (
        '[{"hours_before":168,"refund_percent":100},{"hours_before":48,"refund_percent":50},'
        '{"hours_before":24,"fee_minor":1000}]'
    )
    assert (settings.waitlist_offer_hours, settings.reminder_hours) == (12, "24,1")
    page = csrf_client.get("/admin/commerce").get_data(as_text=True)
    assert "168 100%\n48 50%\n24 fee 10.00</textarea>" in page
    assert ("Free cancellation until 7 days before the start; 50 % refund until 48 hours before; "
            "refund minus a fee of €10.00 until 24 hours before; no self-service cancellation after that.") in page


@pytest.mark.parametrize("changes, message", [
    ({"cancellation_tiers": "168 100%\n48 half"}, "Line 2: write the hours before the start"),
    ({"cancellation_tiers": "48 120%"}, "Line 1: A refund percentage must be a whole number from 0 to 100."),
    ({"reminder_hours": "24, 0"}, "Enter whole numbers of hours from 1 to 8784, separated by commas"),
    ({"reminder_hours": "soon"}, "Enter whole numbers of hours from 1 to 8784, separated by commas"),
    ({"reminder_hours": "1,2,3,4,5,6"}, "Enter at most 5 reminders."),
    ({"waitlist_offer_hours": "0"}, "Enter a number of hours from 1 to 168."),
])
def test_bad_attendee_settings_are_refused_with_a_clear_message_and_nothing_saved(
    csrf_client, admin, changes, message
):
    response = csrf_client.post("/admin/commerce", {**GOOD, **changes})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_settings(admin.organization) is None


def test_no_reminders_and_no_self_service_cancellation_are_allowed(csrf_client, admin):
    response = csrf_client.post("/admin/commerce", dict(GOOD, cancellation_tiers="", reminder_hours=""))

    assert response.status_code == 302
    settings = stored_settings(admin.organization)
    assert (settings.cancellation_policy, settings.reminder_hours) == ("[]", "")


def test_a_host_gives_a_session_its_own_policy_and_the_public_page_shows_it(csrf_client, admin):
    commerce.update_settings(admin.organization, enabled=True, fee_based=True,
                             cancellation_policy='[{"hours_before": 48, "refund_percent": 100}]')

    response = csrf_client.post("/sessions/new", session_form(
        cancellation_choice="own", cancellation_tiers="72 100%\n24 25%"))

    assert response.status_code == 302
    session = db.session.query(TrainingSession).one()
    assert session.cancellation_policy == (
        '[{"hours_before":72,"refund_percent":100},{"hours_before":24,"refund_percent":25}]'
    )
    public = csrf_client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert ("Free cancellation until 3 days before the start; 25 % refund until 24 hours before; "
            "no self-service cancellation after that.") in public
    edit = csrf_client.get(f"/sessions/{session.id}/edit").get_data(as_text=True)
    assert "72 100%\n24 25%</textarea>" in edit and '<option selected value="own">' in edit
    assert "The site's default policy: Free cancellation until 48 hours before the start" in edit


def test_a_session_on_the_sites_default_follows_it_and_can_go_back_to_it(csrf_client, admin):
    commerce.update_settings(admin.organization, enabled=True, fee_based=True,
                             cancellation_policy='[{"hours_before": 48, "refund_percent": 100}]')
    session = factories.make_session(host=admin, fee_minor=4900, currency="EUR",
                                     cancellation_policy='[{"hours_before": 2, "refund_percent": 10}]')

    response = csrf_client.post(f"/sessions/{session.id}/edit", session_form(
        cancellation_choice="default", cancellation_tiers="2 10%"))

    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(TrainingSession, session.id).cancellation_policy is None
    public = csrf_client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "Free cancellation until 48 hours before the start; no self-service cancellation after that." in public


def test_an_own_policy_left_empty_offers_no_self_service_and_a_bad_one_is_refused(csrf_client, admin):
    commerce.update_settings(admin.organization, enabled=True, fee_based=True,
                             cancellation_policy='[{"hours_before": 48, "refund_percent": 100}]')

    refused = csrf_client.post("/sessions/new", session_form(
        cancellation_choice="own", cancellation_tiers="48 50%\n2d 20%"))
    accepted = csrf_client.post("/sessions/new", session_form(cancellation_choice="own", cancellation_tiers=""))

    assert refused.status_code == 422
    assert "Each number of hours may appear only once in a policy." in refused.get_data(as_text=True)
    assert accepted.status_code == 302
    session = db.session.query(TrainingSession).one()
    assert session.cancellation_policy == "[]"
    public = csrf_client.get(f"/s/{session.slug}").get_data(as_text=True)
    assert "Self-service cancellation is not offered for this session." in public
