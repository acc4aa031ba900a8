#!/bin/sh
# A worker of the appconda stand-in (realtime, worker-*, schedule, ...): the
# real ones consume queues; this one stays up, and stops at once on SIGTERM
# (as PID 1 a shell ignores signals it has no trap for).
echo "appconda $(basename "$0") $(cat /usr/local/share/appconda/version): idle stand-in worker"
trap 'exit 0' TERM INT
while :; do
    sleep 3600 &
    wait $!
done
