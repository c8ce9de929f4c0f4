"""The database engine: on PostgreSQL a connection gives up connecting in time and notices a peer that vanished."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from bot.storage.db import make_engine, postgresql_connect_args


def test_a_postgresql_connection_times_out_and_keeps_itself_alive_unless_the_url_says_otherwise():
    args = postgresql_connect_args("postgresql+psycopg://desk@db.internal/mentions")
    assert args["connect_timeout"] == 10 and args["keepalives"] == 1 and args["keepalives_idle"] == 30
    assert args["options"] == "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"

    own = postgresql_connect_args(
        "postgresql+psycopg://desk@db.internal/mentions?connect_timeout=3"
        "&options=-c%20tcp_keepalives_idle%3D5%20-c%20statement_timeout%3D60000"
    )
    assert "connect_timeout" not in own  # the URL's own value reaches psycopg untouched
    assert own["options"] == (
        "-c tcp_keepalives_idle=5 -c statement_timeout=60000 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3"
    )


def test_the_postgresql_server_is_told_to_check_on_a_silent_daemon(database_url):
    if make_url(database_url).get_backend_name() != "postgresql":
        pytest.skip("server-side keepalives are a PostgreSQL setting: set BOT_TEST_DATABASE_URL")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            idle = connection.exec_driver_sql("SHOW tcp_keepalives_idle").scalar()
            count = connection.exec_driver_sql("SHOW tcp_keepalives_count").scalar()
    finally:
        engine.dispose()
    assert (idle, count) == ("30", "3")  # seconds, and probes before the server drops the connection
