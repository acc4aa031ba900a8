//! The lab network: a bridge on the controller with NAT to the outside, and
//! per server a network namespace joined to the bridge by a veth pair.

use std::net::Ipv4Addr;
use std::path::Path;

use super::LabError;
use super::cmd::{self, io};
use super::state::{Layout, NET_PREFIX};

pub const BRIDGE: &str = "cplab0";
const IP_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";

fn subnet() -> String {
    format!("{}.{}.{}.0/24", NET_PREFIX[0], NET_PREFIX[1], NET_PREFIX[2])
}

pub fn gateway() -> String {
    format!("{}.{}.{}.1", NET_PREFIX[0], NET_PREFIX[1], NET_PREFIX[2])
}

/// iptables rules the lab adds (table, then the rule): NAT for the servers'
/// traffic out, and forwarding allowed even when the FORWARD policy drops.
fn rules() -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&[
            "nat",
            "POSTROUTING",
            "-s",
            &subnet(),
            "!",
            "-o",
            BRIDGE,
            "-j",
            "MASQUERADE",
        ]),
        s(&["filter", "FORWARD", "-i", BRIDGE, "-j", "ACCEPT"]),
        s(&["filter", "FORWARD", "-o", BRIDGE, "-j", "ACCEPT"]),
    ]
}

fn iptables(op: &str, rule: &[String]) -> Vec<String> {
    let mut args = vec!["-w".to_string(), "-t".into(), rule[0].clone(), op.into()];
    args.extend(rule[1..].iter().cloned());
    args
}

pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

pub fn netns_exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

/// The bridge, forwarding and NAT; each made only when missing. The former
/// ip_forward value is kept in net.json so the last `down` restores it.
pub fn ensure_bridge(layout: &Layout) -> Result<(), LabError> {
    if !link_exists(BRIDGE) {
        cmd::run("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        cmd::run(
            "ip",
            &["addr", "add", &format!("{}/24", gateway()), "dev", BRIDGE],
        )?;
    }
    cmd::run("ip", &["link", "set", BRIDGE, "up"])?;
    let forward = std::fs::read_to_string(IP_FORWARD).map_err(|e| io(Path::new(IP_FORWARD), e))?;
    if forward.trim() != "1" {
        let record = layout.net_state();
        if !record.exists() {
            let json = serde_json::json!({ "ip_forward_was": forward.trim() });
            cmd::write_atomic(&record, &json.to_string())?;
        }
        cmd::write(Path::new(IP_FORWARD), "1\n")?;
    }
    for rule in rules() {
        let check = iptables("-C", &rule);
        let check: Vec<&str> = check.iter().map(String::as_str).collect();
        if !cmd::ok("iptables", &check) {
            let add = iptables("-A", &rule);
            cmd::run(
                "iptables",
                &add.iter().map(String::as_str).collect::<Vec<_>>(),
            )?;
        }
    }
    Ok(())
}

/// Removes the rules, the bridge and restores ip_forward (last server gone).
pub fn teardown_bridge(layout: &Layout) -> Result<(), LabError> {
    for rule in rules() {
        let check = iptables("-C", &rule);
        let check: Vec<&str> = check.iter().map(String::as_str).collect();
        let del = iptables("-D", &rule);
        let del: Vec<&str> = del.iter().map(String::as_str).collect();
        while cmd::ok("iptables", &check) {
            cmd::run("iptables", &del)?;
        }
    }
    if link_exists(BRIDGE) {
        cmd::run("ip", &["link", "del", BRIDGE])?;
    }
    let record = layout.net_state();
    if let Ok(text) = std::fs::read_to_string(&record) {
        let was = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("ip_forward_was")
                    .and_then(|w| w.as_str())
                    .map(str::to_string)
            });
        if let Some(was) = was {
            cmd::write(Path::new(IP_FORWARD), &format!("{was}\n"))?;
        }
        std::fs::remove_file(&record).map_err(|e| io(&record, e))?;
    }
    Ok(())
}

/// A fresh namespace for one server with `eth0` at `ip` on the bridge and a
/// default route through the controller; systemd-nspawn then joins it.
pub fn setup_server(netns: &str, veth: &str, ip: Ipv4Addr) -> Result<(), LabError> {
    teardown_server(netns, veth)?;
    cmd::run("ip", &["netns", "add", netns])?;
    cmd::run(
        "ip",
        &[
            "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns,
        ],
    )?;
    cmd::run("ip", &["link", "set", veth, "master", BRIDGE, "up"])?;
    cmd::run(
        "ip",
        &[
            "-n",
            netns,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ],
    )?;
    cmd::run("ip", &["-n", netns, "link", "set", "eth0", "up"])?;
    cmd::run("ip", &["-n", netns, "link", "set", "lo", "up"])?;
    cmd::run(
        "ip",
        &["-n", netns, "route", "add", "default", "via", &gateway()],
    )?;
    Ok(())
}

pub fn teardown_server(netns: &str, veth: &str) -> Result<(), LabError> {
    if !veth.is_empty() && link_exists(veth) {
        cmd::run("ip", &["link", "del", veth])?;
    }
    if !netns.is_empty() && netns_exists(netns) {
        cmd::run("ip", &["netns", "del", netns])?;
    }
    Ok(())
}

/// Lab namespaces that exist now (for cleaning after killed runs).
pub fn lab_netns() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cplab-"))
        .collect()
}

/// Lab veth host ends that exist now.
pub fn lab_veths() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("cpv"))
        .collect()
}
