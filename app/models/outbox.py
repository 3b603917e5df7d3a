"""Mail waiting to be delivered, written in the same transaction as the change that causes it."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UTCDateTime, utcnow

OUTBOX_STATES = ("queued", "sent", "failed")


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'sent', 'failed')", name="state"),
        Index("ix_outbox_messages_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    sender: Mapped[str | None] = mapped_column(String(300))  # None: the server's default sender
    locale: Mapped[str] = mapped_column(String(8))  # the recipient's, used to render it
    template: Mapped[str] = mapped_column(String(80))  # emails/<template>.txt|.html
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(  # an email invitation campaign's message
        ForeignKey("invitation_campaigns.id"), index=True
    )
    # JSON list of {"filename", "content_type", "content"}: text such as an .ics, bytes with
    # "encoding": "base64", or {"filename", "content_type", "invoice_id"}: a PDF made when sent
    attachments: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    state: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
