//! Facts in one round trip: the few that playbooks use, as `ansible_facts.X`
//! and `ansible_X`.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value, json};

/// The shell body that reports facts as records.
pub const SCRIPT: &str = r#"
[ -r /etc/os-release ] && . /etc/os-release
cp_ret id "${ID:-unknown}"
cp_ret id_like "${ID_LIKE:-}"
cp_ret version_id "${VERSION_ID:-}"
cp_ret codename "${VERSION_CODENAME:-}"
cp_ret pretty "${PRETTY_NAME:-}"
cp_ret hostname "$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
cp_ret fqdn "$(hostname -f 2>/dev/null || hostname)"
cp_ret arch "$(uname -m)"
cp_ret kernel "$(uname -r)"
cp_ret vcpus "$(nproc 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
cp_ret mem "$(awk '/^MemTotal:/{print int($2/1024)}' /proc/meminfo)"
cp_ret swap "$(awk '/^SwapTotal:/{print int($2/1024)}' /proc/meminfo)"
cp_ret ipv4 "$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -n1)"
cp_ret iface "$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n1)"
if [ -d /run/systemd/system ]; then cp_ret svc systemd; else cp_ret svc "$(ps -p 1 -o comm= 2>/dev/null || echo unknown)"; fi
cp_ret user "$(id -un)"
cp_ret home "$HOME"
"#;

fn family(id: &str, like: &str) -> &'static str {
    let all = format!("{id} {like}");
    if all.contains("debian") || all.contains("ubuntu") {
        "Debian"
    } else if all.contains("rhel") || all.contains("fedora") || all.contains("centos") {
        "RedHat"
    } else if all.contains("alpine") {
        "Alpine"
    } else if all.contains("suse") {
        "Suse"
    } else if all.contains("arch") {
        "Archlinux"
    } else {
        "Unknown"
    }
}

fn capitalize(id: &str) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        other => {
            let mut c = other.chars();
            c.next().map_or_else(String::new, |f| {
                f.to_uppercase().collect::<String>() + c.as_str()
            })
        }
    }
}

/// The variables a template reads facts through: `ansible_facts`, each
/// `ansible_X`, and `hostvars` (another host's facts, or this one's).
pub fn lookup_names() -> Arc<HashSet<String>> {
    static NAMES: OnceLock<Arc<HashSet<String>>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut names: HashSet<String> = from_records(&Map::new())
                .keys()
                .map(|k| format!("ansible_{k}"))
                .collect();
            names.insert("ansible_facts".into());
            names.insert("hostvars".into());
            Arc::new(names)
        })
        .clone()
}

/// Facts from the records the script printed.
pub fn from_records(ret: &Map<String, Value>) -> Map<String, Value> {
    let s = |k: &str| {
        ret.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let n = |k: &str| s(k).parse::<i64>().map_or(Value::Null, Value::from);
    let id = s("id");
    let hostname = s("hostname");
    let facts = json!({
        "os_family": family(&id, &s("id_like")),
        "distribution": capitalize(&id),
        "distribution_version": s("version_id"),
        "distribution_major_version": s("version_id").split('.').next().unwrap_or("").to_string(),
        "distribution_release": s("codename"),
        "hostname": hostname.split('.').next().unwrap_or("").to_string(),
        "nodename": hostname,
        "fqdn": s("fqdn"),
        "architecture": s("arch"),
        "kernel": s("kernel"),
        "processor_vcpus": n("vcpus"),
        "processor_count": n("vcpus"),
        "memtotal_mb": n("mem"),
        "swaptotal_mb": n("swap"),
        "default_ipv4": {"address": s("ipv4"), "interface": s("iface")},
        "service_mgr": s("svc"),
        "user_id": s("user"),
        "user_dir": s("home"),
        "system": "Linux",
    });
    facts.as_object().cloned().unwrap_or_default()
}
