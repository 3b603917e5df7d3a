"""Subscriber lists: hosts and admins keep them, import CSV, and people unsubscribe by link."""

import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Subscriber, SubscriberList
from app.models.base import utcnow
from app.services import subscribers
from tests import factories


@pytest.fixture
def host(csrf_client):
    user = factories.make_user(role="host", organization=factories.make_organization(locale="sv"), locale="en")
    csrf_client.sign_in(user)
    return user


def make_list(organization, name="Customers", people=()):
    subscriber_list = SubscriberList(organization_id=organization.id, name=name)
    db.session.add(subscriber_list)
    db.session.flush()
    for name_, email, locale, *zone in people:
        db.session.add(Subscriber(list_id=subscriber_list.id, name=name_, email=email, locale=locale,
                                  timezone=zone[0] if zone else None))
    db.session.commit()
    return subscriber_list


def people_on(subscriber_list):
    db.session.expire_all()
    return {
        s.email: (s.name, s.locale, s.timezone)
        for s in db.session.scalars(select(Subscriber).where(Subscriber.list_id == subscriber_list.id))
    }


def text(response):
    return response.get_data(as_text=True)


# Lists and subscribers ----------------------------------------------------------------------


def test_a_host_creates_a_list_and_sees_it_with_its_counts(csrf_client, host):
    created = csrf_client.post("/invitations/lists", {"name": "  Newsletter  "})
    [made] = db.session.scalars(select(SubscriberList)).all()
    db.session.add(Subscriber(list_id=made.id, name="Ada", email="ada@example.com"))
    db.session.add(Subscriber(list_id=made.id, name="Bo", email="bo@example.com",
                              unsubscribed_at=utcnow()))
    db.session.commit()

    page = text(csrf_client.get("/invitations/lists"))

    assert created.status_code == 302 and created.location.endswith(f"/invitations/lists/{made.id}")
    assert (made.name, made.organization_id) == ("Newsletter", host.organization_id)
    row = re.search(r"Newsletter</a></th>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", page)
    assert row.groups() == ("1", "1")  # still subscribed, unsubscribed


def test_a_second_list_with_the_same_name_is_refused_with_422(csrf_client, host):
    make_list(host.organization, "Customers")

    response = csrf_client.post("/invitations/lists", {"name": "customers"})

    assert response.status_code == 422
    assert "There is already a list with this name." in text(response)
    assert db.session.query(SubscriberList).count() == 1


def test_adding_a_subscriber_lower_cases_the_email_and_adding_them_again_updates_them(csrf_client, host):
    subscriber_list = make_list(host.organization)
    url = f"/invitations/lists/{subscriber_list.id}/subscribers"

    first = csrf_client.post(url, {"name": "Ada", "email": "Ada@Example.COM", "locale": "fr", "timezone": ""},
                             page=f"/invitations/lists/{subscriber_list.id}")
    again = csrf_client.htmx_post(url, {"name": "Ada Lovelace", "email": "ada@example.com", "locale": "sv",
                                        "timezone": "Europe/Stockholm"}, page=f"/invitations/lists/{subscriber_list.id}")

    assert first.status_code == 302
    assert again.status_code == 200 and "<html" not in text(again)
    assert "ada@example.com was already on the list and has been updated." in text(again)
    assert people_on(subscriber_list) == {"ada@example.com": ("Ada Lovelace", "sv", "Europe/Stockholm")}


@pytest.mark.parametrize("field, value, message", [
    ("email", "not-an-email", "Enter a valid email address."),
    ("locale", "de", "Not a valid choice."),
    ("timezone", "Mars/Olympus", "Not a valid choice."),
    ("name", "", "This field is required."),
])
def test_an_invalid_subscriber_is_refused_with_the_input_kept_and_nothing_added(csrf_client, host, field, value, message):
    subscriber_list = make_list(host.organization)
    data = dict({"name": "Greta Garbo", "email": "greta@example.com", "locale": "sv", "timezone": ""}, **{field: value})

    response = csrf_client.post(f"/invitations/lists/{subscriber_list.id}/subscribers", data,
                                page=f"/invitations/lists/{subscriber_list.id}")

    assert response.status_code == 422
    assert message in text(response)
    if field != "name":
        assert 'value="Greta Garbo"' in text(response)
    assert people_on(subscriber_list) == {}


