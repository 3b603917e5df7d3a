"""Settings: LECTERN_* overrides, production safety, SQLite pragmas."""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]


def test_production_refuses_to_start_with_the_default_secret_key():
    with pytest.raises(RuntimeError, match="LECTERN_SECRET_KEY"):
        create_app("production")


def test_production_starts_with_a_real_secret_key_and_secure_cookies():
    app = create_app("production", SECRET_KEY="a" * 64)

    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["MAIL_TRANSPORT"] == "smtp"


def test_settings_come_from_lectern_environment_variables():
    script = (
        "from config import config_for; c = config_for('development'); "
        "print(c.SQLALCHEMY_DATABASE_URI, c.MAIL_PORT, c.BABEL_DEFAULT_LOCALE, c.PAYPAL_BASE_URL)"
    )
    env = {
        "LECTERN_DATABASE_URL": "postgresql+psycopg://db.example/lectern",
        "LECTERN_MAIL_PORT": "2525",
        "LECTERN_DEFAULT_LOCALE": "sv",
        "LECTERN_PAYPAL_BASE_URL": "http://127.0.0.1:9999",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout.split()

    assert out == ["postgresql+psycopg://db.example/lectern", "2525", "sv", "http://127.0.0.1:9999"]


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'x.sqlite'}")
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.engine.dispose()
