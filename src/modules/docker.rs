//! Shell pieces shared by the docker_* modules.

/// Fails the task clearly when the host has no usable Docker engine, so a
/// missing binary is not reported as a lost connection (exit status 127).
pub const NEED_DOCKER: &str = "command -v docker >/dev/null 2>&1 || cp_fail 'docker is not installed on this host (Debian: apt-get install docker.io)'\n\
docker info --format '{{.ID}}' >/dev/null 2>\"$CP_TMP/dockerr\" || cp_fail \"cannot talk to the Docker daemon: $(cat \"$CP_TMP/dockerr\")\"\n";

/// Talks to the Engine API on its unix socket with a JSON body read from a
/// file, for requests whose arguments must not appear on a command line
/// (swarm join tokens). `cp_api METHOD PATH BODYFILE OUTFILE` prints the HTTP status.
pub const API: &str = "command -v curl >/dev/null 2>&1 || cp_fail 'curl is needed on this host to talk to the Docker API (apt-get install curl)'\n\
cp_api() { curl -sS --unix-socket /var/run/docker.sock -X \"$1\" -H 'Content-Type: application/json' ${3:+--data-binary @\"$3\"} -o \"$4\" -w '%{http_code}' \"http://localhost$2\"; }\n";
