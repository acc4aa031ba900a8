#!/bin/sh
# Entry point of the lab's redis image, as the official one: `redis-server
# ARGS` runs as the redis user in /data, protected mode off (the container's
# network is the boundary; the book runs Redis without a password).
set -eu

case "${1:-}" in
    -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" != redis-server ]; then
    exec "$@"
fi
shift
mkdir -p /data
chown -R redis:redis /data 2>/dev/null || true
cd /data
# A config file must stay the first argument.
conf=
case "${1:-}" in
    -*|"") ;;
    *) conf=$1; shift ;;
esac
# Ours before the caller's arguments, so theirs win.
exec setpriv --reuid=redis --regid=redis --init-groups \
    redis-server ${conf:+"$conf"} --protected-mode no --dir /data "$@"
