#!/usr/bin/python3
"""HTTP server of the appconda stand-in image (lab only).

GET /       -> "appconda host=<server hostname> version=<VERSION>"
GET /health -> 200 when MariaDB and Redis answer with the credentials from
               the environment and /storage/uploads is readable and writable,
               503 with the reasons otherwise (always 503 in a broken build).

The server hostname is the lab server's, not the container's: the lab's
registry mirror answers /condaplay/whoami with the name of the server the
request came from (containers reach it through the server's NAT).
"""

import http.server
import os
import socket
import subprocess
import sys
import urllib.request

SHARE = "/usr/local/share/appconda"
UPLOADS = "/storage/uploads"
TIMEOUT = 5


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


VERSION = read(SHARE + "/version", "unknown")
BROKEN = os.path.exists(SHARE + "/broken")


def server_hostname():
    url = os.environ.get("CONDAPLAY_WHOAMI_URL", "")
    if url:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                name = r.read().decode().strip()
                if r.status == 200 and name:
                    return name
        except OSError:
            pass
    return socket.gethostname()


HOST = None


def env(name, default=""):
    return os.environ.get(name, default)


def check_db():
    # The password travels in the environment (MYSQL_PWD), never in argv.
    cmd = [
        "mariadb", "--protocol=tcp", "--connect-timeout=%d" % TIMEOUT,
        "-h", env("_APP_DB_HOST", "mariadb"), "-P", env("_APP_DB_PORT", "3306"),
        "-u", env("_APP_DB_USER"), "-N", "-B", "-e", "SELECT 1",
    ]
    schema = env("_APP_DB_SCHEMA")
    if schema:
        cmd.append(schema)
    child_env = dict(os.environ, MYSQL_PWD=env("_APP_DB_PASS"))
    return run(cmd, child_env, "1", "mariadb")


def check_redis():
    cmd = ["redis-cli", "-h", env("_APP_REDIS_HOST", "redis"),
           "-p", env("_APP_REDIS_PORT", "6379")]
    user = env("_APP_REDIS_USER")
    if user:
        cmd += ["--user", user]
    child_env = dict(os.environ)
    child_env.pop("REDISCLI_AUTH", None)
    if env("_APP_REDIS_PASS"):
        child_env["REDISCLI_AUTH"] = env("_APP_REDIS_PASS")
    cmd.append("PING")
    return run(cmd, child_env, "PONG", "redis")


def run(cmd, child_env, want, what):
    try:
        out = subprocess.run(cmd, env=child_env, capture_output=True,
                             text=True, timeout=TIMEOUT + 2)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "%s: %s" % (what, e)
    if out.returncode == 0 and out.stdout.strip() == want:
        return None
    reason = (out.stderr.strip() or out.stdout.strip() or "no answer").splitlines()[-1]
    return "%s: %s" % (what, reason)


def check_storage():
    probe = os.path.join(UPLOADS, ".health-%d" % os.getpid())
    try:
        with open(probe, "w") as f:
            f.write("ok")
        with open(probe) as f:
            ok = f.read() == "ok"
        os.remove(probe)
        return None if ok else "storage: read back something else"
    except OSError as e:
        return "storage: %s" % e


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "appconda-standin"

    def answer(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        global HOST
        path = self.path.split("?", 1)[0]
        if path == "/health" or path.startswith("/v1/health"):
            if BROKEN:
                return self.answer(503, "unhealthy version=%s: broken build" % VERSION)
            problems = [p for p in (check_db(), check_redis(), check_storage()) if p]
            if problems:
                return self.answer(503, "unhealthy version=%s: %s" % (VERSION, "; ".join(problems)))
            return self.answer(200, "ok version=%s" % VERSION)
        if HOST is None:
            HOST = server_hostname()
        return self.answer(200, "appconda host=%s version=%s" % (HOST, VERSION))

    do_HEAD = do_GET

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))


def main():
    port = int(env("_APP_PORT", "80"))
    httpd = http.server.ThreadingHTTPServer(("", port), Handler)
    print("appconda %s stand-in listening on :%d" % (VERSION, port), flush=True)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    httpd.serve_forever()


if __name__ == "__main__":
    main()
