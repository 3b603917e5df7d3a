"""Training sessions: what hosts schedule and attendees register for."""

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.accounts import Organization, User
from app.models.base import Base, UTCDateTime, utcnow

SESSION_STATES = ("draft", "awaiting_payment", "scheduled", "live", "ended", "canceled")
ACCESS_MODES = ("registration", "open", "password", "unique_link")


class TrainingSession(Base):
    __tablename__ = "training_sessions"
    __table_args__ = (
        CheckConstraint("duration_min > 0", name="duration_positive"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("fee_minor >= 0", name="fee_not_negative"),
        CheckConstraint(
            "state IN ('draft', 'awaiting_payment', 'scheduled', 'live', 'ended', 'canceled')",
            name="state",
        ),
        CheckConstraint(
            "access_mode IN ('registration', 'open', 'password', 'unique_link')", name="access_mode"
        ),
        # "My sessions" pages through an organisation's or a host's sessions by start time.
        Index("ix_training_sessions_organization_starts", "organization_id", "starts_at"),
        Index("ix_training_sessions_host_starts", "host_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    slug: Mapped[str] = mapped_column(String(120), unique=True)  # readable public URL part
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    timezone: Mapped[str] = mapped_column(String(64))  # the host's zone when scheduling
    duration_min: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    fee_minor: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 0 = free
    currency: Mapped[str] = mapped_column(String(3))  # ISO 4217, the site's at scheduling
    state: Mapped[str] = mapped_column(String(20), default="scheduled", server_default="scheduled")
    # Who gets in: everyone registered, anyone with the link, a room password, personal links.
    access_mode: Mapped[str] = mapped_column(
        String(20), default="registration", server_default="registration"
    )
    meeting_url: Mapped[str] = mapped_column(String(500), default="", server_default="")  # the live room
    room_password_hash: Mapped[str | None] = mapped_column(String(255))  # for access_mode password
    # JSON list of cancellation tiers; None: the site's default policy.
    cancellation_policy: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship()
    host: Mapped[User] = relationship()

    @property
    def ends_at(self):
        return self.starts_at + timedelta(minutes=self.duration_min)

    @property
    def is_paid(self):
        return self.fee_minor > 0
