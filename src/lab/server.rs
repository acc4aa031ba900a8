//! One server: its root (a full copy of the base), its systemd-nspawn
//! process, waiting for it to answer over SSH, and tearing it all down.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;

use super::LabError;
use super::cgroup;
use super::cmd::{self, io};
use super::mounts::{remove_tree, unmount_under};
use super::net;
use super::state::{Layout, ServerState, proc_start};

/// Copies the base and makes it this server's: host key (made here, on the
/// controller, so it is known before the first connection), the lab key for
/// root, hostname and machine id. Returns the public host key.
pub fn prepare_root(
    layout: &Layout,
    base: &Path,
    name: &str,
    lab_pub: &str,
) -> Result<String, LabError> {
    let root = layout.root(name);
    remove_tree(&root)?;
    cmd::run(
        "cp",
        &[
            "-a",
            "--reflink=auto",
            &base.display().to_string(),
            &root.display().to_string(),
        ],
    )?;
    let _ = std::fs::remove_file(root.join(".cplab-complete"));

    let key = root.join("etc/ssh/ssh_host_ed25519_key");
    let key_s = key.display().to_string();
    cmd::run(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            &format!("root@{name}"),
            "-f",
            &key_s,
        ],
    )?;
    let pub_path = root.join("etc/ssh/ssh_host_ed25519_key.pub");
    let pub_line = std::fs::read_to_string(&pub_path).map_err(|e| io(&pub_path, e))?;
    let host_key: Vec<&str> = pub_line.split_whitespace().take(2).collect();

    let ssh_dir = root.join("root/.ssh");
    std::fs::create_dir_all(&ssh_dir).map_err(|e| io(&ssh_dir, e))?;
    set_mode(&ssh_dir, 0o700)?;
    let auth = ssh_dir.join("authorized_keys");
    cmd::write(&auth, lab_pub)?;
    set_mode(&auth, 0o600)?;

    cmd::write(&root.join("etc/hostname"), &format!("{name}\n"))?;
    let hosts = format!(
        "127.0.0.1\tlocalhost\n127.0.1.1\t{name}\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    );
    cmd::write(&root.join("etc/hosts"), &hosts)?;
    let id: u128 = rand::thread_rng().r#gen();
    cmd::write(&root.join("etc/machine-id"), &format!("{id:032x}\n"))?;
    Ok(host_key.join(" "))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io(path, e))
}

/// Starts systemd-nspawn for the server in its own session (it outlives
/// this process) and its own cgroups. Returns its pid and start time.
pub fn spawn(layout: &Layout, st: &ServerState) -> Result<(u32, u64), LabError> {
    let root = layout.root(&st.name);
    let log_path = layout.log(&st.name);
    let log = std::fs::File::create(&log_path).map_err(|e| io(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io(&log_path, e))?;
    let mut args: Vec<String> = vec![
        "--quiet".into(),
        format!("--directory={}", root.display()),
        format!("--machine={}", st.name),
        "--boot".into(),
        // No machined nor system bus on the host to register with.
        "--register=no".into(),
        "--keep-unit".into(),
        format!("--network-namespace-path=/run/netns/{}", st.netns),
        // Docker, swap files and FUSE inside the server.
        "--capability=all".into(),
        "--system-call-filter=@keyring bpf @swap".into(),
        "--resolv-conf=copy-host".into(),
        "--link-journal=no".into(),
        "--console=read-only".into(),
    ];
    for dev in ["/dev/fuse", "/dev/net/tun"] {
        if Path::new(dev).exists() {
            args.push(format!("--bind={dev}"));
        }
    }
    let files = cgroup::procs_files(&st.cgroups.iter().map(PathBuf::from).collect::<Vec<_>>());
    let mut command = Command::new("systemd-nspawn");
    command
        .args(&args)
        .env("SYSTEMD_NSPAWN_API_VFS_WRITABLE", "yes")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .current_dir("/");
    // SAFETY: only async-signal-safe calls (setsid, open, write, close) run in the child.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            cgroup::join_in_child(&files)
        });
    }
    let mut child = command.spawn().map_err(|e| LabError::Command {
        cmd: cmd::line(
            "systemd-nspawn",
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        status: "could not start".into(),
        stderr: e.to_string(),
    })?;
    let pid = child.id();
    let start = proc_start(pid).unwrap_or(0);
    // Reap it if it ends while this process lives (tests); a CLI run exits
    // first and the server goes on.
    std::thread::spawn(move || child.wait());
    Ok((pid, start))
}

