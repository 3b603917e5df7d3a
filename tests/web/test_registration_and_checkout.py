"""An attendee registers for a paid session, applies a coupon and pays; seats are never oversold."""

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Coupon, Order, Registration
from app.models.base import utcnow
from app.services import checkout, commerce, registrations
from tests import factories


@pytest.fixture
def shop():
    """A site with fee-based training, coupons and bank transfer switched on, and a paid session."""
    host = factories.make_user(role="host")
    organization = host.organization
    commerce.update_settings(
        organization, enabled=True, fee_based=True, coupons=True, bank_transfer_enabled=True,
        bank_transfer_details="IBAN SE00 1234 5678 9012", hold_minutes=15,
    )
    session = factories.make_session(host=host, fee_minor=49000, currency="SEK", capacity=2)
    return session


def make_coupon(session, **fields):
    fields.setdefault("code", "SPRING20")
    fields.setdefault("kind", "percent")
    fields.setdefault("value", 20)
    coupon = Coupon(organization_id=session.organization_id, **fields)
    db.session.add(coupon)
    db.session.commit()
    return coupon


def register(csrf_client, session, email="ana@example.com", name="Ana"):
    response = csrf_client.post(f"/s/{session.slug}/register", {"name": name, "email": email})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def shown_total(html):
    return re.search(r'name="shown_total"[^>]*value="(\d+)"', html).group(1)


def test_the_public_page_shows_price_in_the_readers_locale_and_seats_left(client, shop):
    html = client.get(f"/s/{shop.slug}?lang=sv").get_data(as_text=True)

    assert shop.title in html
    assert "490,00\xa0kr" in html
    assert "Registrera dig" in html or "Register" in html
    assert ">2<" in html


