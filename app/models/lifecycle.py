"""An attendee's life around a session: the waitlist and the reminders sent.

  WaitlistEntry  waiting -> offered -> accepted | lapsed (offer not taken) ;
                 offered -> waiting (the seat was gone when accepted: back in the queue)
                 waiting | offered -> removed (by the host, or the person left)
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow
from app.models.commerce import Order, Registration
from app.models.training import TrainingSession

OPEN_WAITLIST_STATES = ("waiting", "offered")


class WaitlistEntry(Base):
    __tablename__ = "waitlist_entries"
    __table_args__ = (
        CheckConstraint(
            "state IN ('waiting', 'offered', 'accepted', 'lapsed', 'removed')", name="state"
        ),
        # One place in the queue per email per session.
        Index(
            "uq_waitlist_entries_open_email",
            "session_id",
            "email",
            unique=True,
            sqlite_where=text("state IN ('waiting', 'offered')"),
            postgresql_where=text("state IN ('waiting', 'offered')"),
        ),
        Index("ix_waitlist_entries_session_state", "session_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))  # lower-cased
    locale: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the session's
    state: Mapped[str] = mapped_column(String(10), default="waiting", server_default="waiting")
    # The queue's order: joined_at, then id. A person sent back to the queue keeps their place.
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The open offer: its link token's SHA-256 (the token is only in the email) and its end.
    offer_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offers_made: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))  # made when accepted
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TrainingSession] = relationship()
    order: Mapped[Order | None] = relationship()


class ReminderDelivery(Base):
    """A reminder queued for a registration; the unique key makes it once per offset even when
    two machines run the reminder job at the same moment."""

    __tablename__ = "reminder_deliveries"
    __table_args__ = (UniqueConstraint("registration_id", "hours_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id"))
    hours_before: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    registration: Mapped[Registration] = relationship()
