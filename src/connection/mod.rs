//! Connections to hosts: one SSH master per host, reused for every task.
//!
//! We start `ssh -M` ourselves rather than letting the openssh crate build the
//! command line, so everything users put in `ansible_ssh_common_args`,
//! `~/.ssh/config`, agents and ProxyJump reach ssh unchanged. Once the master
//! is up, the crate's native mux client drives it: no ssh process per task.

mod local;
mod ssh;
mod target;

pub use target::{Become, CONNECTION_VARS, ConnectionKind, Target};

use std::path::Path;

/// What a program printed and how it ended.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// `None` when the remote side died without an exit status.
    pub status: Option<i32>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The host could not be reached or refused us: reported as unreachable.
    #[error("{0}")]
    Unreachable(String),
    /// The connection broke while a program ran.
    #[error("connection lost while running a task: {0}")]
    Lost(String),
    #[error("cannot run {what}: {source}")]
    Spawn {
        what: String,
        source: std::io::Error,
    },
}

/// A live connection to one host.
pub enum Connection {
    Ssh(Box<ssh::SshConnection>),
    Local(local::LocalConnection),
}

impl Connection {
    /// Opens the connection: for ssh, starts the master and waits until it is
    /// authenticated. `control_dir` must be a short private directory (socket
    /// paths are limited to about 100 bytes).
    pub async fn open(target: &Target, control_dir: &Path) -> Result<Connection, ConnError> {
        Ok(match target.kind {
            ConnectionKind::Ssh => Connection::Ssh(Box::new(
                ssh::SshConnection::open(target, control_dir).await?,
            )),
            ConnectionKind::Local => Connection::Local(local::LocalConnection),
        })
    }

    /// Runs a POSIX shell program on the host. The program travels on the
    /// channel's stdin, never in an argument list, so secrets inside it stay
    /// out of `ps` on both sides.
    pub async fn exec(
        &self,
        program: &[u8],
        become_: Option<&Become>,
    ) -> Result<ExecOutput, ConnError> {
        let (argv, prefix) = shell_command(become_);
        let mut input = prefix;
        input.extend_from_slice(program);
        match self {
            Connection::Ssh(c) => c.exec(&argv, &input).await,
            Connection::Local(c) => c.exec(&argv, &input).await,
        }
    }

    /// Closes the master connection (no-op for local).
    pub async fn close(self) {
        if let Connection::Ssh(c) = self {
            c.close().await;
        }
    }
}

/// The remote command line and what goes on stdin before the program.
fn shell_command(become_: Option<&Become>) -> (Vec<String>, Vec<u8>) {
    match become_ {
        None => (vec!["/bin/sh".into()], Vec::new()),
        Some(b) => {
            let mut argv: Vec<String> = vec!["sudo".into(), "-H".into()];
            let mut prefix = Vec::new();
            match &b.password {
                // The password is the first line of stdin; sudo reads exactly one line.
                Some(pw) => {
                    argv.extend(["-S".into(), "-p".into(), String::new()]);
                    prefix.extend_from_slice(pw.as_bytes());
                    prefix.push(b'\n');
                }
                None => argv.push("-n".into()),
            }
            argv.extend(["-u".into(), b.user.clone(), "/bin/sh".into()]);
            (argv, prefix)
        }
    }
}
