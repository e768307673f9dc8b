#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#
#   scripts/with-postgres.sh cargo test --all-features
#
# Creates a cluster in a temporary directory (trust authentication, listening
# on 127.0.0.1 at a free port), creates the database `accounts_test`, starts
# a streaming replica of it (a hot standby made by pg_basebackup -R, on
# another free port, fed through a replication slot) and waits until it
# streams, exports
#   ACCOUNTS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:PORT/accounts_test
#   ACCOUNTS_TEST_POSTGRES_REPLICA_URL=postgresql://postgres@127.0.0.1:PORT2/accounts_test
#   ACCOUNTS_TEST_POSTGRES_REPLICA_DATA=<the replica's data directory>
#   ACCOUNTS_TEST_PG_BIN=<the server binaries' directory>
#   ACCOUNTS_TEST_PG_RUN_AS=postgres (as root only: run pg_ctl through
#       `runuser -u postgres --`, from a directory that user can read)
# runs the command, then stops both servers and deletes their directory
# whatever the command's exit status, and exits with that status. The
# replica keeps all its settings in its data directory, so a test may stop
# it and start it again with a plain `pg_ctl -D DATA -l LOG -w start`.
#
# PostgreSQL refuses to run as root: as root, the server binaries run as the
# `postgres` user (through runuser); otherwise as the current user. The
# binaries are taken from $PG_BIN, else /usr/lib/postgresql/15/bin, else the
# directory `pg_config --bindir` names, else the newest
# /usr/lib/postgresql/*/bin.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x "$PG_BIN/initdb" ]] && command -v pg_config >/dev/null 2>&1; then
    PG_BIN=$(pg_config --bindir)
fi
if [[ ! -x "$PG_BIN/initdb" ]]; then
    # Debian's server packages, whatever their major version (the newest).
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$dir/initdb" ]]; then
            PG_BIN=$dir
            break
        fi
    done
fi
if [[ ! -x "$PG_BIN/initdb" ]]; then
    echo "with-postgres: no PostgreSQL server binaries in $PG_BIN (set PG_BIN)" >&2
    exit 2
fi

if [[ $(id -u) -eq 0 ]]; then
    PG_USER=postgres
    as_pg() { runuser -u "$PG_USER" -- "$@"; }
else
    PG_USER=$(id -un)
    as_pg() { "$@"; }
fi

