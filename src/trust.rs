//! `condaplay trust HOST...`: pins host keys after showing them, instead of
//! trusting whatever answers (as `ssh-keyscan >> known_hosts` would).

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::Stdio;

use crate::connection::Target;
use crate::inventory::{Inventory, LoadOptions};
use crate::output::Printer;

#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    /// Hosts (or patterns) from the inventory whose keys to pin.
    #[arg(required = true)]
    pub hosts: Vec<String>,
    #[arg(short = 'i', long = "inventory", required = true)]
    pub inventory: Vec<String>,
    /// Pin without asking (for scripts that checked the fingerprints another way).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error(transparent)]
    Inventory(#[from] crate::inventory::InventoryError),
    #[error("{host}: cannot read its host keys: {msg}")]
    Scan { host: String, msg: String },
    #[error("{0}: cannot update known_hosts: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("no host matched {0:?}")]
    NoMatch(String),
}

/// One key a host offered.
#[derive(Debug, Clone)]
pub struct HostKey {
    /// The known_hosts line.
    pub line: String,
    /// `256 SHA256:... (ED25519)`.
    pub fingerprint: String,
}

/// Reads the keys a host offers (ssh-keyscan) with their fingerprints.
pub async fn scan(target: &Target) -> Result<Vec<HostKey>, String> {
    let port = target.port.unwrap_or(22).to_string();
    let out = tokio::process::Command::new("ssh-keyscan")
        .args([
            "-T",
            "5",
            "-t",
            "ed25519,ecdsa,rsa",
            "-p",
            &port,
            &target.address,
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("ssh-keyscan: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut keys = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut fp = tokio::process::Command::new("ssh-keygen")
            .args(["-l", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("ssh-keygen: {e}"))?;
        if let Some(mut stdin) = fp.stdin.take() {
            use tokio::io::AsyncWriteExt;
            let _ = stdin.write_all(format!("{line}\n").as_bytes()).await;
        }
        let fo = fp.wait_with_output().await.map_err(|e| e.to_string())?;
        let fingerprint = String::from_utf8_lossy(&fo.stdout)
            .split_whitespace()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, w)| w)
            .collect::<Vec<_>>()
            .join(" ");
        // ssh-keyscan names the host by address; pin it the way ssh looks it up.
        let key = line.split_once(' ').map_or(line, |(_, k)| k);
        keys.push(HostKey {
            line: format!("{} {key}", target.known_hosts_name()),
            fingerprint,
        });
    }
    if keys.is_empty() {
        return Err(format!("no key received from {}:{port}", target.address));
    }
    Ok(keys)
}

pub fn run(args: TrustArgs, printer: &Printer) -> Result<i32, TrustError> {
    let inv = Inventory::load(&LoadOptions {
        sources: &args.inventory,
        playbook_dir: None,
        age_loader: None,
    })?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TrustError::Scan {
            host: "-".into(),
            msg: e.to_string(),
        })?;
    for pattern in &args.hosts {
        let (hosts, _) = inv.select(pattern)?;
        if hosts.is_empty() {
            return Err(TrustError::NoMatch(pattern.clone()));
        }
        for host in hosts {
            let target = Target::from_vars(&host, &inv.host_vars(&host), false);
            let keys = rt.block_on(scan(&target)).map_err(|msg| TrustError::Scan {
                host: host.clone(),
                msg,
            })?;
            printer.line(&format!("{host} ({}) offers:", target.known_hosts_name()));
            for k in &keys {
                printer.line(&format!("  {}", k.fingerprint));
            }
            let file = target.known_hosts_file();
            if !args.yes
                && !confirm(&format!(
                    "Pin these keys for {host} in {}? [y/N] ",
                    file.display()
                ))
            {
                printer.line(&format!("{host}: not pinned"));
                continue;
            }
            pin(&file, &target, &keys).map_err(|e| TrustError::Write(file.clone(), e))?;
            printer.line(&format!("{host}: pinned in {}", file.display()));
        }
    }
    Ok(0)
}

fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// Replaces the host's lines in known_hosts with the new keys.
fn pin(file: &PathBuf, target: &Target, keys: &[HostKey]) -> std::io::Result<()> {
    let name = target.known_hosts_name();
    let old = std::fs::read_to_string(file).unwrap_or_default();
    let mut text: String = old
        .lines()
        .filter(|l| l.split_whitespace().next() != Some(name.as_str()))
        .map(|l| format!("{l}\n"))
        .collect();
    for k in keys {
        text.push_str(&k.line);
        text.push('\n');
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = file.with_extension("condaplay-tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, file)
}