def test_removing_a_subscriber_with_htmx_removes_only_that_row(csrf_client, host):
    subscriber_list = make_list(host.organization, people=[("Ada", "ada@example.com", "en"),
                                                           ("Bo", "bo@example.com", "sv")])
    ada = db.session.scalar(select(Subscriber).filter_by(email="ada@example.com"))
    page = f"/invitations/lists/{subscriber_list.id}"

    response = csrf_client.htmx_post(f"{page}/subscribers/{ada.id}/remove", page=page)

    assert response.status_code == 200
    assert "<tr" not in text(response) and 'hx-swap-oob="true"' in text(response)
    assert "ada@example.com has been removed from the list." in text(response)
    assert set(people_on(subscriber_list)) == {"bo@example.com"}


def test_removing_a_subscriber_works_without_javascript(csrf_client, host):
    subscriber_list = make_list(host.organization, people=[("Ada", "ada@example.com", "en")])
    ada = db.session.scalar(select(Subscriber))
    page = f"/invitations/lists/{subscriber_list.id}"

    response = csrf_client.post(f"{page}/subscribers/{ada.id}/remove", page=page, follow_redirects=True)

    assert "ada@example.com has been removed from the list." in text(response)
    assert "Nobody is on this list yet." in text(response)
    assert people_on(subscriber_list) == {}


def test_deleting_a_list_deletes_its_subscribers(csrf_client, host):
    subscriber_list = make_list(host.organization, people=[("Ada", "ada@example.com", "en")])
    keep = make_list(host.organization, "Keep", people=[("Bo", "bo@example.com", "en")])

    response = csrf_client.post(f"/invitations/lists/{subscriber_list.id}/delete", page="/invitations/lists")

    assert response.status_code == 302
    assert [l.name for l in db.session.scalars(select(SubscriberList))] == ["Keep"]
    assert db.session.scalars(select(Subscriber.list_id)).all() == [keep.id]


# CSV import ---------------------------------------------------------------------------------


def test_a_csv_import_reports_each_bad_line_with_its_reason_and_imports_the_good_ones(csrf_client, host):
    subscriber_list = make_list(host.organization)
    pasted = "\n".join([
        "name,email,language,time zone",              # 1: header
        "Ada Lovelace,ADA@example.com,en,America/New_York",  # 2
        "Bad Address,ada-at-example.com,en",          # 3: invalid email
        "Hans,hans@example.com,de",                   # 4: unknown language
        "",                                           # 5: blank
        "Ada Again,ada@example.com,fr",               # 6: duplicate of line 2
        "Greta,greta@example.com",                    # 7: language defaults to the organisation's
        "Zoe,zoe@example.com,SV-se,Nowhere/City",     # 8: unknown time zone
        "Ivan,ivan@example.com,ru",                   # 9
    ])

    response = csrf_client.post(f"/invitations/lists/{subscriber_list.id}/import", {"text": pasted})

    page = text(response)
    assert response.status_code == 200
    problems = re.findall(r'<tr class="import-problem"><th scope="row">(\d+)</th><td>(.*?)</td>', page)
    assert [number for number, _ in problems] == ["3", "4", "6", "8"]
    reasons = dict(problems)
    assert "is not a valid email address" in reasons["3"]
    assert "Unknown language" in reasons["4"] and "de" in reasons["4"]
    assert "duplicate of line 2" in reasons["6"]
    assert "Unknown time zone" in reasons["8"]
    assert "3 subscribers added." in page
    assert people_on(subscriber_list) == {
        "ada@example.com": ("Ada Lovelace", "en", "America/New_York"),
        "greta@example.com": ("Greta", "sv", None),
        "ivan@example.com": ("Ivan", "ru", None),
    }


def test_an_uploaded_csv_without_header_updates_people_already_on_the_list(csrf_client, host):
    subscriber_list = make_list(host.organization, people=[("Ada", "ada@example.com", "en")])
    upload = io.BytesIO("\ufeffAda Lovelace;ada@EXAMPLE.com;fr\nÅsa Öberg;asa@example.com;sv\n".encode())

    response = csrf_client.post(
        f"/invitations/lists/{subscriber_list.id}/import", {"file": (upload, "people.csv")},
        page=f"/invitations/lists/{subscriber_list.id}/import",
    )

    assert response.status_code == 200
    assert "1 subscriber added." in text(response) and "1 subscriber updated." in text(response)
    assert people_on(subscriber_list) == {
        "ada@example.com": ("Ada Lovelace", "fr", None),
        "asa@example.com": ("Åsa Öberg", "sv", None),
    }


def test_an_import_with_nothing_to_import_is_refused_with_422(csrf_client, host):
    subscriber_list = make_list(host.organization)
    url = f"/invitations/lists/{subscriber_list.id}/import"

    empty = csrf_client.post(url, {"text": "  "})
    binary = csrf_client.post(url, {"file": (io.BytesIO(b"\xff\xfe\x00bad"), "people.csv")})

    assert (empty.status_code, binary.status_code) == (422, 422)
    assert "Choose a file or paste the lines to import." in text(empty)
    assert "Save the file as CSV in UTF-8" in text(binary)
    assert people_on(subscriber_list) == {}


