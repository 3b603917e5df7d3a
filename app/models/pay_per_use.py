"""Pay-per-use: a host's Estimated session cost, what was paid for it, and the settlement.

Rates, counts and the total are snapshotted when the estimate is made: a rate the admin
changes later does not touch an estimate already made or paid.
  state: open -> paid -> settled
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Department, User
from app.models.base import Base, UTCDateTime, utcnow
from app.models.commerce import Order
from app.models.training import TrainingSession

RATE = Numeric(12, 4)  # minor units per minute, to a ten-thousandth


class SessionCost(Base):
    __tablename__ = "session_costs"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'paid', 'settled')", name="state"),
        CheckConstraint(
            "duration_min > 0 AND computers >= 0 AND teleconference_computers >= 0", name="counts"
        ),
        CheckConstraint("total_minor >= 0", name="total_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)  # snapshot
    duration_min: Mapped[int] = mapped_column(Integer)
    computers: Mapped[int] = mapped_column(Integer)  # expected computers connected to the session
    teleconference_computers: Mapped[int] = mapped_column(Integer)
    person_rate: Mapped[Decimal] = mapped_column(RATE)  # snapshot of the site's rate
    teleconference_rate: Mapped[Decimal] = mapped_column(RATE)
    minimum_minor: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Integer)  # what the host pays for this estimate
    already_paid_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # earlier estimates
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # After the session: what it really used, and what happened to the difference.
    actual_person_minutes: Mapped[int | None] = mapped_column(Integer)
    actual_teleconference_minutes: Mapped[int | None] = mapped_column(Integer)
    actual_total_minor: Mapped[int | None] = mapped_column(Integer)
    settlement: Mapped[str | None] = mapped_column(String(10))  # refunded | credited | owed | even
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[TrainingSession] = relationship()
    host: Mapped[User] = relationship()
    department: Mapped[Department | None] = relationship()
    order: Mapped[Order | None] = relationship()

    @property
    def due_minor(self):
        """What paying this estimate costs now: only the difference to what was paid before."""
        return max(0, self.total_minor - self.already_paid_minor)


class UsageCorrection(Base):
    """A person's entry of actual usage, kept as an audit trail."""

    __tablename__ = "usage_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_id: Mapped[int] = mapped_column(ForeignKey("session_costs.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    person_minutes: Mapped[int] = mapped_column(Integer)
    teleconference_minutes: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()