def test_registering_holds_a_seat_and_opens_the_payment_page(csrf_client, shop):
    checkout_url = register(csrf_client, shop)

    page = csrf_client.get(checkout_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    registration = db.session.query(Registration).one()
    assert registration.state == "held"
    assert registration.hold_expires_at > utcnow() + timedelta(minutes=14)
    assert registration.order.total_minor == 49000
    assert shown_total(html) == "49000"
    assert registrations.seats_left(shop) == 1


def test_a_full_session_refuses_further_registrations(csrf_client, shop):
    register(csrf_client, shop, "a@example.com")
    register(csrf_client, shop, "b@example.com")

    response = csrf_client.post(f"/s/{shop.slug}/register", {"name": "C", "email": "c@example.com"})

    assert response.status_code == 422
    assert "Sorry, this session is full." in response.get_data(as_text=True)
    assert db.session.query(Order).count() == 2


def test_the_same_email_cannot_hold_two_seats(csrf_client, shop):
    register(csrf_client, shop, "a@example.com")

    response = csrf_client.post(f"/s/{shop.slug}/register", {"name": "A", "email": "A@example.com"})

    assert response.status_code == 422
    assert "already registered" in response.get_data(as_text=True)


def test_an_expired_hold_frees_its_seat(csrf_client, shop):
    register(csrf_client, shop, "a@example.com")
    register(csrf_client, shop, "b@example.com")
    for registration in db.session.query(Registration):
        registration.hold_expires_at = utcnow() - timedelta(minutes=1)
        registration.order.expires_at = registration.hold_expires_at
    db.session.commit()

    register(csrf_client, shop, "c@example.com")

    states = sorted(r.state for r in db.session.query(Registration))
    assert states == ["expired", "expired", "held"]


def test_a_coupon_applied_over_htmx_updates_the_totals_in_place(csrf_client, shop):
    make_coupon(shop)
    checkout_url = register(csrf_client, shop)

    response = csrf_client.htmx_post(f"{checkout_url}/coupon", {"code": "spring20"}, page=checkout_url)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="checkout"')
    assert "392,00" in html or "392.00" in html
    assert shown_total(html) == "39200"
    order = db.session.query(Order).one()
    assert (order.discount_minor, order.total_minor) == (9800, 39200)
    assert db.session.query(Coupon).one().used_count == 1


@pytest.mark.parametrize("problem", ["unknown", "expired", "used_up", "other_session", "disabled"])
def test_unusable_coupons_get_one_generic_message_and_change_nothing(csrf_client, shop, problem):
    other = factories.make_session(host=shop.host, fee_minor=1000)
    fields = {
        "unknown": dict(code="REAL"),
        "expired": dict(valid_until=utcnow() - timedelta(days=1)),
        "used_up": dict(max_uses=1, used_count=1),
        "other_session": dict(session_id=other.id),
        "disabled": dict(active=False),
    }[problem]
    make_coupon(shop, **fields)
    checkout_url = register(csrf_client, shop)

    response = csrf_client.htmx_post(f"{checkout_url}/coupon", {"code": "SPRING20"}, page=checkout_url)

    assert response.status_code == 422
    assert str(checkout.COUPON_REJECTED) in response.get_data(as_text=True)
    assert db.session.query(Order).one().total_minor == 49000


def test_coupon_guessing_is_rate_limited_per_address(app, csrf_client, shop):
    app.config["RATELIMIT_COUPON"] = "3 per minute"
    checkout_url = register(csrf_client, shop)

    statuses = [
        csrf_client.htmx_post(f"{checkout_url}/coupon", {"code": f"GUESS{n}"}, page=checkout_url).status_code
        for n in range(4)
    ]

    assert statuses == [422, 422, 422, 429]


def test_a_changed_total_is_refused_and_the_page_shows_the_new_one(csrf_client, shop):
    checkout_url = register(csrf_client, shop)

    response = csrf_client.post(f"{checkout_url}/pay", {"method": "bank_transfer", "shown_total": "1"},
                                page=checkout_url)

    assert response.status_code == 422
    assert "The total has changed." in response.get_data(as_text=True)
    assert shown_total(response.get_data(as_text=True)) == "49000"  # the new total, to confirm
    order = db.session.query(Order).one()
    assert order.payments == [] and order.state == "pending"


def test_bank_transfer_keeps_the_order_pending_with_instructions_until_an_admin_marks_it_paid(
    csrf_client, shop, outbox
):
    checkout_url = register(csrf_client, shop)

    response = csrf_client.post(f"{checkout_url}/pay", {"method": "bank_transfer", "shown_total": "49000"},
                                page=checkout_url)
    receipt = csrf_client.get(response.headers["Location"]).get_data(as_text=True)

    order = db.session.query(Order).one()
    assert order.state == "pending"
    assert order.registration.hold_expires_at > utcnow() + timedelta(days=4)
    assert "IBAN SE00 1234 5678 9012" in receipt and order.code in receipt
    assert [m.template for m in outbox()] == ["bank_transfer_instructions"]

    checkout.mark_bank_transfer_paid(order)

    db.session.refresh(order)
    assert order.state == "paid"
    assert order.registration.state == "confirmed"
    confirmation = outbox()[-1]
    assert confirmation.template == "registration_confirmed"
    assert "BEGIN:VCALENDAR" in confirmation.attachments and "SUMMARY:" in confirmation.attachments


def test_a_free_coupon_completes_the_order_without_a_provider(csrf_client, shop, outbox):
    make_coupon(shop, code="PREPAID", kind="free", value=0)
    checkout_url = register(csrf_client, shop)
    csrf_client.post(f"{checkout_url}/coupon", {"code": "prepaid"}, page=checkout_url)

    response = csrf_client.post(f"{checkout_url}/pay", {"shown_total": "0"}, page=checkout_url)

    assert response.status_code == 302
    order = db.session.query(Order).one()
    assert (order.state, order.total_minor) == ("paid", 0)
    assert [p.provider for p in order.payments] == ["free"]
    assert order.registration.state == "confirmed"
    assert outbox()[-1].template == "registration_confirmed"


def test_a_free_session_registers_without_payment(csrf_client, shop):
    free = factories.make_session(host=shop.host, fee_minor=0)
    checkout_url = register(csrf_client, free)

    csrf_client.post(f"{checkout_url}/pay", {"shown_total": "0"}, page=checkout_url)

    assert db.session.query(Registration).filter_by(session_id=free.id).one().state == "confirmed"


def test_amounts_sent_by_the_browser_are_ignored(csrf_client, shop):
    register(csrf_client, shop)
    order = db.session.query(Order).one()
    checkout_url = f"/checkout/{_token_of(order)}"

    csrf_client.post(f"{checkout_url}/pay", {"method": "bank_transfer", "shown_total": "49000",
                                            "total_minor": "1", "amount": "1", "currency": "USD"},
                     page=checkout_url)

    db.session.refresh(order)
    assert (order.total_minor, order.currency) == (49000, "SEK")
    assert order.payments[0].amount_minor == 49000 and order.payments[0].currency == "SEK"


def _token_of(order):
    from flask import current_app

    from app.services.order_links import make_order_token

    return make_order_token(order, current_app.config["SECRET_KEY"])


def test_a_forged_order_link_is_not_found(client, shop):
    assert client.get("/checkout/not-a-token").status_code == 404


def test_paid_sessions_take_no_registrations_when_fee_based_training_is_off(csrf_client, shop):
    commerce.update_settings(shop.organization, fee_based=False)

    assert csrf_client.get(f"/s/{shop.slug}/register").status_code == 404
