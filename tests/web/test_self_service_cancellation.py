"""Attendees cancel from the one-time link in their confirmation email; the refund the policy
gives goes back through (fake) PayPal, is retried until done when PayPal fails, and is never
made twice."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.models import Invitation, Order, OutboxMessage, Refund, Registration, TrainingSession
from app.models.base import utcnow
from app.services import cancellations, commerce, registrations, waitlist
from app.services.invitations import hash_token
from app.services.order_links import make_order_token
from tests import factories
from tests.conftest import CsrfClient

FULL_THEN_HALF = '[{"hours_before": 168, "refund_percent": 100}, {"hours_before": 48, "refund_percent": 50}]'


@pytest.fixture
def host(app, paypal):
    host = factories.make_user(role="host")
    commerce.update_settings(
        host.organization, enabled=True, fee_based=True, paypal_enabled=True,
        paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
        cancellation_policy=FULL_THEN_HALF,
    )
    return host


def course(host, starts_in=timedelta(days=10), **fields):
    return factories.make_session(host=host, fee_minor=4900, currency="EUR", capacity=5,
                                  starts_at=utcnow() + starts_in, **fields)


def pay_through_paypal(app, csrf_client, paypal, session, name, email):
    """Register and pay as an attendee does; returns the paid order."""
    order = registrations.register(session, name, email, "en", 15)
    checkout_url = f"/checkout/{make_order_token(order, app.config['SECRET_KEY'])}"
    response = csrf_client.post(f"{checkout_url}/pay", {"method": "paypal", "shown_total": "4900"},
                                page=checkout_url)
    paypal_order = re.search(r"token=([^&]+)", response.headers["Location"]).group(1)
    paypal.approve(paypal_order)
    csrf_client.get(f"{checkout_url}/paypal/return?token={paypal_order}&PayerID=FAKEPAYER")
    db.session.refresh(order)
    assert order.state == "paid"
    return order


def confirmation_of(email):
    db.session.expire_all()
    return db.session.query(OutboxMessage).filter_by(template="registration_confirmed", recipient=email).one()


def cancel_path(email):
    """The path of the cancel link in the attendee's confirmation email."""
    match = re.search(r"http://localhost(/c/[A-Za-z0-9_-]{43})\s", confirmation_of(email).body_text)
    assert match, "no cancel link in the confirmation"
    return match.group(1)


def refund_calls(paypal):
    return [r for r in paypal.requests_log if r.path.endswith("/refund")]


def templates_to(email):
    db.session.expire_all()
    return [m.template for m in db.session.query(OutboxMessage).filter_by(recipient=email).order_by(OutboxMessage.id)]


def test_the_confirmation_email_carries_the_policy_and_a_one_time_cancel_link(app, csrf_client, paypal, host):
    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")

    message = confirmation_of("ana@example.com")
    path = cancel_path("ana@example.com")
    page = csrf_client.get(path)

    assert ("Free cancellation until 7 days before the start; 50 % refund until 48 hours before; "
            "no self-service cancellation after that.") in message.body_text
    assert f'href="http://localhost{path}"' in message.body_html
    assert order.registration.cancel_token_hash == hash_token(path.removeprefix("/c/"))
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "If you cancel now, you get the full €49.00 back." in html
    assert "Cancel my registration" in html and 'name="csrf_token"' in html


def test_without_a_self_service_policy_the_email_has_no_cancel_link(app, csrf_client, paypal, host):
    commerce.update_settings(host.organization, cancellation_policy="[]")
    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")

    assert "/c/" not in confirmation_of("ana@example.com").body_text
    assert order.registration.cancel_token_hash is None


def test_cancelling_refunds_through_paypal_revokes_the_room_link_frees_the_seat_and_emails(
    app, csrf_client, paypal, host
):
    session = course(host)
    order = pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")

    response = csrf_client.post(path)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your registration is canceled." in html and "We have refunded €49.00." in html
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.state, order.refunded_minor, order.registration.state) == ("refunded", 4900, "refunded")
    assert order.registration.canceled_at is not None
    assert [(r.amount_minor, r.state, r.retry_until_done) for r in order.refunds] == [(4900, "succeeded", True)]
    assert len(refund_calls(paypal)) == 1
    assert all(i.revoked_at is not None for i in db.session.query(Invitation).filter_by(
        registration_id=order.registration.id))
    assert registrations.seats_left(session) == session.capacity
    assert templates_to("ana@example.com")[-2:] == ["registration_canceled", "refund_issued"]
    notice = db.session.query(OutboxMessage).filter_by(template="registration_canceled").one()
    assert "We are refunding €49.00" in notice.body_text


