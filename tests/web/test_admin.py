"""Administration: people, departments, organisation settings; only for the organisation's admins."""

import pytest

from app.extensions import db
from app.models import Department, User
from tests import factories


@pytest.fixture
def admin(csrf_client):
    user = factories.make_user(role="admin")
    csrf_client.sign_in(user)
    return user


@pytest.mark.parametrize("role", ["host", "member"])
@pytest.mark.parametrize("page", ["/admin/people", "/admin/departments", "/admin/organization"])
def test_administration_is_closed_to_hosts_and_members(csrf_client, role, page):
    csrf_client.sign_in(factories.make_user(role=role))

    assert csrf_client.get(page).status_code == 403


def test_administration_asks_anonymous_visitors_to_sign_in(client):
    response = client.get("/admin/people")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/sign-in?next=")


def test_admin_adds_a_member_who_is_emailed_a_link_to_choose_a_password(csrf_client, admin, outbox):
    department = factories.make_department(admin.organization, "Sales")

    response = csrf_client.post(
        "/admin/people",
        {"name": "Hanna Host", "email": "hanna@example.com", "role": "host",
         "department": str(department.id)},
    )

    assert response.status_code == 302
    member = db.session.query(User).filter_by(email="hanna@example.com").one()
    assert (member.organization, member.role, member.department) == (admin.organization, "host", department)
    [message] = outbox()
    assert message.recipient == "hanna@example.com"
    assert "/auth/set-password/" in message.body_text


def test_a_user_of_another_organisation_cannot_be_added_again(csrf_client, admin, outbox):
    other = factories.make_user(email="taken@example.com")

    response = csrf_client.post(
        "/admin/people", {"name": "X", "email": "Taken@example.com", "role": "member", "department": ""}
    )

    assert response.status_code == 422
    assert "A user belongs to exactly one organisation." in response.get_data(as_text=True)
    db.session.refresh(other)
    assert other.organization_id != admin.organization_id
    assert outbox() == []


def test_changing_a_role_over_htmx_swaps_only_that_row(csrf_client, admin):
    member = factories.make_user(admin.organization, role="member")

    response = csrf_client.htmx_post(
        f"/admin/people/{member.id}", {f"m{member.id}-role": "host", f"m{member.id}-department": ""},
        page="/admin/people",
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="member-{member.id}">')
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    db.session.refresh(member)
    assert member.role == "host"


def test_the_last_admin_cannot_demote_themselves(csrf_client, admin):
    response = csrf_client.htmx_post(
        f"/admin/people/{admin.id}", {f"m{admin.id}-role": "member", f"m{admin.id}-department": ""},
        page="/admin/people",
    )

    assert response.status_code == 422
    assert "An organisation needs at least one administrator." in response.get_data(as_text=True)
    db.session.refresh(admin)
    assert admin.role == "admin"


def test_a_member_of_another_organisation_is_not_found(csrf_client, admin):
    stranger = factories.make_user(role="member")

    response = csrf_client.post(
        f"/admin/people/{stranger.id}",
        {f"m{stranger.id}-role": "admin", f"m{stranger.id}-department": ""},
        page="/admin/people",
    )

    assert response.status_code == 404
    db.session.refresh(stranger)
    assert stranger.role == "member"


def test_a_department_of_another_organisation_cannot_be_given_or_removed(csrf_client, admin):
    member = factories.make_user(admin.organization, role="member")
    foreign = factories.make_department(factories.make_organization(), "Theirs")

    assigned = csrf_client.post(
        f"/admin/people/{member.id}",
        {f"m{member.id}-role": "member", f"m{member.id}-department": str(foreign.id)},
        page="/admin/people",
    )
    removed = csrf_client.post(f"/admin/departments/{foreign.id}/delete", page="/admin/departments")

    assert assigned.status_code == 422
    assert removed.status_code == 404
    assert db.session.get(Department, foreign.id) is not None


def test_adding_a_department_over_htmx_returns_the_updated_list(csrf_client, admin):
    response = csrf_client.htmx_post("/admin/departments", {"name": "Finance"})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="departments"')
    assert "Finance" in html
    assert [d.name for d in admin.organization.departments] == ["Finance"]


def test_a_duplicate_department_answers_422_with_the_message_and_the_input(csrf_client, admin):
    factories.make_department(admin.organization, "Finance")

    response = csrf_client.htmx_post("/admin/departments", {"name": "finance"})

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A department with this name already exists." in html
    assert 'value="finance"' in html
    assert db.session.query(Department).count() == 1


def test_removing_a_department_leaves_its_members_without_one(csrf_client, admin):
    department = factories.make_department(admin.organization, "Sales")
    member = factories.make_user(admin.organization, role="host", department=department)

    response = csrf_client.post(f"/admin/departments/{department.id}/delete", page="/admin/departments")

    assert response.status_code == 302
    db.session.refresh(member)
    assert member.department is None


def test_organisation_settings_are_saved_and_bad_choices_refused(csrf_client, admin):
    good = {"name": "Renamed", "locale": "fr", "timezone": "Europe/Paris", "currency": "EUR"}

    saved = csrf_client.post("/admin/organization", good)
    refused = csrf_client.post("/admin/organization", dict(good, currency="XXX", name="Other"))

    assert saved.status_code == 302
    assert refused.status_code == 422
    db.session.refresh(admin.organization)
    assert (admin.organization.name, admin.organization.locale) == ("Renamed", "fr")
    assert admin.organization.timezone == "Europe/Paris"