/// The ssh options that reach lab servers with the lab key and pinned host keys.
pub fn ssh_options(layout: &Layout) -> Vec<String> {
    vec![
        "-i".into(),
        layout.key().display().to_string(),
        "-o".into(),
        "IdentitiesOnly=yes".into(),
        "-o".into(),
        "StrictHostKeyChecking=yes".into(),
        "-o".into(),
        format!("UserKnownHostsFile={}", layout.known_hosts().display()),
        "-o".into(),
        "GlobalKnownHostsFile=/dev/null".into(),
        "-o".into(),
        "LogLevel=ERROR".into(),
    ]
}

/// Waits until the server's sshd answers and systemd finished booting.
pub fn wait_ready(layout: &Layout, st: &ServerState, deadline: Instant) -> Result<(), LabError> {
    let mut args = ssh_options(layout);
    args.extend(["-o", "BatchMode=yes", "-o", "ConnectTimeout=5"].map(String::from));
    args.push(format!("root@{}", st.ip));
    args.push("systemctl is-system-running --wait".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    loop {
        if !st.alive() {
            return Err(boot_error(layout, st, "systemd-nspawn exited during boot"));
        }
        let out = cmd::output("ssh", &args)?;
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.code() != Some(255) {
            return match answer.as_str() {
                "running" | "degraded" => Ok(()),
                other => Err(boot_error(
                    layout,
                    st,
                    &format!("systemctl is-system-running answered {other:?}"),
                )),
            };
        }
        if Instant::now() > deadline {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
            return Err(boot_error(
                layout,
                st,
                &format!("sshd did not answer in time (last ssh error: {why})"),
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn boot_error(layout: &Layout, st: &ServerState, reason: &str) -> LabError {
    let log = std::fs::read_to_string(layout.log(&st.name)).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    LabError::Boot {
        name: st.name.clone(),
        reason: reason.to_string(),
        log_tail: tail,
    }
}

/// Stops a server and removes everything it made: processes, swap files
/// it turned on, mounts, its network, cgroups, root and records.
pub fn destroy(layout: &Layout, st: &ServerState) -> Result<(), LabError> {
    let root = layout.root(&st.name);
    kill(st);
    swapoff_under(&root)?;
    unmount_under(&root)?;
    net::teardown_server(&st.netns, &st.veth)?;
    cgroup::remove(&st.cgroups)?;
    remove_tree(&root)?;
    for path in [layout.state(&st.name), layout.log(&st.name)] {
        if let Err(e) = std::fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(io(&path, e));
        }
    }
    Ok(())
}

/// SIGKILL to every process of the server: the container's init dying takes
/// its whole PID namespace (Docker's containers too) with it.
fn kill(st: &ServerState) {
    if st.alive() {
        // SAFETY: kill(2) on the recorded, start-time-checked pid.
        unsafe { libc::kill(st.pid as libc::pid_t, libc::SIGKILL) };
    }
    cgroup::kill_all(&st.cgroups, Duration::from_secs(20));
    let start = Instant::now();
    while st.alive() && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Turns off swap files that live in the server's root: swap is kernel-wide
/// and would otherwise outlive the server (and keep its disk space).
fn swapoff_under(root: &Path) -> Result<(), LabError> {
    let text = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
    let root_s = root.display().to_string();
    for line in text.lines().skip(1) {
        let Some(file) = line.split_whitespace().next() else {
            continue;
        };
        let file = file.replace("\\040", " ");
        // The kernel shows the path as the server saw it, or as the host does.
        let candidates = [
            PathBuf::from(&file),
            root.join(file.trim_start_matches('/')),
        ];
        for c in candidates {
            if c.display().to_string().starts_with(&format!("{root_s}/")) && c.exists() {
                cmd::run("swapoff", &[&c.display().to_string()])?;
                break;
            }
        }
    }
    Ok(())
}