def test_a_cancel_link_used_twice_refunds_once_and_says_it_was_already_canceled(
    app, csrf_client, paypal, host
):
    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")

    csrf_client.post(path)
    again = csrf_client.post(path)
    later = csrf_client.get(path)

    assert again.status_code == 200
    assert "This registration was already canceled." in again.get_data(as_text=True)
    assert "We have refunded €49.00." in later.get_data(as_text=True)
    assert "Cancel my registration" not in later.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.query(Refund).filter_by(order_id=order.id).count() == 1
    assert len(refund_calls(paypal)) == 1
    assert templates_to("ana@example.com").count("registration_canceled") == 1


def test_between_the_tiers_the_policy_gives_half_back_and_the_order_is_partly_refunded(
    app, csrf_client, paypal, host
):
    order = pay_through_paypal(app, csrf_client, paypal, course(host, timedelta(days=3)), "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")

    assert "If you cancel now, you get €24.50 back." in csrf_client.get(path).get_data(as_text=True)
    csrf_client.post(path)

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.state, order.refunded_minor, order.registration.state) == ("partially_refunded", 2450, "canceled")
    capture = next(iter(paypal.captures.values()))
    assert paypal._refunded[capture["id"]] == Decimal("24.50")


def test_cancelling_after_the_deadline_is_refused_with_the_policy_shown(app, csrf_client, paypal, host):
    session = course(host)
    order = pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")
    session.starts_at = utcnow() + timedelta(hours=47)  # the last tier ended an hour ago
    db.session.commit()

    page = csrf_client.get(path).get_data(as_text=True)
    response = csrf_client.post(path)

    policy_text = ("Free cancellation until 7 days before the start; 50 % refund until 48 hours before; "
                   "no self-service cancellation after that.")
    html = response.get_data(as_text=True)
    assert "has passed. Please contact the organiser." in page and policy_text in page
    assert "Cancel my registration" not in page
    assert response.status_code == 409
    assert "The deadline for cancelling this registration yourself has passed." in html and policy_text in html
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.state, order.registration.state, order.refunds) == ("paid", "confirmed", [])
    assert refund_calls(paypal) == []


def test_a_policy_that_keeps_everything_cancels_without_a_refund(app, csrf_client, paypal, host):
    session = course(host, cancellation_policy='[{"hours_before": 24, "refund_percent": 0}]')
    order = pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")

    assert "If you cancel now, you get nothing back." in csrf_client.get(path).get_data(as_text=True)
    response = csrf_client.post(path)

    assert "Your registration is canceled." in response.get_data(as_text=True)
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.state, order.registration.state, order.refunds) == ("paid", "canceled", [])
    assert refund_calls(paypal) == []
    notice = db.session.query(OutboxMessage).filter_by(template="registration_canceled").one()
    assert "no refund is due" in notice.body_text


def test_a_refund_paypal_refuses_is_recorded_retried_by_reconcile_shown_to_the_admin_and_never_lost(
    app, csrf_client, paypal, host
):
    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")
    paypal.fail_next("/refund", 503, {"name": "SERVICE_UNAVAILABLE", "message": "Try later"})

    response = csrf_client.post(path)

    html = response.get_data(as_text=True)
    assert "Your registration is canceled." in html
    assert "A refund of €49.00 is recorded and being processed." in html
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    refund = order.refunds[0]
    assert (order.registration.state, order.state, order.refunded_minor) == ("canceled", "paid", 0)
    assert (refund.state, refund.attempts, refund.retry_until_done) == ("pending", 1, True)
    assert "503" in refund.last_error and refund.next_attempt_at > utcnow()

    admin = factories.make_user(host.organization, role="admin")
    csrf_client.sign_in(admin)
    orders_page = csrf_client.get("/admin/orders").get_data(as_text=True)
    assert "Refund of €49.00 pending retry after 1 failed attempt." in orders_page
    assert "SERVICE_UNAVAILABLE" in orders_page

    app.test_cli_runner().invoke(args=["payments", "reconcile"])  # too early: the back-off is not over
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).state == "pending" and len(refund_calls(paypal)) == 1

    refund = db.session.get(Refund, refund.id)
    refund.created_at -= timedelta(minutes=5)
    refund.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    app.test_cli_runner().invoke(args=["payments", "reconcile"])
    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert (order.state, order.refunded_minor, order.registration.state) == ("refunded", 4900, "refunded")
    assert [r.state for r in order.refunds] == ["succeeded"]
    capture = next(iter(paypal.captures.values()))
    assert paypal._refunded[capture["id"]] == Decimal("49.00")
    assert len(refund_calls(paypal)) == 2
    assert templates_to("ana@example.com").count("refund_issued") == 1
    assert "pending retry" not in csrf_client.get("/admin/orders").get_data(as_text=True)


