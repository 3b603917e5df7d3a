"""The schema comes from migrations: upgrade from empty, step down and up again, match the models."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from app import create_app
from app.extensions import db
from tests.conftest import TEST_DATABASE_URL

BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A brand-new empty database (on PostgreSQL, one created for this test and dropped after)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"lectern_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def table_names():
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def schema_differences():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_upgrade_from_empty_builds_exactly_the_models_schema(empty_database_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()

        assert table_names() == set(db.metadata.tables)
        assert schema_differences() == []
        db.engine.dispose()


def test_downgrade_one_step_and_upgrade_again(empty_database_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        downgrade(revision="-1")
        assert schema_differences() != []  # one revision behind the models
        assert "users" in table_names()

        upgrade()

        assert table_names() == set(db.metadata.tables)
        assert schema_differences() == []
        db.engine.dispose()


def test_downgrade_to_nothing_removes_every_table(empty_database_url):
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=empty_database_url)
    with app.app_context():
        upgrade()
        downgrade(revision="base")

        assert table_names() == set()
        db.engine.dispose()
