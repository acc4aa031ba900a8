#!/bin/sh
# Entry point of the lab's mariadb image: behaves as the official image does
# for the book's compose files (first-start init from MYSQL_*/MARIADB_*,
# `mysqld ARGS` as the command, a mounted /etc/mysql/my.cnf).
set -eu

case "${1:-}" in
    -*) set -- mariadbd "$@" ;;
esac
if [ "${1:-}" != mysqld ] && [ "${1:-}" != mariadbd ]; then
    exec "$@"
fi
shift

datadir=/var/lib/mysql
mkdir -p /run/mysqld "$datadir"
chown mysql:mysql /run/mysqld
# A bind-mounted host directory arrives owned by root.
chown -R mysql:mysql "$datadir"

# SQL string literal: double backslashes and single quotes.
sql_quote() {
    printf "'%s'" "$(printf '%s' "$1" | sed -e "s/\\\\/\\\\\\\\/g" -e "s/'/''/g")"
}
# Identifiers in backquotes: double any backquote.
sql_ident() {
    printf '`%s`' "$(printf '%s' "$1" | sed -e 's/`/``/g')"
}

if [ ! -d "$datadir/mysql" ]; then
    root_pw=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
    database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
    user=${MARIADB_USER:-${MYSQL_USER:-}}
    user_pw=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}
    allow_empty=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}
    if [ -z "$root_pw" ] && [ -z "$allow_empty" ]; then
        echo "mariadb: database is uninitialized and MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD) is not set" >&2
        exit 1
    fi
    echo "mariadb: initializing $datadir" >&2
    mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db \
        --auth-root-authentication-method=normal >/dev/null
    sock=/run/mysqld/init.sock
    mariadbd --user=mysql --datadir="$datadir" --skip-networking --socket="$sock" "$@" &
    pid=$!
    i=0
    until mariadb-admin --socket="$sock" -uroot ping >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 60 ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "mariadb: the init server did not start" >&2
            exit 1
        fi
        sleep 1
    done
    # Passwords go to the server on stdin, never in an argument; printf,
    # because dash's echo would eat backslashes in them.
    {
        printf '%s\n' "SET @@SESSION.SQL_LOG_BIN=0;"
        # The install made root@127.0.0.1, root@::1 and root@HOSTNAME
        # without a password, and anonymous users: gone, as in the official image.
        printf '%s\n' "DELETE FROM mysql.global_priv WHERE user='' OR (user='root' AND host<>'localhost');"
        printf '%s\n' "FLUSH PRIVILEGES;"
        if [ -n "$root_pw" ]; then
            q=$(sql_quote "$root_pw")
            printf '%s\n' "ALTER USER 'root'@'localhost' IDENTIFIED BY $q;"
            printf '%s\n' "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY $q;"
            printf '%s\n' "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
        fi
        if [ -n "$database" ]; then
            printf '%s\n' "CREATE DATABASE IF NOT EXISTS $(sql_ident "$database");"
        fi
        if [ -n "$user" ] && [ -n "$user_pw" ]; then
            printf '%s\n' "CREATE USER $(sql_quote "$user")@'%' IDENTIFIED BY $(sql_quote "$user_pw");"
            if [ -n "$database" ]; then
                printf '%s\n' "GRANT ALL ON $(sql_ident "$database").* TO $(sql_quote "$user")@'%';"
            fi
        fi
        printf '%s\n' "FLUSH PRIVILEGES;"
    } | mariadb --socket="$sock" -uroot
    # SIGTERM is mariadbd's clean shutdown; no password needed for it.
    kill "$pid"
    wait "$pid" || true
    echo "mariadb: init done" >&2
fi

exec mariadbd --user=mysql "$@"
