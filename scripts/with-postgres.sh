#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster:
#
#   scripts/with-postgres.sh cargo test --all-features
#
# Creates a cluster in a temporary directory (trust authentication, listening
# on 127.0.0.1 at a free port), creates the database `accounts_test`, exports
#   ACCOUNTS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:PORT/accounts_test
# runs the command, then stops the cluster and deletes its directory whatever
# the command's exit status, and exits with that status.
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
    if [[ $STARTED -eq 1 ]]; then
        (cd "$TMP" && as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$TMP/sock"
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
    # with its own pool.
    if as_pg "$PG_BIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 30 start \
        -o "-p $PORT -k $TMP/sock -c listen_addresses=127.0.0.1 -c max_connections=300 \
            -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
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

cd "$CALLER_DIR"
set +e
"$@"
status=$?
set -e
exit "$status"
