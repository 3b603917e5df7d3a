"""Organisations (sites), their departments and users."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UTCDateTime, utcnow

ROLES = ("admin", "host", "member")
ORGANIZATION_KINDS = ("customer", "partner")


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (CheckConstraint("kind IN ('customer', 'partner')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    subdomain: Mapped[str] = mapped_column(String(63), unique=True)  # site URL label
    kind: Mapped[str] = mapped_column(String(16), default="customer", server_default="customer")
    locale: Mapped[str] = mapped_column(String(8), default="en", server_default="en")  # default for its pages and mail
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    currency: Mapped[str] = mapped_column(String(3), default="EUR", server_default="EUR")  # ISO 4217
    # How invitation emails are signed and whom they come from ("" = the server's sender).
    sender_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    sender_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The organisation that runs this portal: its administrators manage plans and legal pages.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Tax-exempt organisations buy plans through sales, not the self-service checkout.
    tax_exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # On the operator's row: who is alerted when a partner order's setup has not started.
    account_representative_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # Meeting settings: the length a new session starts with on the schedule form.
    default_duration_min: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organization")
    departments: Mapped[list["Department"]] = relationship(
        back_populates="organization", order_by="Department.name"
    )


class Department(Base):
    """A budget unit of an organisation; pay-per-use spend is reported per department."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))

    organization: Mapped[Organization] = relationship(back_populates="departments")


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'host', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Exactly one organisation per user.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="member", server_default="member")
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    locale: Mapped[str | None] = mapped_column(String(8))  # None: follow the browser
    timezone: Mapped[str | None] = mapped_column(String(64))  # None: the organisation's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="users")
    department: Mapped[Department | None] = relationship()

    @property
    def is_admin(self):
        return self.role == "admin"
