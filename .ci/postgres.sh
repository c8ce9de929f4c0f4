#!/usr/bin/env bash
# A throwaway PostgreSQL for the test suite: installs Debian's package when missing, starts a private cluster
# on 127.0.0.1, creates the test database and prints its SQLAlchemy URL on stdout (everything else goes to stderr).
#
#   export BOT_TEST_DATABASE_URL="$(.ci/postgres.sh)"     # install if needed, start, print the URL
#   .ci/postgres.sh stop                                  # stop the cluster (its files stay for the next start)
#
# Settings (environment): BOT_PG_DIR (data folder, default /tmp/mention-desk-pg), BOT_PG_PORT (default 55432),
# BOT_PG_DB (default mention_desk_test). The cluster trusts local connections and runs with fsync off: it is for
# tests only, never for data you want to keep.
set -euo pipefail

PGDIR="${BOT_PG_DIR:-/tmp/mention-desk-pg}"
PGPORT="${BOT_PG_PORT:-55432}"
PGDB="${BOT_PG_DB:-mention_desk_test}"
say() { echo "postgres.sh: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/pg_ctl" ]; then
    say "installing PostgreSQL from Debian's packages"
    if [ "$(id -u)" -ne 0 ]; then say "error: PostgreSQL is not installed and installing it needs root"; exit 1; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

# PostgreSQL refuses to run as root: run its tools as the postgres user when we are root.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-start}" = "stop" ]; then
    if [ -f "$PGDIR/postmaster.pid" ]; then as_pg "$BIN/pg_ctl" -D "$PGDIR" -m fast -w stop >&2; fi
    exit 0
fi

if [ ! -f "$PGDIR/PG_VERSION" ]; then
    say "creating a cluster in $PGDIR"
    mkdir -p "$PGDIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PGDIR"; fi
    chmod 700 "$PGDIR"
    as_pg "$BIN/initdb" -D "$PGDIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$PGDIR/postgresql.conf" <<EOF
# mention-desk test cluster: speed over durability (tests only)
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGDIR'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 128MB
EOF
fi

if ! as_pg "$BIN/pg_ctl" -D "$PGDIR" status >/dev/null 2>&1; then
    say "starting PostgreSQL on 127.0.0.1:$PGPORT"
    as_pg "$BIN/pg_ctl" -D "$PGDIR" -l "$PGDIR/server.log" -w -t 60 start >&2
fi

psql_pg() { as_pg "$BIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PGDB'")" != "1" ]; then
    psql_pg -d postgres -c "CREATE DATABASE \"$PGDB\"" >&2
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PGPORT/$PGDB"
