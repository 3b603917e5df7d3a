"""Claims on background work, so the same command may run on several machines at once.

The machine that claims an item does the work; the others skip it this round, without waiting.

- `claim_row` is for work done in one transaction: the row under `SELECT … FOR UPDATE SKIP
  LOCKED` (the mail outbox claims its messages the same way).
- `claim` is for work that commits on the way or calls PayPal: a PostgreSQL advisory lock,
  named by a kind of work and an id ("renewal", 42), held on a connection of its own until the
  work is done or the process ends. It blocks no web request, unlike a row lock held that long.
  Whoever holds it still re-checks the item under its row lock: another machine may have
  finished it between the listing and the claim.

SQLite runs on one machine, in one worker: there `claim` is always granted and `claim_row`
takes the database's single write lock.
"""

import zlib
from contextlib import contextmanager

from sqlalchemy import func, select

from app.extensions import db
from app.services.locks import Busy, lock_row


def claim_row(model, row_id):
    """The row, locked for the rest of the transaction, or None when another transaction holds it."""
    if db.session.get_bind().dialect.name != "postgresql":
        try:
            return lock_row(model, row_id)
        except Busy:
            return None
    return db.session.execute(
        select(model).where(model.id == row_id).with_for_update(skip_locked=True).execution_options(
            populate_existing=True
        )
    ).scalar_one_or_none()


def _namespace(kind):
    """A stable 32-bit key for a kind of work (advisory locks are named by two integers)."""
    return zlib.crc32(kind.encode()) & 0x7FFFFFFF


@contextmanager
def claim(kind, item_id=0):
    """`with claim("renewal", subscription.id) as mine:` — mine is False while another
    machine holds the claim."""
    if db.engine.dialect.name != "postgresql":
        yield True
        return
    key = (_namespace(kind), item_id)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        mine = connection.scalar(select(func.pg_try_advisory_lock(*key)))
        try:
            yield mine
        finally:
            if mine:
                connection.scalar(select(func.pg_advisory_unlock(*key)))
