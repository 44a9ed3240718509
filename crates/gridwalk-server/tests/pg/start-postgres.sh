#!/usr/bin/env bash
# Starts a throw-away PostgreSQL for the server's test suite.
#   start-postgres.sh WORKDIR WATCH_PID
# Runs initdb in WORKDIR/data and starts the server on a free loopback port, as the
# system user `gridwalk-pg` when run as root (PostgreSQL refuses to run as root). Prints
# `PORT=<port>` on success. The server is stopped when process WATCH_PID exits.
# Exit 77 (with a message) when the PostgreSQL binaries are not installed.
set -euo pipefail
WORKDIR="$1"
WATCH_PID="$2"
BIN=""
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && BIN="$d"
done
if [ -z "$BIN" ]; then
    echo "PostgreSQL binaries not found (apt-get install postgresql)" >&2
    exit 77
fi
mkdir -p "$WORKDIR"
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then
    if ! id gridwalk-pg >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin gridwalk-pg 2>/dev/null || true
    fi
    chown -R gridwalk-pg "$WORKDIR"
    chmod 0755 "$WORKDIR"
    RUN_AS=(runuser -u gridwalk-pg --)
fi
"${RUN_AS[@]}" "$BIN/initdb" -D "$WORKDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$WORKDIR/initdb.log" 2>&1 \
    || { cat "$WORKDIR/initdb.log" >&2; exit 1; }
# A port below Linux's ephemeral range (32768-60999), where the tests' own outgoing
# connections take theirs, and nothing answers on it; another one if the bind still
# loses a race.
PORT=""
for _ in $(seq 1 8); do
    p=""
    for _ in $(seq 1 50); do
        c=$(( 20000 + RANDOM % 12000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$c") 2>/dev/null; then p=$c; break; fi
    done
    [ -n "$p" ] || continue
    if "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$WORKDIR/data" -l "$WORKDIR/postgres.log" -w -t 60 \
        -o "-p $p -k $WORKDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null; then
        PORT=$p
        break
    fi
done
[ -n "$PORT" ] || { cat "$WORKDIR/postgres.log" >&2; exit 1; }
# Stop the server when the test process goes away.
(
    while kill -0 "$WATCH_PID" 2>/dev/null; do sleep 1; done
    "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$WORKDIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$WORKDIR"
) </dev/null >/dev/null 2>&1 &
disown
echo "PORT=$PORT"
