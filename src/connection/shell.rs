//! Long-lived shells: one `/bin/sh` per host and become user, started once
//! (the prelude is sent once), then fed one task program after another.
//!
//! Starting a session per task cost about 20 ms of server CPU (sshd's session
//! setup, a shell, the prelude parsed again); a unit on a warm shell costs a
//! subshell. A shell that dies is dropped; the next task starts a fresh one.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{Become, ConnError, ExecOutput};
use crate::modules::protocol;

/// How a shell process ends, seen from the controller.
pub enum Proc {
    Ssh(openssh::Child<Arc<openssh::Session>>),
    Local(tokio::process::Child),
}

impl Proc {
    /// The exit code; `None` when the remote side died without one (a cut
    /// connection). openssh reports 127 as an error of its own: it is an
    /// exit status like any other here.
    async fn wait(self) -> Option<i32> {
        match self {
            Proc::Ssh(c) => match c.wait().await {
                Ok(s) => s.code(),
                Err(openssh::Error::Remote(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                    Some(127)
                }
                Err(_) => None,
            },
            Proc::Local(mut c) => c.wait().await.ok().and_then(|s| s.code()),
        }
    }
}

pub struct Shell {
    /// Who the shell runs as; a task with another become setting needs another shell.
    pub become_: Option<Become>,
    stdin: Pin<Box<dyn AsyncWrite + Send>>,
    stdout: Pin<Box<dyn AsyncRead + Send>>,
    /// Everything the shell itself printed on stderr (sudo's complaints, say),
    /// drained all the time so the pipe never fills.
    stderr: Arc<Mutex<Vec<u8>>>,
    proc: Proc,
    nonce: String,
    buf: Vec<u8>,
}

/// What a unit on a shell came to.
pub enum Ran {
    /// The end record arrived: the shell is ready for the next unit.
    Done(ExecOutput),
    /// A chained unit that did not run: the one before it failed.
    NotRun,
    /// The shell ended before the end record: its output so far (the exit
    /// status comes from [`Shell::reap`]).
    Died(ExecOutput),
}

impl Shell {
    /// Wraps a started shell process and sends it the password line (sudo
    /// reads exactly one line) and the session's prelude.
    pub async fn start(
        become_: Option<Become>,
        prefix: Vec<u8>,
        stdin: Pin<Box<dyn AsyncWrite + Send>>,
        stdout: Pin<Box<dyn AsyncRead + Send>>,
        mut stderr: Pin<Box<dyn AsyncRead + Send>>,
        proc: Proc,
    ) -> Result<Shell, ConnError> {
        let errbuf = Arc::new(Mutex::new(Vec::new()));
        let sink = errbuf.clone();
        tokio::spawn(async move {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                let mut b = sink.lock().unwrap();
                // Only the tail matters for messages; a chatty shell cannot grow it.
                if b.len() > 64 * 1024 {
                    b.drain(..32 * 1024);
                }
                b.extend_from_slice(&chunk[..n]);
            }
        });
        let mut sh = Shell {
            become_,
            stdin,
            stdout,
            stderr: errbuf,
            proc,
            nonce: nonce(),
            buf: Vec::new(),
        };
        let mut init = prefix;
        init.extend_from_slice(protocol::session_init().as_bytes());
        // A shell that is already gone shows up when its first unit runs.
        let _ = sh.stdin.write_all(&init).await;
        Ok(sh)
    }

    /// Runs programs one after the other in one round trip: all are sent at
    /// once, each runs only if the one before it exited 0. Their stdin is
    /// /dev/null; stdout, stderr and status come back per program. The
    /// result is shorter than `programs` only after a [`Ran::Died`].
    pub async fn run_chain(&mut self, programs: &[&[u8]]) -> Vec<Ran> {
        let mut units = Vec::new();
        for (i, p) in programs.iter().enumerate() {
            units.extend(protocol::task_unit(p, &self.nonce, i > 0));
        }
        let Shell {
            stdin,
            stdout,
            buf,
            nonce,
            ..
        } = self;
        let write = async {
            let r = stdin.write_all(&units).await;
            let _ = stdin.flush().await;
            r
        };
        let read = async {
            let mut out = Vec::with_capacity(programs.len());
            let mut scanned = 0usize;
            let mut chunk = vec![0u8; 64 * 1024];
            while out.len() < programs.len() {
                // Look only at new bytes (and a marker's length back).
                let from = scanned.saturating_sub(16).min(buf.len());
                if buf[from..].contains(&0x1e) {
                    if let Some(u) = protocol::split_unit(buf, nonce) {
                        buf.drain(..u.len);
                        scanned = 0;
                        out.push(match u.status {
                            None => Ran::NotRun,
                            status => Ran::Done(ExecOutput {
                                stdout: u.stdout,
                                stderr: u.stderr,
                                status,
                                complete: true,
                            }),
                        });
                        continue;
                    }
                }
                scanned = buf.len();
                match stdout.read(&mut chunk).await {
                    Ok(0) | Err(_) => {
                        out.push(Ran::Died(ExecOutput {
                            stdout: std::mem::take(buf),
                            stderr: Vec::new(),
                            status: None,
                            complete: false,
                        }));
                        break;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            out
        };
        let (_, out) = futures::join!(write, read);
        out
    }

    /// After [`Ran::Died`]: the exit status and what the shell said on stderr.
    pub async fn reap(self, mut out: ExecOutput) -> ExecOutput {
        let Shell {
            stdin,
            proc,
            stderr,
            ..
        } = self;
        drop(stdin);
        out.status = tokio::time::timeout(Duration::from_secs(5), proc.wait())
            .await
            .ok()
            .flatten();
        // Give the drain a moment to catch the last words.
        tokio::time::sleep(Duration::from_millis(20)).await;
        out.stderr = std::mem::take(&mut *stderr.lock().unwrap());
        out
    }

    /// Ends the shell: end of input makes it exit, which removes its
    /// temporary directory on the host.
    pub async fn close(self) {
        let Shell { stdin, proc, .. } = self;
        drop(stdin);
        let _ = tokio::time::timeout(Duration::from_secs(2), proc.wait()).await;
    }
}

fn nonce() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..4)
        .map(|_| format!("{:08x}", rng.r#gen::<u32>()))
        .collect()
}
