use std::path::PathBuf;

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
