"""What the public can see: upcoming sessions."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import TrainingSession
from app.models.base import utcnow


def upcoming_sessions(limit, now=None):
    now = now or utcnow()
    return db.session.scalars(
        select(TrainingSession)
        .options(joinedload(TrainingSession.host), joinedload(TrainingSession.organization))
        .where(TrainingSession.state == "scheduled", TrainingSession.starts_at >= now)
        .order_by(TrainingSession.starts_at)
        .limit(limit)
    ).all()
