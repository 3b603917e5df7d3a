"""Where the lifecycle pieces meet: a seat freed by an admin's refund or a larger capacity goes
to the waitlist at once; a canceled session closes its waitlist; a payment that arrives after
the host canceled goes to review instead of confirming a seat in a canceled session."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models import OutboxMessage, Payment, Registration, TrainingSession
from app.models.base import utcnow
from app.services import checkout, reminders, scheduling
from app.services.payments import provider_for_order
from tests import commerce_factories
from tests.waitlist_helpers import full_session, join, states


def _pay_by_transfer(order):
    db.session.add(Payment(order=order, provider="bank_transfer", amount_minor=order.total_minor,
                           currency=order.currency, state="captured", captured_at=utcnow()))
    db.session.commit()


def test_an_admins_full_refund_offers_the_seat_to_the_queue_at_once(app):
    session, (registration, _) = full_session(capacity=2)
    join(session, "Bo")
    _pay_by_transfer(registration.order)

    checkout.refund_order(registration.order, registration.order.total_minor, None)

    assert states(session.id) == [("Bo", "offered")]


def test_a_larger_capacity_offers_the_new_seats_to_the_queue(app):
    session, _ = full_session(capacity=2)
    join(session, "Bo", "Cy", "Di")
    local = session.starts_at.astimezone(ZoneInfo(session.timezone))

    scheduling.update(
        session, title=session.title, description="", day=local.date(), time_of_day=local.time(),
        timezone=session.timezone, duration_min=session.duration_min, capacity=4,
        fee_minor=session.fee_minor, access_mode=session.access_mode, meeting_url="",
    )

    assert states(session.id) == [("Bo", "offered"), ("Cy", "offered"), ("Di", "waiting")]


def test_canceling_the_session_closes_its_waitlist_and_tells_the_people_waiting(app):
    session, _ = full_session(capacity=1)
    join(session, "Bo", "Cy")

    scheduling.cancel(db.session.get(TrainingSession, session.id), provider_for_order, None)

    assert states(session.id) == []
    told = db.session.query(OutboxMessage).filter_by(template="waitlist_session_canceled").all()
    assert sorted(m.recipient for m in told) == ["bo@example.com", "cy@example.com"]


def test_a_payment_captured_after_the_host_canceled_goes_to_review(app):
    session, _ = full_session(capacity=2)
    order = commerce_factories.make_order(session, state="pending", subtotal=4900,
                                          expires_at=utcnow() + timedelta(minutes=10))
    commerce_factories.make_registration(order, state="held", hold_expires_at=order.expires_at)
    session.state = "canceled"
    payment = Payment(order=order, provider="bank_transfer", amount_minor=order.total_minor,
                      currency=order.currency, state="created")
    db.session.add(payment)
    db.session.commit()

    checkout.mark_bank_transfer_paid(order)

    db.session.refresh(order)
    assert order.state == "review"
    assert "canceled" in order.review_reason
    assert order.registration.state == "held"


def test_the_confirmation_and_the_reminder_give_the_time_in_the_attendees_time_zone(app, csrf_client):
    session, _ = full_session(capacity=2, fee_minor=0)
    session.capacity = 3
    db.session.commit()
    csrf_client.client.set_cookie("lectern_tz", "America/New_York")

    response = csrf_client.post(f"/s/{session.slug}/register", {"name": "Ana", "email": "ana@example.com"})
    csrf_client.post(response.headers["Location"] + "/pay", {"shown_total": "0"})  # "Complete registration"
    reminders.send_due(now=session.starts_at - timedelta(hours=23))

    registration = db.session.query(Registration).filter_by(email="ana@example.com").one()
    assert registration.timezone == "America/New_York"
    sent = {m.template: m.body_text for m in db.session.query(OutboxMessage).filter_by(recipient="ana@example.com")}
    for template in ("registration_confirmed", "session_reminder"):
        assert "(America/New_York)" in sent[template], template
