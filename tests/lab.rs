//! The lab's lifecycle on real servers im2 and im3: `lab up` boots them with
//! distinct pinned host keys, plain OpenSSH with StrictHostKeyChecking=yes
//! and the lab's known_hosts reaches them (and refuses without it), `lab
//! inventory` prints a usable INI inventory, a second `lab up` changes
//! nothing, and `lab down im2 im3` leaves no process, network namespace,
//! veth, mount, cgroup, root or state behind. The bridge, NAT rules and the
//! registry mirror must go with the last server; other helpers' servers
//! may be running, so that is asserted only when none is left.

use std::path::Path;
use std::process::Command;

use condaplay::output::Printer;

const BIN: &str = env!("CARGO_BIN_EXE_condaplay");
const NAMES: [&str; 2] = ["im2", "im3"];

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

/// `ssh` as a user would run it: key, known_hosts, strict checking, no prompt.
fn ssh(ip: &str, key: &Path, known_hosts: &Path, cmd: &str) -> (bool, String, String) {
    let out = Command::new("ssh")
        .args(["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"])
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args([
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
        ])
        .arg("-i")
        .arg(key)
        .arg(format!("root@{ip}"))
        .arg(cmd)
        .output()
        .expect("run ssh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A server's record as `lab up` wrote it.
fn record(name: &str) -> serde_json::Value {
    let path = format!("/var/lib/condaplay/lab/state/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn mounts_under(dir: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4))
        .filter(|m| *m == dir || m.starts_with(&format!("{dir}/")))
        .map(str::to_string)
        .collect()
}

fn iptables_has(rule: &[&str]) -> bool {
    Command::new("iptables")
        .arg("-w")
        .args(rule)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn lab_up_ssh_inventory_and_a_clean_down() {
    let p = Printer::plain();
    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let servers = condaplay::lab::up(&names, &p).expect("lab up im2 im3");
    assert_eq!(servers.len(), 2);
    let ips: Vec<String> = NAMES
        .iter()
        .map(|n| {
            servers
                .iter()
                .find(|s| s.name == *n)
                .unwrap()
                .ip
                .to_string()
        })
        .collect();
    assert_ne!(ips[0], ips[1]);
    let (key, known_hosts) = (&servers[0].key_path, &servers[0].known_hosts_path);

    // One pinned key per server, and the keys differ.
    let kh = std::fs::read_to_string(known_hosts).unwrap();
    let keys: Vec<String> = ips
        .iter()
        .map(|ip| {
            let line = kh
                .lines()
                .find(|l| l.split_whitespace().next() == Some(ip.as_str()))
                .unwrap_or_else(|| panic!("{ip} not in {}:\n{kh}", known_hosts.display()));
            line.split_whitespace()
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert!(keys[0].starts_with("ssh-ed25519 "), "{}", keys[0]);
    assert_ne!(keys[0], keys[1], "servers share a host key");

    for (name, ip) in NAMES.iter().zip(&ips) {
        let (ok, out, err) = ssh(ip, key, known_hosts, "hostname");
        assert!(ok, "ssh {name} ({ip}): {err}");
        assert_eq!(out, *name);
        // The server's own key is the pinned one.
        let (ok, out, _) = ssh(
            ip,
            key,
            known_hosts,
            "cat /etc/ssh/ssh_host_ed25519_key.pub",
        );
        assert!(ok);
        let shown: Vec<&str> = out.split_whitespace().take(2).collect();
        assert_eq!(
            shown.join(" "),
            keys[NAMES.iter().position(|n| n == name).unwrap()]
        );
    }
    // Strict checking is real: an empty known_hosts is refused.
    let empty = tempfile::NamedTempFile::new().unwrap();
    let (ok, _, err) = ssh(&ips[0], key, empty.path(), "true");
    assert!(!ok, "ssh with no known host key succeeded");
    assert!(err.contains("Host key verification failed"), "{err}");

    // The inventory: one INI line per server, usable as written.
    let inventory = condaplay(&["lab", "inventory", "--group", "lab"]);
    assert_eq!(inventory.lines().next(), Some("[lab]"), "{inventory}");
    for (name, ip) in NAMES.iter().zip(&ips) {
        let want = format!(
            "{name} ansible_host={ip} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            key.display(),
            known_hosts.display()
        );
        assert!(
            inventory.lines().any(|l| l == want),
            "no line {want:?} in:\n{inventory}"
        );
    }

    // `lab up` again: the same servers, still the same processes.
    let before: Vec<serde_json::Value> = NAMES.iter().map(|n| record(n)).collect();
    let again = condaplay(&["lab", "up", "im2", "im3"]);
    for (name, ip) in NAMES.iter().zip(&ips) {
        assert!(
            again.lines().any(|l| l == format!("{name} {ip}")),
            "{again}"
        );
    }
    for (name, old) in NAMES.iter().zip(&before) {
        let now = record(name);
        assert_eq!(now["pid"], old["pid"], "{name} was restarted");
        assert_eq!(now["host_key"], old["host_key"]);
    }

    // What each server made, to check it is gone after `down`.
    let artefacts: Vec<(u64, String, String, Vec<String>)> = before
        .iter()
        .map(|r| {
            let cgroups = r["cgroups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect();
            (
                r["pid"].as_u64().unwrap(),
                r["netns"].as_str().unwrap().to_string(),
                r["veth"].as_str().unwrap().to_string(),
                cgroups,
            )
        })
        .collect();
    for (name, (pid, netns, veth, _)) in NAMES.iter().zip(&artefacts) {
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        assert_eq!(nspawn_pids(name), pid.to_string(), "{name}");
        assert!(Path::new("/run/netns").join(netns).exists());
        assert!(Path::new("/sys/class/net").join(veth).exists());
    }

    condaplay(&["lab", "down", "im2", "im3"]);

    for (name, (pid, netns, veth, cgroups)) in NAMES.iter().zip(&artefacts) {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains("systemd-nspawn"),
            "{name}: systemd-nspawn {pid} still runs"
        );
        let left = nspawn_pids(name);
        assert!(left.is_empty(), "{name}: processes left: {left}");
        assert!(
            !Path::new("/run/netns").join(netns).exists(),
            "{netns} left"
        );
        let ns_list = ip_cmd(&["netns", "list"]);
        assert!(!ns_list.contains(netns.as_str()), "{ns_list}");
        assert!(
            !Path::new("/sys/class/net").join(veth).exists(),
            "{veth} left"
        );
        for cg in cgroups {
            assert!(!Path::new(cg).exists(), "cgroup {cg} left");
        }
        let root = format!("/var/lib/condaplay/lab/servers/{name}");
        assert_eq!(mounts_under(&root), Vec::<String>::new(), "mounts left");
        assert!(!Path::new(&root).exists(), "{root} left");
        let state = format!("/var/lib/condaplay/lab/state/{name}.json");
        assert!(!Path::new(&state).exists(), "{state} left");
    }
    let kh = std::fs::read_to_string(known_hosts).unwrap_or_default();
    for ip in &ips {
        assert!(
            !kh.lines().any(|l| l.starts_with(&format!("{ip} "))),
            "{ip} still pinned"
        );
    }
    let status = condaplay(&["lab", "status"]);
    for name in NAMES {
        assert!(
            !status.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{status}"
        );
    }

    // The shared parts go with the last server; others may still run.
    if condaplay::lab::running().unwrap().is_empty() {
        assert!(!Path::new("/sys/class/net/cplab0").exists(), "bridge left");
        assert!(
            !iptables_has(&[
                "-t",
                "nat",
                "-C",
                "POSTROUTING",
                "-s",
                "172.31.250.0/24",
                "!",
                "-o",
                "cplab0",
                "-j",
                "MASQUERADE"
            ]),
            "NAT rule left"
        );
        assert!(
            !iptables_has(&[
                "-t", "filter", "-C", "FORWARD", "-i", "cplab0", "-j", "ACCEPT"
            ]),
            "FORWARD rule left"
        );
        let store = condaplay::lab::images::Store::from_env();
        assert_eq!(
            condaplay::lab::images::status(&store),
            None,
            "registry left"
        );
        let links = ip_cmd(&["-o", "link", "show"]);
        assert!(!links.contains(": cpv"), "lab veths left:\n{links}");
        let ns_list = ip_cmd(&["netns", "list"]);
        assert!(
            !ns_list.contains("cplab-"),
            "lab namespaces left:\n{ns_list}"
        );
    }
}

/// Pids of the systemd-nspawn running server `name` (by its command line).
fn nspawn_pids(name: &str) -> String {
    let out = Command::new("pgrep")
        .args(["-f", "--", &format!("systemd-nspawn .*--machine={name} ")])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn ip_cmd(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
