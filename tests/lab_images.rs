//! The lab's container images on a real lab server: `condaplay lab images
//! build` + `start`, then on server im1 Debian's docker.io and
//! docker-compose, Docker pointed at the lab's registry mirror, `docker
//! pull` of every image the book's compose files name, and a compose
//! project (MariaDB, Redis, appconda) reached from the controller over HTTP:
//! the stand-in names its server and version, /health is 200 only with
//! working credentials, `migrate` appends one line, upgrades switch the
//! version, the broken tag never reports healthy.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use support::lab_host::LabHost;

const BIN: &str = env!("CARGO_BIN_EXE_condaplay");
const MIRROR: &str = "http://172.31.250.1:5000";
const TAGS: &[&str] = &[
    "mariadb:10.11",
    "redis:7.2.4-alpine",
    "appconda/appconda:1.3.8",
    "appconda/appconda:1.4.0",
    "appconda/appconda:0.0.0-broken",
];

/// Runs condaplay; returns stdout, panics with stderr on failure.
fn condaplay(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run condaplay");
    assert!(
        out.status.success(),
        "condaplay {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A shell command on the server that must succeed; returns stdout.
fn must(h: &LabHost, cmd: &str) -> String {
    let (status, out) = h.sh_status(&format!("{{ {cmd} ; }} 2>&1"));
    assert_eq!(status, 0, "on {}: {cmd}\n{out}", h.name);
    out
}

/// GET over plain HTTP from the controller: (status code, body). None
/// when nothing answers.
fn http_get(ip: &str, port: u16, path: &str) -> Option<(u16, String)> {
    let addr = format!("{ip}:{port}").parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((code, body))
}

/// Polls until `want` holds for an answer; panics with the last one.
fn wait_for(ip: &str, path: &str, want: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = None;
    while Instant::now() < deadline {
        last = http_get(ip, 8080, path);
        if let Some((code, body)) = &last
            && want(*code, body)
        {
            return body.clone();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("http://{ip}:8080{path}: never the expected answer; last: {last:?}");
}

/// The first answer of a freshly started container.
fn first_answer(ip: &str, port: u16, path: &str) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(answer) = http_get(ip, port, path) {
            return answer;
        }
        assert!(Instant::now() < deadline, "nothing answers on {ip}:{port}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

const COMPOSE: &str = r#"version: '3'
services:
  mariadb:
    image: mariadb:10.11
    restart: unless-stopped
    volumes:
      - /root/app/mariadb:/var/lib/mysql:rw
      - /root/app/my.cnf:/etc/mysql/my.cnf:rw
    environment:
      - MYSQL_ROOT_PASSWORD
      - MYSQL_DATABASE
      - MYSQL_USER
      - MYSQL_PASSWORD
    command: 'mysqld --innodb-flush-method=fsync'
  redis:
    image: redis:7.2.4-alpine
    restart: unless-stopped
    command: >
      redis-server
      --maxmemory            512mb
      --maxmemory-policy     allkeys-lru
      --maxmemory-samples    5
    volumes:
      - appconda-redis:/data:rw
  appconda:
    image: appconda/appconda:${APP_VERSION}
    container_name: appconda
    restart: unless-stopped
    ports:
      - "8080:80"
    volumes:
      - appconda-uploads:/storage/uploads:rw
    environment:
      - _APP_DB_HOST=mariadb
      - _APP_DB_PORT=3306
      - _APP_DB_SCHEMA
      - _APP_DB_USER
      - _APP_DB_PASS
      - _APP_REDIS_HOST=redis
      - _APP_REDIS_PORT=6379
  appconda-worker-audits:
    image: appconda/appconda:${APP_VERSION}
    entrypoint: worker-audits
    container_name: appconda-worker-audits
    restart: unless-stopped
volumes:
  appconda-redis:
  appconda-uploads:
"#;

/// Passwords with a quote and a backslash: the entry point must pass them
/// to MariaDB as they are.
const ENV: &str = "MYSQL_ROOT_PASSWORD=r00t'pw\"x\n\
MYSQL_DATABASE=appconda\n\
MYSQL_USER=appconda\n\
MYSQL_PASSWORD=us3r'p\\w\n\
_APP_DB_SCHEMA=appconda\n\
_APP_DB_USER=appconda\n\
_APP_DB_PASS=us3r'p\\w\n";

const MY_CNF: &str = "[mysqld]\nmax_connections = 1000\n";

/// Writes a file on the server from a quoted heredoc (content on stdin of
/// the remote shell, not in an argument).
fn put(h: &LabHost, path: &str, content: &str) {
    let (status, out) = h.sh_status(&format!(
        "cat > {path} <<'CONDAPLAY_EOF'\n{content}CONDAPLAY_EOF\n"
    ));
    assert_eq!(status, 0, "writing {path} on {}: {out}", h.name);
}

fn compose_up(h: &LabHost, version: &str) {
    put(
        h,
        "/root/app/.env",
        &format!("APP_VERSION={version}\n{ENV}"),
    );
    must(h, "cd /root/app && docker-compose up -d --quiet-pull");
}

#[test]
fn images_pulled_through_the_mirror_run_the_books_compose_project() {
    condaplay(&["lab", "images", "build"]);
    assert_eq!(
        condaplay(&["lab", "images", "start"]),
        format!("{MIRROR}\n")
    );
    let list = condaplay(&["lab", "images", "list"]);
    for tag in TAGS {
        assert!(
            list.contains(&format!("{tag} sha256:")),
            "{tag} not in:\n{list}"
        );
    }

    let h = LabHost::start("im1");
    // Idempotent: the running mirror is kept (its pid does not change).
    let pid = |l: &str| l.lines().last().unwrap_or_default().to_string();
    let before = pid(&condaplay(&["lab", "images", "list"]));
    condaplay(&["lab", "images", "start"]);
    assert_eq!(pid(&condaplay(&["lab", "images", "list"])), before);

    must(
        &h,
        "export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && \
         apt-get install -y -q docker.io docker-compose >/dev/null",
    );
    put(
        &h,
        "/etc/docker/daemon.json",
        &format!(
            "{{\"registry-mirrors\": [\"{MIRROR}\"], \"insecure-registries\": [\"172.31.250.1:5000\"]}}\n"
        ),
    );
    must(&h, "systemctl restart docker");
    for tag in TAGS {
        must(&h, &format!("docker pull -q {tag}"));
    }
    let images = must(&h, "docker images --format '{{.Repository}}:{{.Tag}}'");
    for tag in TAGS {
        assert!(images.lines().any(|l| l == *tag), "{tag} not in:\n{images}");
    }

    must(&h, "mkdir -p /root/app");
    put(&h, "/root/app/docker-compose.yml", COMPOSE);
    put(&h, "/root/app/my.cnf", MY_CNF);
    // `docker-compose pull` fetches through the mirror too.
    put(&h, "/root/app/.env", &format!("APP_VERSION=1.3.8\n{ENV}"));
    must(
        &h,
        "docker rmi appconda/appconda:1.3.8 && cd /root/app && docker-compose pull -q",
    );
    compose_up(&h, "1.3.8");
    wait_for(&h.ip, "/health", |c, _| c == 200);
    let home = wait_for(&h.ip, "/", |c, _| c == 200);
    assert!(
        home.contains("host=im1") && home.contains("version=1.3.8"),
        "GET / answered {home:?}"
    );

    // The book's my.cnf and command-line arguments reach mariadbd; the
    // root password from the environment works (given on stdin here).
    let vars = must(
        &h,
        "cd /root/app && docker-compose exec -T mariadb sh -c \
         'MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" mariadb -uroot -N -B -e \
         \"SELECT @@max_connections, @@innodb_flush_method\"'",
    );
    assert_eq!(vars.trim(), "1000\tfsync", "{vars}");
    let maxmem = must(
        &h,
        "cd /root/app && docker-compose exec -T redis redis-cli CONFIG GET maxmemory",
    );
    assert_eq!(
        maxmem.split_whitespace().nth(1),
        Some("536870912"),
        "{maxmem}"
    );
    let workers = must(&h, "docker ps --format '{{.Names}}'");
    assert!(workers.contains("appconda-worker-audits"), "{workers}");

    // migrate appends exactly one line naming the version.
    let log = "docker exec appconda cat /storage/uploads/migrations.log 2>/dev/null | wc -l";
    let lines = |h: &LabHost| h.sh(log).trim().parse::<usize>().unwrap();
    let n = lines(&h);
    must(&h, "docker exec appconda migrate");
    assert_eq!(lines(&h), n + 1);
    let last = must(
        &h,
        "docker exec appconda tail -n 1 /storage/uploads/migrations.log",
    );
    assert!(last.starts_with("1.3.8 20"), "{last}");

    // Credentials decide /health: a wrong database password, and a Redis
    // that wants a password (user and password through _APP_REDIS_*).
    must(
        &h,
        "docker rm -f wrongpw redispw withpw >/dev/null 2>&1; \
         docker run -d --name redispw --network app_default redis:7.2.4-alpine \
         redis-server --user app on '>s3cret' '~*' '&*' '+@all' --user default off",
    );
    let db = "--network app_default -e _APP_DB_HOST=mariadb -e _APP_DB_USER=appconda \
              -e _APP_DB_SCHEMA=appconda";
    must(
        &h,
        &format!(
            "docker run -d --name wrongpw {db} -p 8081:80 -e _APP_DB_PASS=nope \
             -e _APP_REDIS_HOST=redis appconda/appconda:1.3.8"
        ),
    );
    must(
        &h,
        &format!(
            "docker run -d --name withpw {db} -p 8082:80 -e _APP_DB_PASS=\"$(grep ^_APP_DB_PASS= /root/app/.env | cut -d= -f2-)\" \
             -e _APP_REDIS_HOST=redispw -e _APP_REDIS_USER=app -e _APP_REDIS_PASS=s3cret \
             appconda/appconda:1.3.8"
        ),
    );
    let wrong = first_answer(&h.ip, 8081, "/health");
    assert_eq!(wrong.0, 503, "{wrong:?}");
    assert!(wrong.1.contains("Access denied"), "{wrong:?}");
    let with = first_answer(&h.ip, 8082, "/health");
    assert_eq!(
        with.0,
        200,
        "{with:?}\nredispw: {}",
        h.sh("docker logs redispw 2>&1 | tail -5")
    );
    // The same server without Redis credentials is refused.
    must(
        &h,
        &format!(
            "docker rm -f withpw >/dev/null && docker run -d --name withpw {db} -p 8082:80 \
             -e _APP_DB_PASS=\"$(grep ^_APP_DB_PASS= /root/app/.env | cut -d= -f2-)\" \
             -e _APP_REDIS_HOST=redispw appconda/appconda:1.3.8"
        ),
    );
    let without = first_answer(&h.ip, 8082, "/health");
    assert_eq!(without.0, 503, "{without:?}");
    assert!(without.1.contains("redis:"), "{without:?}");

    // Upgrade: same data, the new version answers and is healthy.
    compose_up(&h, "1.4.0");
    wait_for(&h.ip, "/", |c, b| c == 200 && b.contains("version=1.4.0"));
    wait_for(&h.ip, "/health", |c, _| c == 200);
    must(&h, "docker exec appconda migrate");
    assert_eq!(lines(&h), n + 2);

    // The broken tag serves / but /health is never 200.
    compose_up(&h, "0.0.0-broken");
    wait_for(&h.ip, "/", |c, b| {
        c == 200 && b.contains("version=0.0.0-broken")
    });
    for _ in 0..5 {
        let (code, body) = http_get(&h.ip, 8080, "/health").expect("broken image answers");
        assert_ne!(code, 200, "{body}");
    }
}
