"""Row locks for "lock, recount, write" (pretix's rule), on PostgreSQL and SQLite alike.

Always lock in this order: the training session, then the coupon, then the payment.
PostgreSQL: SELECT … FOR UPDATE with a short lock timeout that becomes `Busy`.
SQLite: a no-op UPDATE on the row, which takes the database's single write lock at once, so
the recount that follows cannot race another writer.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from app.extensions import db

LOCK_TIMEOUT = "5s"


class Busy(Exception):
    message = _l("Many people are booking right now. Please try again in a moment.")


def _is_postgresql():
    return db.session.get_bind().dialect.name == "postgresql"


def lock_row(model, row_id):
    """Lock one row for the rest of the transaction and return it freshly loaded."""
    try:
        if _is_postgresql():
            db.session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
            return db.session.execute(
                select(model).where(model.id == row_id).with_for_update().execution_options(
                    populate_existing=True
                )
            ).scalar_one()
        db.session.execute(
            update(model).where(model.id == row_id).values(id=model.id),
            execution_options={"synchronize_session": False},
        )
        return db.session.execute(
            select(model).where(model.id == row_id).execution_options(populate_existing=True)
        ).scalar_one()
    except OperationalError as error:
        db.session.rollback()
        if error.connection_invalidated:  # the database went away: not busy but unavailable (503)
            raise
        raise Busy() from error
