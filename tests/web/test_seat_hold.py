"""The payment page shows how long the seat is held; the attendee may extend it once; a hold
that ran out explains itself and offers to try again (WCAG 2.2.1, timing adjustable)."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Registration
from app.models.base import utcnow
from app.services import commerce, holds
from tests import factories
from tests.web.test_registration_and_checkout import register


@pytest.fixture
def shop():
    host = factories.make_user(role="host")
    commerce.update_settings(
        host.organization, enabled=True, fee_based=True, bank_transfer_enabled=True,
        bank_transfer_details="IBAN SE00 1234", hold_minutes=15,
    )
    return factories.make_session(host=host, fee_minor=49000, currency="SEK", capacity=1)


def _registration():
    return db.session.query(Registration).one()


def _run_down_to(minutes_left):
    registration = _registration()
    registration.hold_expires_at = utcnow() + timedelta(minutes=minutes_left)
    registration.order.expires_at = registration.hold_expires_at
    db.session.commit()


def test_the_payment_page_shows_the_hold_and_the_minutes_left(csrf_client, shop):
    html = csrf_client.get(register(csrf_client, shop)).get_data(as_text=True)

    assert "Your seat is held until" in html
    assert 'class="countdown" data-until="' in html
    assert "15 minutes" in html
    assert "I need more time (15 more minutes, once)" in html


def test_extending_the_hold_gives_the_full_hold_time_again_once(csrf_client, shop):
    checkout_url = register(csrf_client, shop)
    _run_down_to(3)

    response = csrf_client.post(f"{checkout_url}/hold/extend", headers={"HX-Request": "true"})

    html = response.get_data(as_text=True)
    registration = _registration()
    assert response.status_code == 200
    assert registration.hold_extended
    assert registration.hold_expires_at > utcnow() + timedelta(minutes=14)
    assert registration.order.expires_at == registration.hold_expires_at
    assert "cannot be extended again" in html
    assert "I need more time" not in html


def test_a_second_extension_is_refused_and_changes_nothing(csrf_client, shop):
    checkout_url = register(csrf_client, shop)
    csrf_client.post(f"{checkout_url}/hold/extend")
    until = _registration().hold_expires_at

    response = csrf_client.post(f"{checkout_url}/hold/extend", follow_redirects=True)

    assert "can no longer be extended" in response.get_data(as_text=True)
    assert _registration().hold_expires_at == until


def test_a_hold_that_ran_out_cannot_be_extended_and_explains_itself(csrf_client, shop):
    checkout_url = register(csrf_client, shop)
    _run_down_to(-1)

    response = csrf_client.post(f"{checkout_url}/hold/extend", follow_redirects=True)

    html = response.get_data(as_text=True)
    assert not _registration().hold_extended
    assert "Your seat hold has run out" in html
    assert "Nothing was charged, and the seat has been released." in html
    assert f"/s/{shop.slug}/register" in html and "Try again" in html


def test_the_extension_is_the_sites_hold_time_whatever_is_posted(csrf_client, shop):
    checkout_url = register(csrf_client, shop)
    _run_down_to(2)

    csrf_client.post(f"{checkout_url}/hold/extend", data={"minutes": "600"})

    assert _registration().hold_expires_at < utcnow() + timedelta(minutes=16)


def test_a_bank_transfer_hold_is_not_extended(csrf_client, shop):
    order = _registration_order_paid_by_transfer(csrf_client, shop)

    assert not holds.can_extend(order, utcnow())


def _registration_order_paid_by_transfer(csrf_client, shop):
    checkout_url = register(csrf_client, shop)
    order = _registration().order
    csrf_client.post(f"{checkout_url}/pay", {"method": "bank_transfer", "shown_total": order.total_minor})
    db.session.refresh(order)
    assert order.payments and order.payments[0].provider == "bank_transfer"
    return order
