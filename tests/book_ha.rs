//! playbooks/ha.yml on lab servers: three managers in two zones and one
//! worker form a swarm (every node ready, labelled with its zone), the app
//! runs as a stack on host-mode ports, and each zone's load balancer serves it
//! from that zone's nodes. A second run changes nothing; an even number of
//! managers is refused before anything changes.

#[path = "support/book.rs"]
mod book;
mod support;

use std::collections::BTreeSet;

use book::{Book, http_get, lab_images, ok, vault_secrets};

const SECRETS: &str = "mysql_root_password: Root-pw-for-the-ha-test-1\n\
                       mysql_password: App-pw-for-the-ha-test-2\n";

#[test]
fn ha_swarm_over_two_zones_serves_through_each_zone_balancer() {
    let mut b = Book::start(&[
        ("mgr1", "bka-m1"),
        ("mgr2", "bka-m2"),
        ("mgr3", "bka-m3"),
        ("wrk1", "bka-w1"),
        ("lb-a", "bka-lba"),
        ("lb-b", "bka-lbb"),
    ]);
    let mirror = lab_images(b.dir.path());
    b.vars = format!("docker_registry_mirrors: ['{mirror}']\n");
    for (alias, zone) in [
        ("mgr1", "az-1"),
        ("mgr2", "az-3"),
        ("mgr3", "az-1"),
        ("wrk1", "az-3"),
        ("lb-a", "az-1"),
        ("lb-b", "az-3"),
    ] {
        b.host_var(alias, &format!("zone={zone}"));
    }
    let id = vault_secrets(&b, SECRETS);
    let id = id.to_str().unwrap().to_string();

    // Four managers: refused before any server changes.
    b.group("managers", &["mgr1", "mgr2", "mgr3", "wrk1"])
        .group("workers", &[])
        .group("zone_loadbalancers", &["lb-a", "lb-b"]);
    let even = b.run("playbooks/ha.yml", &["--identity", &id]);
    assert_ne!(even.code, 0, "{}", even.stdout);
    assert!(even.stdout.contains("need an odd"), "{}", even.stdout);
    assert_eq!(
        b.host("mgr1").sh("ls /usr/bin/docker 2>/dev/null; true"),
        "",
        "nothing installed"
    );

    b.group("managers", &["mgr1", "mgr2", "mgr3"])
        .group("workers", &["wrk1"]);
    let first = b.run("playbooks/ha.yml", &["--identity", &id]);
    ok(&first);
    first.assert_nowhere("App-pw-for-the-ha-test-2");

    let nodes = b
        .host("mgr1")
        .sh("docker node ls --format '{{.Hostname}} {{.Status}} {{.ManagerStatus}}' | sort");
    // Raft elects any manager as leader: one leader, the others reachable.
    let status: Vec<(&str, &str)> = nodes
        .lines()
        .map(|l| {
            let mut w = l.split_whitespace();
            let host = w.next().unwrap_or("");
            assert_eq!(w.next(), Some("Ready"), "{nodes}");
            (host, w.next().unwrap_or(""))
        })
        .collect();
    let hosts: Vec<&str> = status.iter().map(|(h, _)| *h).collect();
    assert_eq!(hosts, ["bka-m1", "bka-m2", "bka-m3", "bka-w1"], "{nodes}");
    assert_eq!(status[3].1, "", "the worker is no manager: {nodes}");
    let mut managers: Vec<&str> = status[..3].iter().map(|(_, m)| *m).collect();
    managers.sort();
    assert_eq!(managers, ["Leader", "Reachable", "Reachable"], "{nodes}");
    assert_eq!(
        b.host("mgr1")
            .sh("docker node inspect -f '{{ index .Spec.Labels \"zone\" }}' bka-m2 bka-w1"),
        "az-3\naz-3\n"
    );

    // Each zone's balancer answers from its zone's nodes only.
    for (lb, hosts) in [
        ("lb-a", ["bka-m1", "bka-m3"]),
        ("lb-b", ["bka-m2", "bka-w1"]),
    ] {
        let addr = format!("{}:80", b.host(lb).ip);
        let seen: BTreeSet<String> = (0..10)
            .map(|_| {
                let (status, body) = http_get(&addr, "/").expect("zone balancer answers");
                assert_eq!(status, 200, "{body}");
                body.split_whitespace()
                    .find_map(|w| w.strip_prefix("host="))
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        assert_eq!(seen, hosts.iter().map(|h| h.to_string()).collect(), "{lb}");
    }

    let second = b.run("playbooks/ha.yml", &["--identity", &id]);
    ok(&second);
    second.assert_changed(0);
}
