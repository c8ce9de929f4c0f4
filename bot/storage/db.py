"""Database engine, sessions and migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "python -m bot db upgrade"
# PostgreSQL: give up connecting after 10 s, and let both ends notice a peer that vanished without a word (a host
# lost, a network cut) within about a minute, so a lost daemon's locks are released and its work is taken over.
# A setting already in the URL (?connect_timeout=…, ?options=-c …) wins.
POSTGRESQL_CONNECT_ARGS = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}
POSTGRESQL_SERVER_SETTINGS = {"tcp_keepalives_idle": 30, "tcp_keepalives_interval": 10, "tcp_keepalives_count": 3}


class SchemaOutdated(Exception):
    """The database's schema is not at the latest migration."""


def make_engine(url: str, echo: bool = False) -> Engine:
    """An engine for the URL; creates the SQLite file's folder and turns on WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - exercised on every connect
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if database and database != ":memory:":
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, connect_args=postgresql_connect_args(url))


def postgresql_connect_args(url: str) -> dict[str, object]:
    """psycopg's connection settings for a PostgreSQL URL: timeouts and keepalives the URL does not set itself."""
    query = make_url(url).query
    args: dict[str, object] = {name: value for name, value in POSTGRESQL_CONNECT_ARGS.items() if name not in query}
    given = query.get("options", "")
    given = " ".join(given) if isinstance(given, tuple) else given
    settings = [f"-c {name}={value}" for name, value in POSTGRESQL_SERVER_SETTINGS.items() if name not in given]
    if settings:
        args["options"] = " ".join([given, *settings]).strip()
    return args


def dialect_insert(session: Session, table):
    """An INSERT that supports ON CONFLICT (PostgreSQL and SQLite alike), for the session's database."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise ValueError(f"{name} is not a supported database; use SQLite or PostgreSQL")


def is_postgresql(session: Session) -> bool:
    """True when the session talks to PostgreSQL (several daemons may share it)."""
    return session.get_bind().dialect.name == "postgresql"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine) -> AlembicConfig:
    """Alembic's config pointed at the bundled migrations and this engine."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to revision."""
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(alembic_config(create_engine("sqlite://"))).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS_DIR}: the package is incomplete")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Raise SchemaOutdated, naming the command that fixes it, unless the schema is current."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no tables yet" if current is None else f"is at revision {current}, the code needs {head}"
        raise SchemaOutdated(f"the database {state}; run `{UPGRADE_COMMAND}` first")