def test_each_failed_attempt_waits_longer_before_the_next(app, csrf_client, paypal, host):
    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")
    paypal.fail_next("/refund", 422, {"name": "UNPROCESSABLE_ENTITY"})
    csrf_client.post(cancel_path("ana@example.com"))
    refund = db.session.query(Refund).filter_by(order_id=order.id).one()
    first_wait = refund.next_attempt_at - utcnow()
    refund.created_at -= timedelta(minutes=5)
    refund.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    paypal.fail_next("/refund", 500)

    app.test_cli_runner().invoke(args=["payments", "reconcile"])

    db.session.expire_all()
    refund = db.session.get(Refund, refund.id)
    assert (refund.state, refund.attempts) == ("pending", 2)
    assert refund.next_attempt_at - utcnow() > first_wait


def test_an_admin_refund_paypal_refuses_still_fails_at_once(app, csrf_client, paypal, host):
    from app.services import checkout
    from app.services.payments import provider_for_order

    order = pay_through_paypal(app, csrf_client, paypal, course(host), "Ana", "ana@example.com")
    paypal.fail_next("/refund", 422, {"name": "UNPROCESSABLE_ENTITY"})

    with pytest.raises(checkout.CheckoutError, match="Nothing was refunded"):
        checkout.refund_order(order, 1000, provider_for_order(order))

    assert [(r.state, r.attempts) for r in order.refunds] == [("failed", 0)]


def test_the_freed_seat_is_offered_to_the_first_person_on_the_waitlist(app, csrf_client, paypal, host):
    session = course(host)
    session.capacity = 1
    db.session.commit()
    pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    entry = waitlist.join(db.session.get(TrainingSession, session.id), "Bo", "bo@example.com", "en")

    csrf_client.post(cancel_path("ana@example.com"))

    db.session.refresh(entry)
    assert entry.state == "offered"
    assert "waitlist_offer" in " ".join(templates_to("bo@example.com"))


def test_an_unknown_or_made_up_link_opens_nothing(client):
    assert client.get("/c/" + "A" * 43).status_code == 404
    assert client.get("/c/short").status_code == 404


def test_a_held_registration_cannot_be_canceled_through_a_link(app, host):
    order = registrations.register(course(host), "Ana", "ana@example.com", "en", 15)
    token = "t" * 43
    order.registration.cancel_token_hash = hash_token(token)
    db.session.commit()

    with pytest.raises(cancellations.CancellationError):
        cancellations.cancel_by_token(token, lambda order: None)

    assert db.session.get(Registration, order.registration.id).state == "held"


def test_two_clicks_on_the_link_at_once_cancel_and_refund_once(postgresql_app, paypal):
    host = factories.make_user(role="host")
    commerce.update_settings(
        host.organization, enabled=True, fee_based=True, paypal_enabled=True,
        paypal_base_url=paypal.base_url, paypal_client_id=paypal.client_id,
        paypal_client_secret=paypal.client_secret, paypal_webhook_id=paypal.webhook_id,
        cancellation_policy=FULL_THEN_HALF,
    )
    order = pay_through_paypal(postgresql_app, CsrfClient(postgresql_app.test_client()), paypal,
                               course(host), "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")
    tabs = [CsrfClient(postgresql_app.test_client()) for _ in range(2)]
    tokens = [tab.token(path) for tab in tabs]
    barrier = threading.Barrier(len(tabs))

    def click(n):
        barrier.wait()
        return tabs[n].client.post(path, data={"csrf_token": tokens[n]}).get_data(as_text=True)

    with ThreadPoolExecutor(max_workers=len(tabs)) as pool:
        pages = list(pool.map(click, range(len(tabs))))

    assert sum("Your registration is canceled." in page for page in pages) == 1
    assert sum("This registration was already canceled." in page for page in pages) == 1
    db.session.expire_all()
    order = db.session.get(Order, order.id)
    assert [(r.amount_minor, r.state) for r in order.refunds] == [(4900, "succeeded")]
    assert (order.state, order.refunded_minor) == ("refunded", 4900)
    assert len(refund_calls(paypal)) == 1


def test_after_the_host_canceled_the_session_the_link_shows_the_refund_under_way(
    app, csrf_client, paypal, host
):
    from app.services import scheduling
    from app.services.payments import provider_for_order

    session = course(host)
    pay_through_paypal(app, csrf_client, paypal, session, "Ana", "ana@example.com")
    path = cancel_path("ana@example.com")
    paypal.fail_next("/refund", 503)
    scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, host)

    response = csrf_client.post(path)

    html = response.get_data(as_text=True)
    assert "This session has been canceled." in html
    assert "This registration was already canceled." in html
    assert "A refund of €49.00 is recorded and being processed." in html
    assert db.session.query(Refund).count() == 1


def test_clicking_cancel_links_is_rate_limited_per_address(app, csrf_client):
    app.config["RATELIMIT_CANCEL"] = "3 per minute"
    token = csrf_client.token("/auth/sign-in")

    answers = [csrf_client.client.post("/c/" + "A" * 43, data={"csrf_token": token}).status_code
               for _ in range(4)]

    assert answers == [404, 404, 404, 429]
