//! `condaplay lab demo`: the book's horizontal setup on four lab servers.
//!
//! Boots `main`, `client1`, `client2` and `lb`, writes their inventory to
//! `inventory/lab/` (ignored by git), makes a lab identity and lab secrets in
//! `vault/` when missing (ignored by git too), makes sure the servers' Docker
//! can pull the lab's images, runs `playbooks/horizontal.yml` through the
//! engine, and returns the load balancer's URL. A second run converges with
//! changed=0: every step leaves what exists alone.

use std::path::{Path, PathBuf};

use rand::Rng;

use super::{LabError, ServerInfo};
use crate::output::Printer;

/// The servers and the groups they go in.
const SERVERS: &[(&str, &str)] = &[
    ("main", "main"),
    ("client1", "clients"),
    ("client2", "clients"),
    ("lb", "loadbalancers"),
];

const PLAYBOOK: &str = "playbooks/horizontal.yml";
const INVENTORY: &str = "inventory/lab";
const IDENTITY: &str = "vault/lab-identity.txt";
const RECIPIENTS: &str = "vault/lab-recipients.txt";
const SECRETS: &str = "vault/lab-secrets.yml.age";

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// The condaplay repository (holds playbooks/, roles/, vault/).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// Swap file size on each server (kept small: the lab shares one kernel).
    #[arg(long, default_value = "256M")]
    pub swap_size: String,
    /// Put this before the lab servers' names (main is then PREFIXmain), so
    /// that a demo can run beside other lab servers.
    #[arg(long, default_value = "")]
    pub prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("{0}: not a condaplay repository (expected {PLAYBOOK} there; use --repo)")]
    NotRepo(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),
    #[error("{0}")]
    Images(String),
    #[error(transparent)]
    Run(#[from] crate::exec::RunError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What the demo made: the playbook's exit code and where to look.
pub struct DemoOutcome {
    pub exit: i32,
    pub url: String,
}

pub fn run(args: &DemoArgs, p: &Printer) -> Result<DemoOutcome, DemoError> {
    let repo = &args.repo;
    if !repo.join(PLAYBOOK).is_file() {
        return Err(DemoError::NotRepo(repo.display().to_string()));
    }
    let names: Vec<String> = SERVERS
        .iter()
        .map(|(n, _)| format!("{}{n}", args.prefix))
        .collect();
    let servers = super::up(&names, p)?;
    let mirror = ensure_images(p)?;
    let identity = ensure_secrets(repo, p)?;
    write_inventory(repo, &servers, &args.prefix, &mirror, &args.swap_size)?;
    let lb = servers
        .iter()
        .find(|s| s.name == format!("{}lb", args.prefix))
        .map(|s| s.ip.clone())
        .unwrap_or_default();
    let run = crate::cli::RunArgs {
        playbook: repo.join(PLAYBOOK),
        inventory: vec![repo.join(INVENTORY).display().to_string()],
        limit: None,
        tags: Vec::new(),
        skip_tags: Vec::new(),
        extra_vars: Vec::new(),
        forks: 50,
        check: false,
        diff: false,
        start_at_task: None,
        verbose: 0,
        output: crate::cli::OutputFormat::Text,
        identity: Some(identity),
    };
    let exit = crate::exec::run_command(run, p, false)?;
    Ok(DemoOutcome {
        exit,
        url: format!("http://{lb}/"),
    })
}

/// The registry mirror the servers' Docker pulls the lab's images from,
/// with the images built (once) and served.
fn ensure_images(p: &Printer) -> Result<String, DemoError> {
    super::images::ensure_served(p).map_err(|e| DemoError::Images(e.to_string()))
}

/// A lab identity (and its recipients file) and lab secrets, made once.
fn ensure_secrets(repo: &Path, p: &Printer) -> Result<PathBuf, DemoError> {
    let identity = repo.join(IDENTITY);
    let recipients = repo.join(RECIPIENTS);
    if !identity.exists() || !recipients.exists() {
        crate::vault::run(
            crate::vault::VaultArgs {
                command: crate::vault::VaultCommand::Init,
                identity: Some(identity.clone()),
                recipients: Some(recipients.clone()),
            },
            p,
        )?;
    }
    let secrets = repo.join(SECRETS);
    if !secrets.exists() {
        let rcpts = crate::vault::read_recipients(&recipients)?;
        // Random passwords, made in memory and written only encrypted.
        let plain = zeroize::Zeroizing::new(format!(
            "mysql_root_password: {}\nmysql_password: {}\nappconda_openssl_key: {}\n",
            password(),
            password(),
            password()
        ));
        let sealed = crate::vault::encrypt_bytes(plain.as_bytes(), &rcpts, &secrets)?;
        write_private(&secrets, &sealed)?;
        p.info(&format!("lab: made lab secrets in {}", secrets.display()));
    }
    Ok(identity)
}

fn password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    (0..24)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), DemoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// inventory/lab: hosts.ini and group_vars, rewritten only when they differ.
fn write_inventory(
    repo: &Path,
    servers: &[ServerInfo],
    prefix: &str,
    mirror: &str,
    swap_size: &str,
) -> Result<(), DemoError> {
    let dir = repo.join(INVENTORY);
    let gv = dir.join("group_vars").join("all");
    std::fs::create_dir_all(&gv).map_err(io(&gv))?;
    let mut hosts = String::from("# Written by `condaplay lab demo`.\n");
    for group in ["main", "clients", "loadbalancers"] {
        hosts.push_str(&format!("\n[{group}]\n"));
        for (name, g) in SERVERS {
            if *g != group {
                continue;
            }
            if let Some(s) = servers.iter().find(|s| s.name == format!("{prefix}{name}")) {
                hosts.push_str(&format!("{name} ansible_host={}\n", s.ip));
            }
        }
    }
    if let Some(s) = servers.first() {
        hosts.push_str(&format!(
            "\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes'\n",
            s.key_path.display(),
            s.known_hosts_path.display()
        ));
    }
    write_if_changed(&dir.join("hosts.ini"), &hosts)?;
    let vars = format!(
        "---\n# Written by `condaplay lab demo`.\ndocker_registry_mirrors: [\"{mirror}\"]\nswap_size: {swap_size}\n# Lab servers share one kernel, and so its list of active swaps.\nswap_file: \"/swapfile-{{{{ ansible_hostname }}}}\"\n"
    );
    write_if_changed(&gv.join("lab.yml"), &vars)?;
    let link = gv.join("secrets.yml.age");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(Path::new("../../../..").join(SECRETS), &link)
            .map_err(io(&link))?;
    }
    Ok(())
}

fn write_if_changed(path: &Path, text: &str) -> Result<(), DemoError> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(io(path))
}
