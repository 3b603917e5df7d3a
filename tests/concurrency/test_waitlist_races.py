"""The waitlist under real concurrency (PostgreSQL): two offers accepted at once for the last
seat, and the periodic job running on several machines at once."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import Order, Registration
from app.models.base import utcnow
from app.models.lifecycle import WaitlistEntry
from app.services import waitlist
from tests.concurrency.test_races import run_together
from tests.waitlist_helpers import entry, free_a_seat, full_session, join, offer_token


def test_two_offers_accepted_at_once_for_the_last_seat_give_one_seat_and_the_other_returns_to_the_queue(
        postgresql_app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    ana, bo = join(session, "Ana", "Bo", now=now)
    free_a_seat(sold[0], now)
    waitlist.promote(session, bo.id, now)  # a host offered the same seat by hand
    tokens = [offer_token("ana@example.com"), offer_token("bo@example.com")]

    results = run_together(postgresql_app, 2, lambda n: waitlist.accept(tokens[n], 15, now))

    assert sorted(type(r).__name__ for r in results) == ["Order", "SeatTaken"]
    db.session.expire_all()
    held = db.session.scalars(select(Registration).where(Registration.session_id == session.id,
                                                         Registration.state == "held")).all()
    assert len(held) == 1
    winner, loser = (ana, bo) if held[0].email == "ana@example.com" else (bo, ana)
    assert entry(winner.id).state == "accepted"
    assert (entry(loser.id).state, entry(loser.id).joined_at) == ("waiting", loser.joined_at)


def test_the_same_offer_link_clicked_in_two_tabs_at_once_makes_one_order(postgresql_app):
    now = utcnow()
    session, sold = full_session(capacity=1)
    join(session, "Ana", now=now)
    free_a_seat(sold[0], now)
    token = offer_token("ana@example.com")

    results = run_together(postgresql_app, 4, lambda n: waitlist.accept(token, 15, now))

    assert sum(isinstance(r, Order) for r in results) == 1
    assert all(isinstance(r, (Order, waitlist.OfferGone)) for r in results)
    assert db.session.scalar(select(func.count(Registration.id)).where(
        Registration.email == "ana@example.com")) == 1


def test_the_periodic_job_on_several_machines_offers_each_freed_seat_once(postgresql_app):
    now = utcnow()
    session, sold = full_session(capacity=3)
    join(session, "Ana", "Bo", "Cleo", "Dan", now=now)
    for registration in sold[:2]:
        registration.state = "refunded"
    db.session.commit()

    results = run_together(postgresql_app, 4, lambda n: waitlist.run_due(now))

    assert sum(r["offered"] for r in results) == 2
    db.session.expire_all()
    offered = db.session.scalars(select(WaitlistEntry.name).where(WaitlistEntry.state == "offered")
                                 .order_by(WaitlistEntry.id)).all()
    assert offered == ["Ana", "Bo"]
