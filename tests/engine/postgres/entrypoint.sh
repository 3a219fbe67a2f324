#!/bin/sh
# First start: create the cluster with POSTGRES_USER/POSTGRES_PASSWORD and POSTGRES_DB.
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
    chown postgres /tmp/pwfile
    runuser -u postgres -- initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" \
        --pwfile=/tmp/pwfile --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f /tmp/pwfile
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    runuser -u postgres -- pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" \
        --wait start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        runuser -u postgres -- createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    fi
    runuser -u postgres -- pg_ctl --pgdata="$PGDATA" --wait stop >/dev/null
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*'
