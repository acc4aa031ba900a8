//! The base root file system every server copies: debootstrap plus a few
//! setup steps, cached under the state dir by a hash of that recipe.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::LabError;
use super::cmd::{self, io};
use super::mounts::remove_tree;
use super::state::Layout;
use crate::output::Printer;

const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
/// Packages every server needs (booting, SSH, sudo, networking, fetching).
/// No interpreter: condaplay needs none on its servers.
const INCLUDE: &str =
    "systemd,systemd-sysv,dbus,openssh-server,sudo,iproute2,ca-certificates,procps,curl,less";
/// The package lists in the base age; past this the mirror may have dropped
/// the versions they name, so the base is rebuilt.
const MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Written last: a base without it is a killed build.
const COMPLETE: &str = ".cplab-complete";

/// One setup step applied to the debootstrapped root.
#[derive(Debug)]
enum Step {
    /// Delete files in a directory whose names start with a prefix.
    RemovePrefix(&'static str, &'static str),
    /// Write a file (path inside the root, mode, content).
    Write(&'static str, u32, &'static str),
    /// Symlink `path` -> `target` (inside the root).
    Link(&'static str, &'static str),
    /// `systemctl mask`, done by hand: the host has no systemd to ask.
    Mask(&'static str),
}

const SSHD_CONF: &str = "\
# condaplay lab: the host key is made on the controller and pinned there.
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
PermitRootLogin prohibit-password
UseDNS no
# Many parallel sessions and connections from one controller.
MaxSessions 100
MaxStartups 200:30:400
";

const JOURNALD_CONF: &str = "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n";

const SYSTEM_CONF: &str = "[Manager]\nDefaultTimeoutStopSec=15s\n";

/// systemd-nspawn mounts the cgroup v1 controllers read-only; Docker must
/// create cgroups, so remount them writable before it starts. A script
/// file, because systemd would expand `$` in an ExecStart line.
const CGROUP_SCRIPT: &str = r#"#!/bin/sh
for dir in /sys/fs/cgroup/*; do
    name=${dir##*/}
    if grep -q " $dir cgroup ro," /proc/mounts; then
        umount "$dir" && mount -t cgroup -o "rw,nosuid,nodev,noexec,$name" cgroup "$dir"
    fi
done
exit 0
"#;

const CGROUP_UNIT: &str = "\
[Unit]
Description=condaplay lab: writable cgroup controllers for Docker
Before=docker.service containerd.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/cplab-cgroup-rw

[Install]
WantedBy=multi-user.target
";

const STEPS: &[Step] = &[
    // Host keys come from the controller, one per server.
    Step::RemovePrefix("/etc/ssh", "ssh_host_"),
    Step::Write("/etc/ssh/sshd_config.d/cplab.conf", 0o644, SSHD_CONF),
    Step::Write(
        "/etc/systemd/journald.conf.d/cplab.conf",
        0o644,
        JOURNALD_CONF,
    ),
    Step::Write("/etc/systemd/system.conf.d/cplab.conf", 0o644, SYSTEM_CONF),
    Step::Write("/usr/local/sbin/cplab-cgroup-rw", 0o755, CGROUP_SCRIPT),
    Step::Write(
        "/etc/systemd/system/cplab-cgroup-rw.service",
        0o644,
        CGROUP_UNIT,
    ),
    Step::Link(
        "/etc/systemd/system/multi-user.target.wants/cplab-cgroup-rw.service",
        "/etc/systemd/system/cplab-cgroup-rw.service",
    ),
    Step::Write("/etc/fstab", 0o644, ""),
    // Units an idle test server does not need: timers that wake it, consoles nobody uses.
    Step::Mask("apt-daily.timer"),
    Step::Mask("apt-daily-upgrade.timer"),
    Step::Mask("dpkg-db-backup.timer"),
    Step::Mask("e2scrub_all.timer"),
    Step::Mask("e2scrub_reap.service"),
    Step::Mask("fstrim.timer"),
    Step::Mask("man-db.timer"),
    Step::Mask("getty@.service"),
    Step::Mask("console-getty.service"),
    Step::Mask("systemd-resolved.service"),
    Step::Mask("systemd-timesyncd.service"),
    Step::Mask("systemd-networkd-wait-online.service"),
];

fn debootstrap_args() -> Vec<String> {
    vec![
        "--variant=minbase".into(),
        format!("--include={INCLUDE}"),
        SUITE.into(),
    ]
}

/// The recipe's hash: a new recipe means a new base.
pub fn recipe_hash() -> String {
    let recipe = format!("{:?} {MIRROR} {:?}", debootstrap_args(), STEPS);
    let digest = Sha256::digest(recipe.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The cached base for the current recipe, built first when missing or old.
/// Call with the lab lock held.
pub fn ensure(layout: &Layout, p: &Printer) -> Result<PathBuf, LabError> {
    let hash = recipe_hash();
    let base = layout.base(&hash);
    if is_fresh(&base) {
        return Ok(base);
    }
    let started = Instant::now();
    p.info(&format!(
        "lab: building the base root {} (debootstrap {SUITE}, about a minute)",
        base.display()
    ));
    let tmp = layout.dir.join(format!("base-{hash}.building"));
    remove_tree(&tmp)?;
    let target = tmp.display().to_string();
    let mut full: Vec<String> = debootstrap_args();
    full.push(target.clone());
    full.push(MIRROR.into());
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    let built = cmd::run("debootstrap", &refs).and_then(|_| apply_steps(&tmp));
    if let Err(e) = built {
        let _ = remove_tree(&tmp);
        return Err(e);
    }
    cmd::write(&tmp.join(COMPLETE), &format!("{hash}\n"))?;
    remove_tree(&base)?;
    std::fs::rename(&tmp, &base).map_err(|e| io(&base, e))?;
    remove_old_bases(layout, &base);
    p.info(&format!(
        "lab: base root built in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(base)
}

fn is_fresh(base: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(base.join(COMPLETE)) else {
        return false;
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok());
    age.is_some_and(|a| a < MAX_AGE)
}

/// Bases of earlier recipes: servers are full copies, so nothing uses them.
fn remove_old_bases(layout: &Layout, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(&layout.dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("base-") && path != keep {
            let _ = remove_tree(&path);
        }
    }
}

fn inside(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

fn apply_steps(root: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    for step in STEPS {
        match step {
            Step::RemovePrefix(dir, prefix) => {
                let dir = inside(root, dir);
                for e in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))?.flatten() {
                    if e.file_name().to_string_lossy().starts_with(prefix) {
                        std::fs::remove_file(e.path()).map_err(|err| io(&e.path(), err))?;
                    }
                }
            }
            Step::Write(path, mode, content) => {
                let path = inside(root, path);
                make_parent(&path)?;
                cmd::write(&path, content)?;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))
                    .map_err(|e| io(&path, e))?;
            }
            Step::Link(path, target) => link(&inside(root, path), target)?,
            Step::Mask(unit) => link(
                &inside(root, &format!("/etc/systemd/system/{unit}")),
                "/dev/null",
            )?,
        }
    }
    Ok(())
}

fn make_parent(path: &Path) -> Result<(), LabError> {
    match path.parent() {
        Some(parent) => std::fs::create_dir_all(parent).map_err(|e| io(parent, e)),
        None => Ok(()),
    }
}

fn link(path: &Path, target: &str) -> Result<(), LabError> {
    make_parent(path)?;
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink(target, path).map_err(|e| io(path, e))
}
