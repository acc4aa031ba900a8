use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssh::Session;

use super::{ConnError, Target};

pub struct SshConnection {
    session: Arc<Session>,
    /// The master runs in the foreground as our child, with a parent-death
    /// signal: a controller killed with SIGKILL takes its masters with it.
    master: tokio::process::Child,
}

impl SshConnection {
    pub async fn open(target: &Target, control_dir: &Path) -> Result<SshConnection, ConnError> {
        let socket = control_dir.join(socket_name(&target.name));
        let _ = std::fs::remove_file(&socket);
        let log = control_dir.join(format!("{}.log", socket_name(&target.name)));
        let _ = std::fs::remove_file(&log);
        let argv = master_argv(target, &socket, &log);
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(&argv)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        // A controller that dies between fork and prctl sends no signal, so the
        // child checks that its parent is still the controller once armed.
        let controller = std::process::id() as libc::pid_t;
        // SAFETY: prctl, getppid and _exit are async-signal-safe; nothing else
        // runs between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() != controller {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let mut master = cmd.spawn().map_err(|source| ConnError::Spawn {
            what: "ssh".into(),
            source,
        })?;
        // ssh creates the control socket once the host is authenticated.
        // ssh's ConnectTimeout (the inventory's timeout, as in Ansible) ends a
        // host that does not answer; this deadline is only a safety net, wide
        // enough for many handshakes at once on a busy controller.
        let patience = u64::from(target.timeout) * 4 + 20;
        let deadline = Instant::now() + Duration::from_secs(patience);
        loop {
            if socket.exists() {
                break;
            }
            let exited = master.try_wait().map_err(|source| ConnError::Spawn {
                what: "ssh".into(),
                source,
            })?;
            if exited.is_some() || Instant::now() > deadline {
                let _ = master.kill().await;
                let mut msg = std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                if msg.is_empty() {
                    msg = match exited {
                        Some(status) => format!("ssh exited with {status}"),
                        None => format!("no answer within {patience} s"),
                    };
                }
                let _ = std::fs::remove_file(&log);
                let advice = host_key_advice(target, &msg).await;
                return Err(ConnError::Unreachable(advice.unwrap_or_else(|| {
                    format!("Failed to connect to the host via ssh: {msg}")
                })));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let session = Session::resume_mux(socket.into_boxed_path(), Some(log.into_boxed_path()));
        Ok(SshConnection {
            session: Arc::new(session),
            master,
        })
    }

    /// Starts a long-lived program (the task shell) with piped stdio.
    pub async fn spawn(&self, argv: &[String]) -> Result<super::Spawned, ConnError> {
        let mut cmd = Session::arc_raw_command(self.session.clone(), &argv[0]);
        for a in &argv[1..] {
            // raw_command passes words as they are; quote for the remote shell.
            cmd.raw_arg(quote_word(a));
        }
        cmd.stdin(openssh::Stdio::piped())
            .stdout(openssh::Stdio::piped())
            .stderr(openssh::Stdio::piped());
        let mut child = cmd.spawn().await.map_err(lost)?;
        let stdin = child.stdin().take().expect("piped stdin");
        let stdout = child.stdout().take().expect("piped stdout");
        let stderr = child.stderr().take().expect("piped stderr");
        Ok((
            Box::pin(stdin),
            Box::pin(stdout),
            Box::pin(stderr),
            super::shell::Proc::Ssh(child),
        ))
    }

    pub async fn close(self) {
        let SshConnection {
            session,
            mut master,
        } = self;
        // Shells are closed first, so this is the last owner of the session.
        if let Ok(session) = Arc::try_unwrap(session) {
            let _ = session.close().await;
        }
        if tokio::time::timeout(Duration::from_secs(2), master.wait())
            .await
            .is_err()
        {
            let _ = master.kill().await;
        }
    }
}
fn lost(e: openssh::Error) -> ConnError {
    ConnError::Lost(e.to_string())
}

/// Socket names are short and safe whatever the host name is.
fn socket_name(host: &str) -> String {
    let clean: String = host
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
        .take(40)
        .collect();
    format!("{clean}-{:x}", fxhash(host))
}

fn fxhash(s: &str) -> u32 {
    s.bytes().fold(0x811c9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x01000193)
    })
}

fn master_argv(t: &Target, socket: &Path, log: &Path) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "-M".into(),
        "-N".into(),
        "-S".into(),
        socket.display().to_string(),
        "-E".into(),
        log.display().to_string(),
        "-o".into(),
        "ControlPersist=no".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        format!("ConnectTimeout={}", t.timeout),
        "-o".into(),
        "ServerAliveInterval=5".into(),
        "-o".into(),
        "ServerAliveCountMax=3".into(),
    ];
    // User arguments come before our defaults for host keys: ssh keeps the first
    // value it sees for an option, so `-o StrictHostKeyChecking=no` from the user wins.
    a.extend(t.ssh_args.iter().cloned());
    a.extend(["-o".into(), "StrictHostKeyChecking=yes".into()]);
    if let Some(p) = t.port {
        a.extend(["-p".into(), p.to_string()]);
    }
    if let Some(u) = &t.user {
        a.extend(["-l".into(), u.clone()]);
    }
    if let Some(k) = &t.key_file {
        a.extend([
            "-i".into(),
            k.display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
        ]);
    }
    a.push("--".into());
    a.push(t.address.clone());
    a
}

/// POSIX single-quoting for one word on the remote command line.
fn quote_word(w: &str) -> String {
    if !w.is_empty()
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.=:@%+".contains(&b))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// A clear message when ssh refused the host's key: unknown keys come with
/// their fingerprints and the command that pins them; a changed key is loud.
async fn host_key_advice(target: &Target, ssh_msg: &str) -> Option<String> {
    let known = target.known_hosts_file();
    if ssh_msg.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") {
        return Some(format!(
            "the host key of {} ({}) has CHANGED since it was pinned in {}. This may be an attack, or a reinstalled server. \
Nothing was run on it. If the change is expected, remove the old key (ssh-keygen -R '{}' -f {}) and pin the new one with `condaplay trust {} -i INVENTORY`.",
            target.name,
            target.known_hosts_name(),
            known.display(),
            target.known_hosts_name(),
            known.display(),
            target.name
        ));
    }
    if !ssh_msg.contains("Host key verification failed")
        && !ssh_msg.contains("No ED25519 host key is known")
        && !ssh_msg.contains("host key is known")
    {
        return None;
    }
    let prints = crate::trust::scan(target).await.ok().map(|keys| {
        keys.iter()
            .map(|k| k.fingerprint.clone())
            .collect::<Vec<_>>()
            .join(", ")
    });
    Some(format!(
        "the host key of {} ({}) is not known (checked {}), so the host was refused and nothing ran on it. Its key fingerprints: {}. \
Check them with the server's owner, then pin them with `condaplay trust {} -i INVENTORY`.",
        target.name,
        target.known_hosts_name(),
        known.display(),
        prints.unwrap_or_else(|| "unavailable".into()),
        target.name
    ))
}