CALLER_DIR=$PWD
TMP=$(mktemp -d "${TMPDIR:-/tmp}/with-postgres.XXXXXX")
STARTED=0
cleanup() {
    local status=$?
    # The replica first (a test may have stopped it already).
    if [[ -f "$TMP/replica/postmaster.pid" ]]; then
        (cd "$TMP" && as_pg "$PG_BIN/pg_ctl" -D "$TMP/replica" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    if [[ $STARTED -eq 1 ]]; then
        (cd "$TMP" && as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TMP/sock" "$TMP/replica-sock"
if [[ $(id -u) -eq 0 ]]; then
    chown -R "$PG_USER:" "$TMP"
fi

# The server binaries run from the temp dir: the caller's directory may not
# be readable by the postgres user.
cd "$TMP"
as_pg "$PG_BIN/initdb" -D "$TMP/data" -U postgres -A trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 || {
    cat "$TMP/initdb.log" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# A port found free may be taken before the server binds it: try a few.
for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    # Durability is pointless for a cluster deleted after the run; the
    # connection limit leaves room for tests running in parallel, each
    # with its own pool. A small max_wal_size checkpoints often (cheap
    # without fsync), so the WAL of a whole test run (every test's schema
    # created, migrated, filled and dropped) does not pile up on disk:
    # 1.4 GB at the peak with the default of 1 GB. pg_stat_statements lets
    # a test count the statements (round trips) an operation costs
    # (tests/postgres_round_trips.rs); the replica does not load it.
    if as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 30 start \
        -o "-p $PORT -k $TMP/sock -c listen_addresses=127.0.0.1 -c max_connections=300 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
            -c max_wal_size=128MB -c min_wal_size=32MB \
            -c shared_preload_libraries=pg_stat_statements" >/dev/null; then
        STARTED=1
        break
    fi
done
if [[ $STARTED -ne 1 ]]; then
    echo "with-postgres: the server did not start" >&2
    cat "$TMP/server.log" >&2 || true
    exit 1
fi

as_pg "$PG_BIN/createdb" -h "$TMP/sock" -p "$PORT" -U postgres accounts_test
export ACCOUNTS_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PORT/accounts_test"
echo "with-postgres: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at $ACCOUNTS_TEST_POSTGRES_URL" >&2

# The replica: a base backup of the primary with the standby settings (-R:
# standby.signal and primary_conninfo through the primary's socket) and a
# replication slot (-C -S), so that the primary keeps the WAL a stopped
# replica still needs. The initdb defaults suffice on the primary
# (wal_level = replica, max_wal_senders = 10, and pg_hba.conf trusts
# local replication connections).
as_pg "$PG_BIN/pg_basebackup" -h "$TMP/sock" -p "$PORT" -U postgres -D "$TMP/replica" \
    -R -X stream -C -S accounts_test_replica --checkpoint=fast >"$TMP/basebackup.log" 2>&1 || {
    echo "with-postgres: pg_basebackup failed" >&2
    cat "$TMP/basebackup.log" >&2
    exit 1
}
# A hot standby needs max_connections at least the primary's. The port is
# in a file of its own, written for each try below.
as_pg tee -a "$TMP/replica/postgresql.conf" >/dev/null <<EOF

# with-postgres.sh: the replica's own settings
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TMP/replica-sock'
max_connections = 300
fsync = off
max_wal_size = 128MB
min_wal_size = 32MB
hot_standby = on
hot_standby_feedback = on
include 'replica_port.conf'
EOF
REPLICA_STARTED=0
for _ in 1 2 3 4 5; do
    REPLICA_PORT=$(free_port)
    echo "port = $REPLICA_PORT" | as_pg tee "$TMP/replica/replica_port.conf" >/dev/null
    if as_pg "$PG_BIN/pg_ctl" -D "$TMP/replica" -l "$TMP/replica.log" -w -t 30 start >/dev/null; then
        REPLICA_STARTED=1
        break
    fi
done
if [[ $REPLICA_STARTED -ne 1 ]]; then
    echo "with-postgres: the replica did not start" >&2
    cat "$TMP/replica.log" >&2 || true
    exit 1
fi
# Accepting connections is not streaming yet: wait for the WAL receiver.
for attempt in $(seq 1 300); do
    receiver=$("$PG_BIN/psql" -h "$TMP/replica-sock" -p "$REPLICA_PORT" -U postgres -d accounts_test \
        -XAtc "SELECT status FROM pg_stat_wal_receiver" 2>/dev/null || true)
    if [[ $receiver == streaming ]]; then
        break
    fi
    if [[ $attempt -eq 300 ]]; then
        echo "with-postgres: the replica does not stream (wal receiver: ${receiver:-none})" >&2
        cat "$TMP/replica.log" >&2 || true
        exit 1
    fi
    sleep 0.1
done
export ACCOUNTS_TEST_POSTGRES_REPLICA_URL="postgresql://postgres@127.0.0.1:$REPLICA_PORT/accounts_test"
export ACCOUNTS_TEST_POSTGRES_REPLICA_DATA="$TMP/replica"
export ACCOUNTS_TEST_PG_BIN="$PG_BIN"
if [[ $(id -u) -eq 0 ]]; then
    export ACCOUNTS_TEST_PG_RUN_AS="$PG_USER"
else
    unset ACCOUNTS_TEST_PG_RUN_AS
fi
echo "with-postgres: streaming replica at $ACCOUNTS_TEST_POSTGRES_REPLICA_URL" >&2

cd "$CALLER_DIR"
set +e
"$@"
status=$?
set -e
exit "$status"
