//! What the controller needs: Linux, root, and a few Debian packages
//! (installed with apt-get when missing).

use std::path::Path;
use std::process::{Command, Stdio};

use super::LabError;
use super::cmd::failed;
use crate::output::Printer;

/// Tools the lab runs, and the Debian package that ships each.
const TOOLS: &[(&str, &str)] = &[
    ("debootstrap", "debootstrap"),
    ("systemd-nspawn", "systemd-container"),
    ("iptables", "iptables"),
    ("ip", "iproute2"),
    ("ssh", "openssh-client"),
    ("ssh-keygen", "openssh-client"),
];

/// Linux and root, or an error naming what is missing.
pub fn check_platform() -> Result<(), LabError> {
    if !cfg!(target_os = "linux") {
        return Err(LabError::Unsupported(format!(
            "condaplay lab needs Linux (systemd-nspawn, network namespaces, iptables); this is {}",
            std::env::consts::OS
        )));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::Unsupported(
            "condaplay lab needs root: it makes network namespaces, a bridge, NAT rules and containers (run it with sudo)"
                .into(),
        ));
    }
    Ok(())
}

pub fn find_tool(name: &str) -> bool {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .any(|d| Path::new(d).join(name).is_file())
}

/// Installs the Debian packages of missing tools (apt-get update once, then install).
pub fn ensure_tools(p: &Printer) -> Result<(), LabError> {
    let mut packages: Vec<&str> = TOOLS
        .iter()
        .filter(|(t, _)| !find_tool(t))
        .map(|(_, pkg)| *pkg)
        .collect();
    packages.dedup();
    if packages.is_empty() {
        return Ok(());
    }
    if !find_tool("apt-get") {
        return Err(LabError::Unsupported(format!(
            "condaplay lab needs these Debian packages and there is no apt-get to install them: {}",
            packages.join(" ")
        )));
    }
    p.info(&format!(
        "lab: installing {} with apt-get",
        packages.join(" ")
    ));
    apt(&["update"])?;
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&packages);
    apt(&args)
}

fn apt(args: &[&str]) -> Result<(), LabError> {
    let out = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            cmd: "apt-get".into(),
            status: "could not start".into(),
            stderr: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(failed("apt-get", args, &out))
    }
}
