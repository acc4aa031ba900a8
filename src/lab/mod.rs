//! `condaplay lab`: Debian 12 servers booted with systemd in systemd-nspawn
//! containers, each with its own address on a private bridge, reached over
//! real SSH with pinned host keys. For rehearsals, tests and benchmarks.

mod base;
mod cgroup;
mod cmd;
pub mod demo;
mod host;
pub mod images;
mod mounts;
mod net;
mod ops;
mod server;
mod state;

use std::os::unix::process::CommandExt;

pub use ops::{ServerInfo, down, inventory_text, inventory_text_grouped, running, up};
pub use state::{DEFAULT_DIR, Layout};

use crate::output::Printer;

/// `condaplay lab ...`
#[derive(Debug, clap::Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Boot servers (a running one is left as it is) and wait until SSH answers.
    Up {
        /// Server names (hostname labels: letters, digits, '-').
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Stop servers and remove all they made (every server when none is named).
    Down { names: Vec<String> },
    /// Print an Ansible INI inventory of the running servers.
    Inventory {
        /// Put the servers under this group.
        #[arg(long)]
        group: Option<String>,
    },
    /// Log into a server as root (or run COMMAND there).
    Ssh {
        name: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// A table of the lab's servers: name, ip, state, pid, memory.
    Status,
    /// Container images for the servers' Docker (no registry is reachable).
    Images(images::ImagesArgs),
    /// The book's horizontal setup on servers main, client1, client2, lb.
    Demo(demo::DemoArgs),
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    Images(#[from] images::ImagesError),
    #[error(transparent)]
    Demo(Box<demo::DemoError>),
    #[error("{0}")]
    Unsupported(String),
    #[error("command failed ({status}): {cmd}\n{stderr}")]
    Command {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: bad lab state: {reason}")]
    State { path: String, reason: String },
    #[error(
        "bad server name {0:?}: expected letters, digits and '-' (a hostname label, at most 48 characters)"
    )]
    BadName(String),
    #[error("the lab is full: at most {max} servers")]
    Full { max: usize },
    #[error(
        "server {name} did not boot: {reason}\n--- last lines of its console ---\n{log_tail}\n(`condaplay lab down {name}` removes it)"
    )]
    Boot {
        name: String,
        reason: String,
        log_tail: String,
    },
    #[error("server {0} is not running (see `condaplay lab status`)")]
    NotRunning(String),
}

pub fn run(args: LabArgs, p: &Printer) -> Result<i32, LabError> {
    match args.command {
        LabCommand::Up { names } => {
            for s in up(&names, p)? {
                p.line(&format!("{} {}", s.name, s.ip));
            }
        }
        LabCommand::Down { names } => down(&names, p)?,
        LabCommand::Inventory { group } => p.data(&inventory_text_grouped(group.as_deref())?),
        LabCommand::Ssh { name, command } => {
            let args = ops::ssh_command(&name, &command)?;
            let err = std::process::Command::new("ssh").args(&args).exec();
            return Err(LabError::Command {
                cmd: cmd::line("ssh", &[]),
                status: "could not start".into(),
                stderr: err.to_string(),
            });
        }
        LabCommand::Status => {
            let mut rows = vec![["NAME", "IP", "STATE", "PID", "MEMORY"].map(String::from)];
            rows.extend(ops::status_rows()?);
            let widths: Vec<usize> = (0..5)
                .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
                .collect();
            let text: String = rows
                .iter()
                .map(|r| {
                    let cells: Vec<String> = r
                        .iter()
                        .zip(&widths)
                        .map(|(c, w)| format!("{c:<w$}"))
                        .collect();
                    format!("{}\n", cells.join("  ").trim_end())
                })
                .collect();
            p.data(&text);
        }
        LabCommand::Images(a) => return Ok(images::run(a, p)?),
        LabCommand::Demo(a) => {
            let done = demo::run(&a, p).map_err(|e| LabError::Demo(Box::new(e)))?;
            p.line(&format!("load balancer: {}", done.url));
            return Ok(done.exit);
        }
    }
    Ok(0)
}
