"""The waitlist's rules: who is offered a freed seat, that an open offer keeps its seat from
everyone else, what an offer link does after it ran out or was used, and the last seat."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, OutboxMessage, Registration, TrainingSession
from app.models.base import utcnow
from app.models.lifecycle import WaitlistEntry
from app.services import commerce, registrations, waitlist
from app.services.locks import lock_row
from tests import commerce_factories
from tests.waitlist_helpers import entry, free_a_seat, full_session, join, offer_token, states


def fill(session, now):
    offered = waitlist.fill_free_seats(lock_row(TrainingSession, session.id), now)
    db.session.commit()
    return [e.name for e in offered]


def count(model, **where):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**where))


def _waiting(session, name, joined_at):
    """Someone in the queue, put there directly (join() would check that the session is full)."""
    entry = WaitlistEntry(session=session, name=name, email=f"{name.lower()}@example.com", locale="en",
                          joined_at=joined_at)
    db.session.add(entry)
    db.session.flush()
    return entry


# fill_free_seats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "live_holds", "run_out_holds", "open_offers", "expected_offers"),
    [
        (4, 0, 0, 0, 0),  # full
        (3, 0, 0, 0, 1),  # one seat free
        (2, 1, 0, 0, 1),  # a live hold keeps its seat
        (2, 0, 1, 0, 2),  # a hold that ran out does not
        (1, 1, 0, 1, 1),  # an open offer keeps its seat
        (0, 0, 0, 0, 3),  # more seats than people waiting: everyone is offered one
    ],
)
def test_fill_free_seats_offers_capacity_minus_confirmed_live_holds_and_open_offers(
        app, confirmed, live_holds, run_out_holds, open_offers, expected_offers):
    now = utcnow()
    session, sold = full_session(capacity=4)
    for registration in sold[confirmed:]:
        registration.state = "canceled"
    for n in range(live_holds + run_out_holds):
        until = now + timedelta(minutes=10 if n < live_holds else -10)
        order = commerce_factories.make_order(session, state="pending", subtotal=4900, expires_at=until)
        commerce_factories.make_registration(order, state="held", hold_expires_at=until)
    for n in range(open_offers):
        waitlist.make_offer(_waiting(session, f"Early{n}", now - timedelta(hours=1)), now)
    people = [f"W{n}" for n in range(3)]
    for name in people:
        _waiting(session, name, now)
    db.session.commit()

    assert fill(session, now) == people[:expected_offers]
    assert count(WaitlistEntry, session_id=session.id, state="offered") == open_offers + expected_offers


def test_seats_go_to_the_queue_in_the_order_people_joined_with_ties_broken_by_id(app):
    now = utcnow()
    session, sold = full_session(capacity=3)
    join(session, "Cleo", now=now + timedelta(minutes=2))
    join(session, "Ana", "Bo", now=now)  # the same moment: Ana joined first (lower id)
    for registration in sold[:2]:
        registration.state = "canceled"
    db.session.commit()

    assert fill(session, now + timedelta(minutes=5)) == ["Ana", "Bo"]
    assert states(session.id) == [("Ana", "offered"), ("Bo", "offered"), ("Cleo", "waiting")]


def test_an_offer_email_carries_the_personal_link_the_session_time_and_the_expiry(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    settings = commerce.settings_for(session.organization)
    settings.waitlist_offer_hours = 6
    db.session.commit()
    [ana] = join(session, "Ana", now=now)

    free_a_seat(sold[0], now)

    ana = entry(ana.id)
    message = db.session.scalars(select(OutboxMessage).filter_by(template="waitlist_offer")).one()
    token = offer_token("ana@example.com")
    assert message.recipient == "ana@example.com"
    assert session.title in message.subject and session.title in message.body_text
    assert f"http://localhost/w/{token}" in message.body_html
    assert "(Europe/Stockholm)" in message.body_text  # the session's time, in its own zone
    assert ana.offer_expires_at == now + timedelta(hours=6)
    assert ana.offer_token_hash != token and len(ana.offer_token_hash) == 64  # only the hash is kept


def test_nothing_is_offered_once_the_session_has_started_or_was_canceled(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    join(session, "Ana", now=now)
    sold[0].state = "canceled"
    session.state = "canceled"
    db.session.commit()

    assert fill(session, now) == []
    assert states(session.id) == [("Ana", "waiting")]


# Seats kept for open offers --------------------------------------------------------------------


def test_a_freed_seat_under_an_open_offer_is_not_sold_to_a_public_registrant(app):
    now = utcnow()
    session, sold = full_session(capacity=2)
    join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    assert registrations.live_seats_taken(session.id, now) == 1

    with pytest.raises(registrations.RegistrationError) as refused:
        registrations.register(session, "Jumper", "jumper@example.com", "en", 15, now=now)

    assert str(refused.value.message) == "Sorry, this session is full."
    assert registrations.seats_left(session, now) == 0
    assert count(Registration, email="jumper@example.com") == 0


def test_a_hold_running_out_goes_to_the_waitlist_when_someone_registers(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    sold[0].state = "canceled"
    db.session.commit()
    order = registrations.register(session, "Holder", "holder@example.com", "en", 15, now=now)
    [ana] = join(session, "Ana", now=now)
    later = now + timedelta(minutes=20)  # the hold ran out, unpaid

    with pytest.raises(registrations.RegistrationError):
        registrations.register(session, "Jumper", "jumper@example.com", "en", 15, now=later)

    assert db.session.get(Order, order.id).state == "expired"
    assert entry(ana.id).state == "offered"


def test_holds_let_go_by_reconcile_are_offered_to_the_waitlist_in_the_same_transaction(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    sold[0].state = "canceled"
    db.session.commit()
    registrations.register(session, "Holder", "holder@example.com", "en", 15, now=now)
    [ana] = join(session, "Ana", now=now)

    registrations.expire_stale_holds(now + timedelta(minutes=20))  # what `flask payments reconcile` does
    db.session.commit()

    assert entry(ana.id).state == "offered"


def test_someone_waiting_who_registers_while_seats_are_free_leaves_the_queue(app):
    now = utcnow()
    session, sold = full_session(capacity=3)
    [ana] = join(session, "Ana", now=now)
    for registration in sold[:2]:
        registration.state = "canceled"
    db.session.commit()

    registrations.register(session, "Ana", "ana@example.com", "en", 15, now=now)

    assert entry(ana.id).state == "removed"
    assert count(Registration, email="ana@example.com", state="held") == 1


# Joining ---------------------------------------------------------------------------------------


def test_joining_emails_the_place_in_the_queue(app):
    session, _ = full_session(capacity=1)
    join(session, "Ana", "Bo")

    message = db.session.scalars(
        select(OutboxMessage).filter_by(template="waitlist_joined", recipient="bo@example.com")
    ).one()
    assert "position 2" in message.body_text


def test_joining_twice_is_refused(app):
    session, _ = full_session(capacity=1)
    join(session, "Ana")

    with pytest.raises(waitlist.WaitlistError) as refused:
        waitlist.join(session, "Ana again", " ANA@example.com ", "en")

    assert refused.value.field == "email"
    assert "already on the waitlist" in str(refused.value.message)
    assert count(WaitlistEntry, session_id=session.id) == 1


def test_someone_registered_cannot_join_and_a_session_with_seats_has_no_waitlist(app):
    session, sold = full_session(capacity=2)

    with pytest.raises(waitlist.WaitlistError) as registered:
        waitlist.join(session, "Buyer", sold[0].email, "en")
    sold[1].state = "canceled"
    db.session.commit()
    with pytest.raises(waitlist.WaitlistError) as not_full:
        waitlist.join(session, "Ana", "ana@example.com", "en")

    assert "already registered" in str(registered.value.message)
    assert "register now" in str(not_full.value.message)
    assert count(WaitlistEntry) == 0


# Accepting -------------------------------------------------------------------------------------


def test_accepting_holds_the_seat_and_creates_the_order_as_a_registration_does(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    [ana] = join(session, "Ana", now=now)
    free_a_seat(sold[0], now)

    order = waitlist.accept(offer_token("ana@example.com"), 15, now + timedelta(hours=1))

    assert (order.state, order.total_minor, order.buyer_email) == ("pending", 4900, "ana@example.com")
    assert order.registration.state == "held"
    assert order.registration.hold_expires_at == now + timedelta(hours=1, minutes=15)
    assert (entry(ana.id).state, entry(ana.id).order_id) == ("accepted", order.id)


def test_a_free_session_offer_is_accepted_into_a_free_order(app):
    now = utcnow()
    session, sold = full_session(capacity=1, fee_minor=0)
    join(session, "Ana", now=now)
    free_a_seat(sold[0], now)

    order = waitlist.accept(offer_token("ana@example.com"), 15, now)

    assert (order.total_minor, order.registration.state) == (0, "held")


def test_an_offer_link_after_expiry_gives_a_clear_refusal_and_no_seat(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    [ana] = join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    token = offer_token("ana@example.com")

    with pytest.raises(waitlist.OfferGone) as gone:
        waitlist.accept(token, 15, now + timedelta(hours=24, seconds=1))

    assert gone.value.status == 410
    assert "expired" in str(gone.value.message)
    assert count(Registration, email="ana@example.com") == 0
    assert entry(ana.id).state == "offered"  # run_due lets it lapse and offers the seat on


def test_an_offer_link_used_twice_gives_one_seat(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    token = offer_token("ana@example.com")
    waitlist.accept(token, 15, now)

    with pytest.raises(waitlist.OfferGone) as gone:
        waitlist.accept(token, 15, now)

    assert (gone.value.status, gone.value.used) == (410, True)
    assert count(Registration, email="ana@example.com") == 1


def test_an_unknown_offer_link_is_not_found(app):
    with pytest.raises(waitlist.OfferGone) as gone:
        waitlist.accept("made-up-token", 15)

    assert gone.value.status == 404


def test_two_offers_accepted_for_the_last_seat_give_one_seat_and_the_other_back_in_the_queue(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    ana, bo, cleo = join(session, "Ana", "Bo", "Cleo", now=now)
    free_a_seat(sold[0], now)  # Ana is offered the seat
    waitlist.promote(session, bo.id, now)  # the host offers it to Bo too
    joined = entry(ana.id).joined_at

    order = waitlist.accept(offer_token("bo@example.com"), 15, now)
    with pytest.raises(waitlist.SeatTaken) as taken:
        waitlist.accept(offer_token("ana@example.com"), 15, now)

    assert order.registration.email == "bo@example.com"
    assert count(Registration, session_id=session.id, state="held") == 1
    assert "back on the waitlist" in str(taken.value.message)
    ana = entry(ana.id)
    assert (ana.state, ana.joined_at, ana.offer_expires_at) == ("waiting", joined, None)
    assert states(session.id) == [("Ana", "waiting"), ("Cleo", "waiting")]
    assert waitlist.position(ana) == 1
    with pytest.raises(waitlist.OfferGone):  # the withdrawn link explains itself, gives nothing
        waitlist.accept(offer_token("ana@example.com"), 15, now)


# The periodic job and the host's hand ------------------------------------------------------


def test_an_offer_not_taken_lapses_and_passes_to_the_next_person(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    ana, bo = join(session, "Ana", "Bo", now=now)
    free_a_seat(sold[0], now)

    counts = waitlist.run_due(now + timedelta(hours=25))

    assert counts == {"lapsed": 1, "offered": 1}
    assert (entry(ana.id).state, entry(bo.id).state) == ("lapsed", "offered")
    assert count(OutboxMessage, template="waitlist_lapsed", recipient="ana@example.com") == 1
    assert offer_token("bo@example.com")


def test_run_due_offers_seats_freed_without_a_waitlist_call_and_keeps_the_queue_order(app):
    now = utcnow()
    session, sold = full_session(capacity=2)
    join(session, "Ana", "Bo", "Cleo", now=now)
    sold[0].state = "refunded"  # a host's refund in checkout: nobody called the waitlist
    db.session.commit()

    assert waitlist.run_due(now) == {"lapsed": 0, "offered": 1}
    assert waitlist.run_due(now) == {"lapsed": 0, "offered": 0}  # a second run changes nothing
    assert states(session.id) == [("Ana", "offered"), ("Bo", "waiting"), ("Cleo", "waiting")]


def test_the_host_may_offer_out_of_order_and_remove_someone_whose_seat_then_goes_on(app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    ana, bo, cleo = join(session, "Ana", "Bo", "Cleo", now=now)

    waitlist.promote(session, cleo.id, now)
    waitlist.remove(session, cleo.id, now)

    assert entry(cleo.id).state == "removed"
    assert states(session.id) == [("Ana", "waiting"), ("Bo", "waiting")]  # no seat was free
    free_a_seat(sold[0], now)
    waitlist.remove(session, ana.id, now)  # Ana had the offer: it goes to Bo
    assert states(session.id) == [("Bo", "offered")]


def test_the_host_cannot_touch_an_entry_of_another_session(app):
    session, _ = full_session(capacity=1)
    other, _ = full_session(capacity=1)
    [ana] = join(other, "Ana")

    assert waitlist.promote(session, ana.id) is None
    assert waitlist.remove(session, ana.id) is None
    assert entry(ana.id).state == "waiting"
