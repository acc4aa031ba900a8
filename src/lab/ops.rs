//! The lab's operations: up, down, inventory, status. Each one that changes
//! the lab holds the lab lock while it does.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::cmd::{self, io};
use super::mounts::remove_tree;
use super::state::{self, Layout, ServerState};
use super::{LabError, base, cgroup, host, images, net, server};
use crate::output::Printer;

/// How to reach one lab server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub name: String,
    pub ip: String,
    /// The lab's private key (root logs in with it).
    pub key_path: PathBuf,
    /// A known_hosts file that pins every lab server's host key by IP.
    pub known_hosts_path: PathBuf,
}

/// Copies and namespaces made at once while booting: the copies are disk-bound.
const PREPARE_WORKERS: usize = 4;

/// Boots the named servers (a running one is left as it is) and returns how
/// to reach them once sshd answers and systemd finished booting.
pub fn up(names: &[String], p: &Printer) -> Result<Vec<ServerInfo>, LabError> {
    host::check_platform()?;
    let names = distinct(names)?;
    host::ensure_tools(p)?;
    let layout = Layout::from_env();
    let lock = state::lock(&layout)?;
    clean_stale(&layout, p)?;
    let base = base::ensure(&layout, p)?;
    let lab_pub = ensure_key(&layout)?;
    net::ensure_bridge(&layout)?;

    let existing = state::all(&layout)?;
    let mut fresh = Vec::new();
    for name in &names {
        if existing.get(name).is_some_and(ServerState::alive) {
            continue;
        }
        let ip = state::allocate(&layout, name)?;
        let st = ServerState {
            name: name.clone(),
            ip: ip.to_string(),
            netns: format!("cplab-{name}"),
            veth: veth_of(ip),
            ..ServerState::default()
        };
        // Recorded before anything exists, so a killed run can be cleaned.
        st.save(&layout)?;
        fresh.push(st);
    }
    if !fresh.is_empty() {
        p.info(&format!(
            "lab: booting {}",
            fresh
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    let prepared = parallel(&fresh, PREPARE_WORKERS, |st| {
        prepare(&layout, &base, &lab_pub, st)
    });
    let mut ready = Vec::new();
    let mut first_err = None;
    for r in prepared {
        match r {
            Ok(st) => ready.push(st),
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    if let Some(e) = first_err {
        for st in &fresh {
            let st = ServerState::load(&layout.state(&st.name)).unwrap_or_else(|_| st.clone());
            let _ = server::destroy(&layout, &st);
        }
        write_known_hosts(&layout)?;
        return Err(e);
    }
    write_known_hosts(&layout)?;
    for st in &mut ready {
        let (pid, start) = server::spawn(&layout, st)?;
        st.pid = pid;
        st.pid_start = start;
        st.save(&layout)?;
    }
    drop(lock);

    let all = state::all(&layout)?;
    let wanted: Vec<ServerState> = names.iter().filter_map(|n| all.get(n).cloned()).collect();
    let deadline = Instant::now() + Duration::from_secs(90 + 3 * wanted.len() as u64);
    let waited = parallel(&wanted, wanted.len().max(1), |st| {
        wait_port(st, deadline);
        server::wait_ready(&layout, st, deadline)
    });
    waited.into_iter().collect::<Result<Vec<()>, LabError>>()?;
    Ok(wanted.iter().map(|st| info(&layout, st)).collect())
}

/// Makes what one server needs before it boots, recording each part as it goes.
fn prepare(
    layout: &Layout,
    base: &Path,
    lab_pub: &str,
    st: &ServerState,
) -> Result<ServerState, LabError> {
    let mut st = st.clone();
    st.cgroups = cgroup::create(&st.name)?
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    st.save(layout)?;
    st.host_key = server::prepare_root(layout, base, &st.name, lab_pub)?;
    st.save(layout)?;
    let ip: Ipv4Addr = st.ip.parse().map_err(|_| LabError::State {
        path: layout.state(&st.name).display().to_string(),
        reason: format!("bad address {:?}", st.ip),
    })?;
    net::setup_server(&st.netns, &st.veth, ip)?;
    Ok(st)
}

/// Cheap polling for sshd's port, so that booting servers are not slowed by
/// many ssh processes; the real check follows.
fn wait_port(st: &ServerState, deadline: Instant) {
    let Ok(ip) = st.ip.parse::<Ipv4Addr>() else {
        return;
    };
    let addr = SocketAddr::from((ip, 22));
    while Instant::now() < deadline && st.alive() {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Stops the named servers (all when none is named) and removes everything
/// they made; the network goes with the last one.
pub fn down(names: &[String], p: &Printer) -> Result<(), LabError> {
    host::check_platform()?;
    let layout = Layout::from_env();
    if !layout.dir.exists() {
        return Ok(());
    }
    let _lock = state::lock(&layout)?;
    let states = state::all(&layout)?;
    let targets: Vec<String> = if names.is_empty() {
        leftovers(&layout, &states)
    } else {
        distinct(names)?
    };
    let work: Vec<ServerState> = targets
        .iter()
        .map(|n| {
            states
                .get(n)
                .cloned()
                .unwrap_or_else(|| unrecorded(&layout, n))
        })
        .collect();
    if !work.is_empty() {
        p.info(&format!("lab: stopping {}", targets.join(" ")));
    }
    let results = parallel(&work, PREPARE_WORKERS, |st| server::destroy(&layout, st));
    let mut first_err = results.into_iter().find_map(Result::err);
    write_known_hosts(&layout)?;
    if state::all(&layout)?.is_empty()
        && let Err(e) = teardown_lab(&layout)
    {
        first_err = first_err.or(Some(e));
    }
    first_err.map_or(Ok(()), Err)
}

/// Every server that left something behind: records, roots, namespaces.
fn leftovers(
    layout: &Layout,
    states: &std::collections::BTreeMap<String, ServerState>,
) -> Vec<String> {
    let mut names: BTreeSet<String> = states.keys().cloned().collect();
    if let Ok(entries) = std::fs::read_dir(layout.servers()) {
        names.extend(
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned()),
        );
    }
    names.extend(
        net::lab_netns()
            .iter()
            .filter_map(|n| n.strip_prefix("cplab-"))
            .map(str::to_string),
    );
    names.into_iter().collect()
}

/// What to clean for a name the lab has no record of (left by a run killed
/// before it wrote one): its namespace, veth and root, found by name.
fn unrecorded(layout: &Layout, name: &str) -> ServerState {
    let veth = lookup_address(layout, name)
        .map(veth_of)
        .unwrap_or_default();
    ServerState {
        name: name.to_string(),
        netns: format!("cplab-{name}"),
        veth,
        ..ServerState::default()
    }
}

/// The last server went: the bridge, NAT, image registry and any stray
/// namespace, link or root go too.
fn teardown_lab(layout: &Layout) -> Result<(), LabError> {
    for ns in net::lab_netns() {
        net::teardown_server(&ns, "")?;
    }
    for veth in net::lab_veths() {
        net::teardown_server("", &veth)?;
    }
    images::stop_registry()?;
    net::teardown_bridge(layout)?;
    if let Ok(entries) = std::fs::read_dir(layout.servers()) {
        for e in entries.flatten() {
            remove_tree(&e.path())?;
        }
    }
    Ok(())
}

/// Servers whose systemd-nspawn is gone (a killed run, a powered-off server).
fn clean_stale(layout: &Layout, p: &Printer) -> Result<(), LabError> {
    for st in state::all(layout)?.values() {
        if !st.alive() {
            p.info(&format!(
                "lab: cleaning {}, left stopped by an earlier run",
                st.name
            ));
            server::destroy(layout, st)?;
        }
    }
    Ok(())
}

fn ensure_key(layout: &Layout) -> Result<String, LabError> {
    let key = layout.key();
    let public = key.with_extension("pub");
    if !key.exists() || !public.exists() {
        let _ = std::fs::remove_file(&key);
        let _ = std::fs::remove_file(&public);
        let k = key.display().to_string();
        cmd::run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "condaplay-lab",
                "-f",
                &k,
            ],
        )?;
    }
    std::fs::read_to_string(&public).map_err(|e| io(&public, e))
}

/// Rewrites known_hosts from the records: one pinned key per server IP.
fn write_known_hosts(layout: &Layout) -> Result<(), LabError> {
    let text: String = state::all(layout)?
        .values()
        .filter(|s| !s.host_key.is_empty())
        .map(|s| format!("{} {}\n", s.ip, s.host_key))
        .collect();
    cmd::write_atomic(&layout.known_hosts(), &text)
}

fn info(layout: &Layout, st: &ServerState) -> ServerInfo {
    ServerInfo {
        name: st.name.clone(),
        ip: st.ip.clone(),
        key_path: layout.key(),
        known_hosts_path: layout.known_hosts(),
    }
}

/// The running servers, by name.
pub fn running() -> Result<Vec<ServerInfo>, LabError> {
    let layout = Layout::from_env();
    Ok(state::all(&layout)?
        .values()
        .filter(|s| s.alive())
        .map(|s| info(&layout, s))
        .collect())
}

/// An Ansible INI inventory of the running servers.
pub fn inventory_text() -> Result<String, LabError> {
    inventory_text_grouped(None)
}

/// The same, the servers under `[group]` when one is given.
pub fn inventory_text_grouped(group: Option<&str>) -> Result<String, LabError> {
    let mut out = String::new();
    if let Some(g) = group {
        out.push_str(&format!("[{g}]\n"));
    }
    for s in running()? {
        out.push_str(&format!(
            "{} ansible_host={} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'\n",
            s.name,
            s.ip,
            s.key_path.display(),
            s.known_hosts_path.display()
        ));
    }
    Ok(out)
}

/// One row per recorded server: name, ip, state, pid, memory in use.
pub fn status_rows() -> Result<Vec<[String; 5]>, LabError> {
    let layout = Layout::from_env();
    Ok(state::all(&layout)?
        .values()
        .map(|s| {
            let (state, pid, mem) = if s.alive() {
                let mem =
                    cgroup::memory_bytes(&s.cgroups).map(|b| format!("{} MiB", b / (1024 * 1024)));
                (
                    "running",
                    s.pid.to_string(),
                    mem.unwrap_or_else(|| "-".into()),
                )
            } else {
                ("stopped", "-".into(), "-".into())
            };
            [s.name.clone(), s.ip.clone(), state.into(), pid, mem]
        })
        .collect())
}

/// The ssh command line that logs into a running server as root.
pub fn ssh_command(name: &str, command: &[String]) -> Result<Vec<String>, LabError> {
    let layout = Layout::from_env();
    let st = state::all(&layout)?.remove(name).filter(ServerState::alive);
    let st = st.ok_or_else(|| LabError::NotRunning(name.to_string()))?;
    let mut args = server::ssh_options(&layout);
    args.push(format!("root@{}", st.ip));
    args.extend(command.iter().cloned());
    Ok(args)
}

fn lookup_address(layout: &Layout, name: &str) -> Option<Ipv4Addr> {
    let text = std::fs::read_to_string(layout.addresses()).ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some(name))
            .then(|| w.next()?.parse().ok())
            .flatten()
    })
}

/// The host end of a server's veth pair (interface names are at most 15 bytes).
fn veth_of(ip: Ipv4Addr) -> String {
    format!("cpv{}", ip.octets()[3])
}

fn distinct(names: &[String]) -> Result<Vec<String>, LabError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for n in names {
        state::check_name(n)?;
        if seen.insert(n.clone()) {
            out.push(n.clone());
        }
    }
    Ok(out)
}

/// Runs `f` on every item with at most `workers` at once, results in order.
fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.min(items.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}
