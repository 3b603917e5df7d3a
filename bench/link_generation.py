"""How long generating personal links takes: 10,000 from one pasted list, in one transaction.

Prints the time and the rate, and, for scale, how long the same machine takes for the bare
minimum each link needs (256 random bits, their SHA-256, one INSERT) in plain sqlite3.
Run: make bench-links   (or: .venv/bin/python bench/link_generation.py [count])
"""

import hashlib
import secrets
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Organization, TrainingSession, User  # noqa: E402
from app.models.base import utcnow  # noqa: E402
from app.services import invitations  # noqa: E402


def lectern_seconds(count, directory):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{directory / 'bench.sqlite'}")
    with app.app_context():
        db.create_all()
        organization = Organization(name="Bench", subdomain="bench")
        host = User(email="host@bench.example", name="Host", password_hash="x",
                    organization=organization, role="host")
        session = TrainingSession(organization=organization, host=host, slug="bench", title="Bench",
                                  starts_at=utcnow() + timedelta(days=1), timezone="UTC",
                                  duration_min=60, capacity=10, currency="EUR")
        db.session.add_all([organization, host, session])
        db.session.commit()
        pasted = "\n".join(f"Participant {n} <p{n}@example.com>" for n in range(count))
        started = time.perf_counter()
        people, _ = invitations.parse_pasted_names(pasted)
        made = invitations.generate_links(session, people)
        elapsed = time.perf_counter() - started
        assert len(made) == count
        db.engine.dispose()
    return elapsed


def baseline_seconds(count, directory):
    connection = sqlite3.connect(directory / "baseline.sqlite")
    connection.execute("CREATE TABLE links (id INTEGER PRIMARY KEY, name TEXT, token_hash TEXT UNIQUE)")
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO links (name, token_hash) VALUES (?, ?)",
            ((f"Participant {n}", hashlib.sha256(secrets.token_urlsafe(32).encode()).hexdigest())
             for n in range(count)),
        )
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        ours = lectern_seconds(count, directory)
        bare = baseline_seconds(count, directory)
    print(f"personal links generated: {count}")
    print(f"lectern (parse + ORM insert, one transaction): {ours:.3f} s  ({count / ours:,.0f} links/s)")
    print(f"bare sqlite3 baseline (token + hash + insert): {bare:.3f} s  ({count / bare:,.0f} links/s)")
    print(f"ratio lectern/baseline time: {ours / bare:.1f}x")


if __name__ == "__main__":
    main()
