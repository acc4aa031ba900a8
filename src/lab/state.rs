//! The lab's state directory: where things live, the lock, address
//! allocations and one record per server.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LabError;
use super::cmd::{io, write_atomic};

pub const DEFAULT_DIR: &str = "/var/lib/condaplay/lab";
/// The bridge's /24: the controller is .1, servers get .10 and up.
pub const NET_PREFIX: [u8; 3] = [172, 31, 250];
pub const FIRST_HOST: u8 = 10;
pub const LAST_HOST: u8 = 254;

/// Where the lab keeps its files (`CONDAPLAY_LAB_DIR` or the default).
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn from_env() -> Layout {
        let dir = std::env::var_os("CONDAPLAY_LAB_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Layout {
            dir: dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR)),
        }
    }
    pub fn lock(&self) -> PathBuf {
        self.dir.join("lock")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }
    pub fn addresses(&self) -> PathBuf {
        self.dir.join("addresses")
    }
    pub fn net_state(&self) -> PathBuf {
        self.dir.join("net.json")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }
    pub fn state(&self, name: &str) -> PathBuf {
        self.state_dir().join(format!("{name}.json"))
    }
    pub fn log(&self, name: &str) -> PathBuf {
        self.state_dir().join(format!("{name}.log"))
    }
    pub fn servers(&self) -> PathBuf {
        self.dir.join("servers")
    }
    pub fn root(&self, name: &str) -> PathBuf {
        self.servers().join(name)
    }
    pub fn base(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("base-{hash}"))
    }

    pub fn ensure_dirs(&self) -> Result<(), LabError> {
        for d in [self.dir.clone(), self.state_dir(), self.servers()] {
            std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
        Ok(())
    }
}

/// What the lab knows about one server, written before anything is made for
/// it so that a killed run can always be cleaned.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ServerState {
    pub name: String,
    pub ip: String,
    pub netns: String,
    pub veth: String,
    /// The systemd-nspawn process (0 until it is started).
    pub pid: u32,
    /// Its start time in clock ticks, to tell it from a later process that reuses the pid.
    pub pid_start: u64,
    /// `ssh-ed25519 AAAA...` of the server's host key.
    pub host_key: String,
    /// The cgroup directories made for it, one per hierarchy.
    pub cgroups: Vec<String>,
}

impl ServerState {
    pub fn load(path: &Path) -> Result<ServerState, LabError> {
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        serde_json::from_str(&text).map_err(|e| LabError::State {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
    pub fn save(&self, layout: &Layout) -> Result<(), LabError> {
        let text = serde_json::to_string_pretty(self).unwrap_or_default();
        write_atomic(&layout.state(&self.name), &text)
    }
    /// Whether the recorded systemd-nspawn process still runs.
    pub fn alive(&self) -> bool {
        self.pid != 0 && proc_start(self.pid) == Some(self.pid_start)
    }
}

/// Start time (field 22 of /proc/PID/stat) of a live, non-zombie process.
pub fn proc_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// All server records, by name.
pub fn all(layout: &Layout) -> Result<BTreeMap<String, ServerState>, LabError> {
    let mut out = BTreeMap::new();
    let dir = layout.state_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(&dir, e)),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let st = ServerState::load(&path)?;
            out.insert(st.name.clone(), st);
        }
    }
    Ok(out)
}

/// An exclusive lock on the lab (flock), released when dropped. Every
/// command that changes the lab holds it, so parallel runs do not race.
pub struct LabLock {
    _file: File,
}

pub fn lock(layout: &Layout) -> Result<LabLock, LabError> {
    layout.ensure_dirs()?;
    let path = layout.lock();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    loop {
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            return Ok(LabLock { _file: file });
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(io(&path, err));
        }
    }
}

/// The address of `name`: the one it had before (stable per name), else the
/// first free one. When all are taken, forgets names that have no server.
pub fn allocate(layout: &Layout, name: &str) -> Result<Ipv4Addr, LabError> {
    let path = layout.addresses();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io(&path, e)),
    };
    let mut table: BTreeMap<String, u8> = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some(n), Some(ip)) = (words.next(), words.next())
            && let Ok(ip) = ip.parse::<Ipv4Addr>()
        {
            table.insert(n.to_string(), ip.octets()[3]);
        }
    }
    if let Some(last) = table.get(name) {
        return Ok(addr(*last));
    }
    let free = |table: &BTreeMap<String, u8>| {
        (FIRST_HOST..=LAST_HOST).find(|h| !table.values().any(|v| v == h))
    };
    let host = match free(&table) {
        Some(h) => h,
        None => {
            let live = all(layout)?;
            table.retain(|n, _| live.contains_key(n));
            free(&table).ok_or(LabError::Full {
                max: usize::from(LAST_HOST - FIRST_HOST) + 1,
            })?
        }
    };
    table.insert(name.to_string(), host);
    let text: String = table
        .iter()
        .map(|(n, h)| format!("{n} {}\n", addr(*h)))
        .collect();
    write_atomic(&path, &text)?;
    Ok(addr(host))
}

pub fn addr(host: u8) -> Ipv4Addr {
    Ipv4Addr::new(NET_PREFIX[0], NET_PREFIX[1], NET_PREFIX[2], host)
}

/// A server name must be a valid hostname label (it becomes one).
pub fn check_name(name: &str) -> Result<(), LabError> {
    let ok = !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(LabError::BadName(name.to_string()))
    }
}
