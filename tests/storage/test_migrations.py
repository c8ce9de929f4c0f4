"""Storage: Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.storage import db
from bot.storage.models import Base


def test_migrations_build_the_schema_the_models_describe(database_url):
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == [], f"models and migrations differ: {differences}"
    engine.dispose()


def test_upgrade_is_idempotent_and_the_schema_check_passes_after_it(database_url):
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    db.upgrade(engine)
    db.check_schema(engine)
    assert db.current_revision(engine) == db.head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {
        "accounts",
        "mentions",
        "triage_results",
        "customers",
        "identities",
        "cases",
        "drafts",
        "outbox",
        "audit_log",
    } <= tables
    engine.dispose()


def test_an_empty_database_is_refused_with_the_command_that_fixes_it(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        db.check_schema(engine)
    except db.SchemaOutdated as exc:
        assert "python -m bot db upgrade" in str(exc)
    else:
        raise AssertionError("an empty database was accepted")
