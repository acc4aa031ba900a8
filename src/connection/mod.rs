//! Connections to hosts: one SSH master per host, reused for every task.
//!
//! We start `ssh -M` ourselves rather than letting the openssh crate build the
//! command line, so everything users put in `ansible_ssh_common_args`,
//! `~/.ssh/config`, agents and ProxyJump reach ssh unchanged. Once the master
//! is up, the crate's native mux client drives it: no ssh process per task.

mod local;
mod shell;
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
    /// The program ran to its end: `status` is its own, not that of a shell
    /// that died under it.
    pub complete: bool,
}

impl ExecOutput {
    /// The program's exit status, when it ran to its end.
    pub fn finished(&self) -> Option<i32> {
        self.status.filter(|_| self.complete)
    }
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

/// A live connection to one host, with its long-lived shells.
pub struct Connection {
    link: Link,
    /// Idle shells, any become setting. A busy shell is out of the pool, so
    /// tasks delegated to one host from many run side by side on shells of their own.
    idle: std::sync::Mutex<Vec<shell::Shell>>,
    /// Round trips so far (for `-vvv`, and tests that count them).
    trips: std::sync::atomic::AtomicUsize,
}

enum Link {
    Ssh(Box<ssh::SshConnection>),
    Local(local::LocalConnection),
}

impl Connection {
    /// Opens the connection: for ssh, starts the master and waits until it is
    /// authenticated. `control_dir` must be a short private directory (socket
    /// paths are limited to about 100 bytes).
    pub async fn open(target: &Target, control_dir: &Path) -> Result<Connection, ConnError> {
        let link = match target.kind {
            ConnectionKind::Ssh => Link::Ssh(Box::new(
                ssh::SshConnection::open(target, control_dir).await?,
            )),
            ConnectionKind::Local => Link::Local(local::LocalConnection),
        };
        Ok(Connection {
            link,
            idle: std::sync::Mutex::default(),
            trips: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    /// How many round trips this connection has made.
    pub fn round_trips(&self) -> usize {
        self.trips.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Runs a POSIX shell program on the host, in a subshell of a long-lived
    /// shell (started on first use) where the prelude's `cp_*` helpers are
    /// defined. The program travels on the channel's stdin, never in an
    /// argument list, so secrets inside it stay out of `ps` on both sides.
    /// Its own stdin is /dev/null.
    pub async fn exec(
        &self,
        program: &[u8],
        become_: Option<&Become>,
    ) -> Result<ExecOutput, ConnError> {
        let mut out = self.exec_chain(&[(program, become_)]).await?;
        Ok(out
            .pop()
            .flatten()
            .expect("the first program of a chain always runs"))
    }

    /// Runs programs in order, as few round trips as possible (one per run of
    /// programs with the same become setting); a program runs only if the
    /// one before it exited 0. `None`: did not run.
    pub async fn exec_chain(
        &self,
        programs: &[(&[u8], Option<&Become>)],
    ) -> Result<Vec<Option<ExecOutput>>, ConnError> {
        let mut results: Vec<Option<ExecOutput>> = Vec::with_capacity(programs.len());
        let mut i = 0;
        while i < programs.len() {
            let become_ = programs[i].1;
            let mut j = i + 1;
            while j < programs.len() && programs[j].1 == become_ {
                j += 1;
            }
            if i > 0 && !matches!(results.last(), Some(Some(o)) if o.status == Some(0)) {
                results.resize_with(programs.len(), || None);
                break;
            }
            let group: Vec<&[u8]> = programs[i..j].iter().map(|p| p.0).collect();
            let taken = {
                let mut idle = self.idle.lock().unwrap();
                idle.iter()
                    .position(|s| s.become_.as_ref() == become_)
                    .map(|k| idle.swap_remove(k))
            };
            let mut sh = match taken {
                Some(sh) => sh,
                None => self.start_shell(become_).await?,
            };
            let mut died = None;
            self.trips
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            for ran in sh.run_chain(&group).await {
                match ran {
                    shell::Ran::Done(o) => results.push(Some(o)),
                    shell::Ran::NotRun => results.push(None),
                    shell::Ran::Died(o) => died = Some(o),
                }
            }
            match died {
                Some(o) => {
                    results.push(Some(sh.reap(o).await));
                    results.resize_with(programs.len(), || None);
                    break;
                }
                None => self.idle.lock().unwrap().push(sh),
            }
            i = j;
        }
        results.resize_with(programs.len(), || None);
        Ok(results)
    }

    async fn start_shell(&self, become_: Option<&Become>) -> Result<shell::Shell, ConnError> {
        let (argv, prefix) = shell_command(become_);
        let (stdin, stdout, stderr, proc) = match &self.link {
            Link::Ssh(c) => c.spawn(&argv).await?,
            Link::Local(c) => c.spawn(&argv)?,
        };
        shell::Shell::start(become_.cloned(), prefix, stdin, stdout, stderr, proc).await
    }

    /// Ends the shells (each removes its temporary directory on the host),
    /// then the master connection.
    pub async fn close(self) {
        let shells: Vec<shell::Shell> = std::mem::take(&mut *self.idle.lock().unwrap());
        futures::future::join_all(shells.into_iter().map(shell::Shell::close)).await;
        if let Link::Ssh(c) = self.link {
            c.close().await;
        }
    }
}

/// The pieces of a started shell process.
type Spawned = (
    std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>,
    shell::Proc,
);

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