# Who may use the pages ----------------------------------------------------------------------


def test_another_organisations_list_is_not_found(csrf_client, host):
    theirs = make_list(factories.make_organization(), people=[("Eve", "eve@example.com", "en")])
    eve = db.session.scalar(select(Subscriber))
    base = f"/invitations/lists/{theirs.id}"

    statuses = [
        csrf_client.get(base).status_code,
        csrf_client.get(f"{base}/import").status_code,
        csrf_client.post(f"{base}/subscribers", {"name": "X", "email": "x@example.com", "locale": "en",
                                                 "timezone": ""}, page="/invitations/lists").status_code,
        csrf_client.post(f"{base}/import", {"text": "X,x@example.com"}, page="/invitations/lists").status_code,
        csrf_client.post(f"{base}/subscribers/{eve.id}/remove", page="/invitations/lists").status_code,
        csrf_client.post(f"{base}/delete", page="/invitations/lists").status_code,
    ]

    assert statuses == [404] * 6
    assert people_on(theirs) == {"eve@example.com": ("Eve", "en", None)}


def test_a_subscriber_of_another_list_cannot_be_removed_through_mine(csrf_client, host):
    mine = make_list(host.organization, "Mine")
    other = make_list(host.organization, "Other", people=[("Bo", "bo@example.com", "en")])
    bo = db.session.scalar(select(Subscriber))

    response = csrf_client.post(f"/invitations/lists/{mine.id}/subscribers/{bo.id}/remove",
                                page="/invitations/lists")

    assert response.status_code == 404
    assert set(people_on(other)) == {"bo@example.com"}


def test_members_cannot_use_subscriber_lists(csrf_client):
    member = factories.make_user(role="member")
    subscriber_list = make_list(member.organization)
    csrf_client.sign_in(member)

    statuses = [csrf_client.get("/invitations/lists").status_code,
                csrf_client.get(f"/invitations/lists/{subscriber_list.id}").status_code,
                csrf_client.post("/invitations/lists", {"name": "Mine"}, page="/").status_code]

    assert statuses == [403, 403, 403]
    assert db.session.query(SubscriberList).count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/invitations/lists")

    assert response.status_code == 302 and "/auth/sign-in" in response.location


# Unsubscribing ------------------------------------------------------------------------------


def unsubscribe_path(app, subscriber):
    return "/unsubscribe/" + subscribers.unsubscribe_token(subscriber, app.config["SECRET_KEY"])


def test_the_unsubscribe_link_asks_first_and_then_unsubscribes(app, csrf_client):
    subscriber_list = make_list(factories.make_organization(name="Acme Training"),
                                people=[("Ada", "ada@example.com", "en")])
    ada = db.session.scalar(select(Subscriber))
    path = unsubscribe_path(app, ada)

    asked = csrf_client.get(path)
    db.session.refresh(ada)
    still_subscribed = ada.unsubscribed_at is None
    done = csrf_client.post(path, follow_redirects=True)

    assert asked.status_code == 200 and still_subscribed
    assert "Stop invitations from Acme Training to ada@example.com?" in text(asked)
    assert "ada@example.com will receive no more invitations from Acme Training." in text(done)
    db.session.refresh(ada)
    assert ada.unsubscribed_at is not None and ada.list_id == subscriber_list.id


def test_unsubscribing_needs_the_forms_csrf_token(app, client):
    make_list(factories.make_organization(), people=[("Ada", "ada@example.com", "en")])
    ada = db.session.scalar(select(Subscriber))

    response = client.post(unsubscribe_path(app, ada))

    assert response.status_code == 400
    db.session.refresh(ada)
    assert ada.unsubscribed_at is None


@pytest.mark.parametrize("forge", [
    lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
    lambda token: "not-a-token",
    lambda token: subscribers.URLSafeSerializer("another-secret", salt="lectern.unsubscribe").dumps(1),
    lambda token: subscribers.URLSafeSerializer("testing-secret", salt="lectern.other").dumps(1),
])
def test_a_forged_unsubscribe_link_is_not_found(app, csrf_client, forge):
    make_list(factories.make_organization(), people=[("Ada", "ada@example.com", "en")])
    ada = db.session.scalar(select(Subscriber))
    token = subscribers.unsubscribe_token(ada, app.config["SECRET_KEY"])

    response = csrf_client.get(f"/unsubscribe/{forge(token)}")

    assert response.status_code == 404
    assert "Page not found" in text(response)
    db.session.refresh(ada)
    assert ada.unsubscribed_at is None
