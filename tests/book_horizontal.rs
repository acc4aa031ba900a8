//! playbooks/horizontal.yml and playbooks/upgrade.yml end to end on bare lab
//! servers: main, two clients and a load balancer, then a third client; the
//! app answers through the load balancer with the vault's credentials; a
//! rolling upgrade under load loses no request and migrates once; a broken
//! upgrade stops after the first client. One test function: servers boot once.

#[path = "support/book.rs"]
mod book;
mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use book::{Book, http_get, lab_images, ok, vault_secrets};

const SECRETS: &str = "mysql_root_password: Root-pw-for-the-horizontal-test-1\n\
                       mysql_password: App-pw-for-the-horizontal-test-2\n\
                       appconda_openssl_key: openssl-key-horizontal-3\n";

/// Requests through the load balancer every 100 ms until stopped.
struct Poller {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<Vec<Option<(u16, String)>>>,
}

impl Poller {
    fn start(lb: &str) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let addr = format!("{lb}:80");
        let handle = thread::spawn(move || {
            let mut seen = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                seen.push(http_get(&addr, "/"));
                thread::sleep(Duration::from_millis(100));
            }
            seen
        });
        Poller { stop, handle }
    }

    fn finish(self) -> Vec<Option<(u16, String)>> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap()
    }
}

fn no_failures(answers: &[Option<(u16, String)>]) {
    assert!(!answers.is_empty());
    let bad: Vec<_> = answers
        .iter()
        .filter(|a| !matches!(a, Some((200, _))))
        .collect();
    assert!(
        bad.is_empty(),
        "{} of {} requests failed: {bad:?}",
        bad.len(),
        answers.len()
    );
}

/// `host=` and `version=` of the app's answer.
fn parse(body: &str) -> (String, String) {
    let field = |k: &str| {
        body.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("")
            .to_string()
    };
    (field("host="), field("version="))
}

/// Asks the load balancer `n` times: the (host, version) pairs seen.
fn sample(lb: &str, n: usize) -> BTreeSet<(String, String)> {
    let addr = format!("{lb}:80");
    (0..n)
        .map(|_| {
            let (status, body) = http_get(&addr, "/").expect("the load balancer answers");
            assert_eq!(status, 200, "{body}");
            parse(&body)
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(h, v)| (h.to_string(), v.to_string()))
        .collect()
}

#[test]
fn horizontal_converges_scales_and_upgrades_without_losing_requests() {
    let mut b = Book::start(&[
        ("main", "bkh-main"),
        ("client1", "bkh-c1"),
        ("client2", "bkh-c2"),
        ("lb", "bkh-lb"),
    ]);
    let mirror = lab_images(b.dir.path());
    b.group("main", &["main"])
        .group("clients", &["client1", "client2"])
        .group("loadbalancers", &["lb"]);
    b.vars = format!(
        "swap_size: 64M\nswap_file: \"/swapfile-{{{{ ansible_hostname }}}}\"\ndocker_registry_mirrors: ['{mirror}']\n"
    );
    let id = vault_secrets(&b, SECRETS);
    let id = id.to_str().unwrap().to_string();
    let idf = ["--identity", id.as_str()];
    let lb = b.host("lb").ip.clone();

    // --check on the bare servers goes through every role and touches nothing.
    let check = b.run("playbooks/horizontal.yml", &["--identity", &id, "--check"]);
    ok(&check);
    check.assert_nowhere("App-pw-for-the-horizontal-test-2");
    for alias in ["main", "client1", "client2", "lb"] {
        let h = b.host(alias);
        assert_eq!(
            h.sh("for p in /usr/bin/docker /usr/sbin/haproxy /home/share /root/appconda /etc/docker; do [ -e $p ] && echo $p; done; swapon --show=NAME --noheadings | grep -c \"swapfile-$(hostname)$\"; true")
                .trim(),
            "0",
            "--check changed {alias}"
        );
    }

    let first = b.run("playbooks/horizontal.yml", &idf);
    ok(&first);
    first.assert_nowhere("App-pw-for-the-horizontal-test-2");
    first.assert_nowhere("Root-pw-for-the-horizontal-test-1");
    assert_eq!(
        sample(&lb, 8),
        pairs(&[("bkh-c1", "1.3.8"), ("bkh-c2", "1.3.8")])
    );
    let health = http_get(&format!("{lb}:80"), "/health").unwrap();
    assert_eq!(health.0, 200, "{}", health.1);
    assert_eq!(
        b.host("main")
            .sh("docker exec appconda-mariadb sh -c 'MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" mariadb -uroot -N -e \"SELECT @@max_connections\"'")
            .trim(),
        "1000"
    );
    // The secrets reached the clients only in the 0600 .env.
    let c1 = b.host("client1");
    assert_eq!(c1.sh("stat -c %a /root/appconda/.env").trim(), "600");
    assert_eq!(
        c1.sh("grep -c '^_APP_DB_PASS=App-pw-for-the-horizontal-test-2$' /root/appconda/.env")
            .trim(),
        "1"
    );

    let second = b.run("playbooks/horizontal.yml", &idf);
    ok(&second);
    second.assert_changed(0);

    // A third client joins while the others keep answering.
    b.add("client3", "bkh-c3");
    b.group("clients", &["client1", "client2", "client3"]);
    let poll = Poller::start(&lb);
    let third = b.run("playbooks/horizontal.yml", &idf);
    let answers = poll.finish();
    ok(&third);
    no_failures(&answers);
    // Health checks need two passes before the new server gets traffic.
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sample(&lb, 12),
        pairs(&[
            ("bkh-c1", "1.3.8"),
            ("bkh-c2", "1.3.8"),
            ("bkh-c3", "1.3.8")
        ])
    );

    // Rolling upgrade under load: no failed request, one migration.
    let poll = Poller::start(&lb);
    let up = b.run(
        "playbooks/upgrade.yml",
        &["--identity", &id, "-e", "appconda_version=1.4.0"],
    );
    let answers = poll.finish();
    ok(&up);
    no_failures(&answers);
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sample(&lb, 12),
        pairs(&[
            ("bkh-c1", "1.4.0"),
            ("bkh-c2", "1.4.0"),
            ("bkh-c3", "1.4.0")
        ])
    );
    assert_eq!(
        b.host("main")
            .sh("grep -c '^1.4.0 ' /home/share/uploads/migrations.log")
            .trim(),
        "1"
    );

    // A version whose health check fails: the roll stops after client1,
    // the others keep serving 1.4.0.
    let poll = Poller::start(&lb);
    let broken = b.run(
        "playbooks/upgrade.yml",
        &["--identity", &id, "-e", "appconda_version=0.0.0-broken"],
    );
    let answers = poll.finish();
    broken.assert_exit(2);
    assert_eq!(broken.host("client1").failed, 1, "{}", broken.stdout);
    no_failures(&answers);
    let image = |alias: &str| {
        b.host(alias)
            .sh("docker inspect -f '{{.Config.Image}}' appconda")
            .trim()
            .to_string()
    };
    assert_eq!(image("client1"), "appconda/appconda:0.0.0-broken");
    assert_eq!(image("client2"), "appconda/appconda:1.4.0");
    assert_eq!(image("client3"), "appconda/appconda:1.4.0");
    assert_eq!(
        sample(&lb, 12),
        pairs(&[("bkh-c2", "1.4.0"), ("bkh-c3", "1.4.0")])
    );
}
