use std::path::PathBuf;

use serde_json::{Map, Value};

/// How to reach a host, from its inventory variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The inventory name (used in messages and for the control socket).
    pub name: String,
    pub kind: ConnectionKind,
    /// `ansible_host`, or the inventory name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub key_file: Option<PathBuf>,
    /// `ansible_ssh_common_args` and `ansible_ssh_extra_args`, split like a shell would.
    pub ssh_args: Vec<String>,
    /// Seconds to wait for the connection (`ansible_ssh_timeout`, default 10).
    pub timeout: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    Ssh,
    Local,
}

/// Privilege escalation with sudo.
#[derive(Clone, PartialEq, Eq)]
pub struct Become {
    pub user: String,
    /// Sent on stdin, never on a command line.
    pub password: Option<String>,
}

impl std::fmt::Debug for Become {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Become")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .finish()
    }
}

/// The inventory variables that say how to reach a host.
pub const CONNECTION_VARS: &[&str] = &[
    "ansible_connection",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_ssh_timeout",
    "ansible_timeout",
];

impl Target {
    /// A target from a host's (already rendered) variables. `localhost` with
    /// no inventory entry is the controller itself, as in Ansible.
    pub fn from_vars(name: &str, vars: &Map<String, Value>, implicit_localhost: bool) -> Target {
        let get = |k: &str| -> Option<String> {
            match vars.get(k)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let kind = match get("ansible_connection").as_deref() {
            Some("local") => ConnectionKind::Local,
            _ if implicit_localhost => ConnectionKind::Local,
            _ => ConnectionKind::Ssh,
        };
        let mut ssh_args = Vec::new();
        for k in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
            if let Some(a) = get(k) {
                ssh_args.extend(shlex::split(&a).unwrap_or_default());
            }
        }
        Target {
            name: name.to_string(),
            kind,
            address: get("ansible_host").unwrap_or_else(|| name.to_string()),
            port: get("ansible_port").and_then(|p| p.parse().ok()),
            user: get("ansible_user").or_else(|| get("ansible_ssh_user")),
            key_file: get("ansible_ssh_private_key_file")
                .or_else(|| get("ansible_private_key_file"))
                .map(PathBuf::from),
            ssh_args,
            timeout: get("ansible_ssh_timeout")
                .or_else(|| get("ansible_timeout"))
                .and_then(|t| t.parse().ok())
                .unwrap_or(10),
        }
    }

    /// The known_hosts file ssh will check: `-o UserKnownHostsFile=` from the
    /// user's ssh arguments, else `~/.ssh/known_hosts`.
    pub fn known_hosts_file(&self) -> PathBuf {
        let mut args = self.ssh_args.iter();
        while let Some(a) = args.next() {
            let opt = if a == "-o" {
                args.next().map(String::as_str)
            } else {
                a.strip_prefix("-o")
            };
            if let Some((k, v)) = opt.and_then(|o| o.split_once('=')) {
                if k.eq_ignore_ascii_case("UserKnownHostsFile") {
                    if let Some(first) = v.split_whitespace().next() {
                        return PathBuf::from(first);
                    }
                }
            }
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        home.join(".ssh/known_hosts")
    }

    /// How known_hosts names this host: `addr` or `[addr]:port`.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            Some(p) if p != 22 => format!("[{}]:{p}", self.address),
            _ => self.address.clone(),
        }
    }
}
