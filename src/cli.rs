//! The command line: parses arguments, calls into the library, maps errors to
//! exit codes. The only place that uses `anyhow`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::output::Printer;

/// Exit codes, as ansible-playbook's.
pub mod exit {
    pub const OK: i32 = 0;
    /// A general error (bad input, I/O, vault).
    pub const ERROR: i32 = 1;
    /// One or more hosts failed a task.
    pub const HOST_FAILED: i32 = 2;
    /// One or more hosts were unreachable (and none failed).
    pub const UNREACHABLE: i32 = 4;
    /// A playbook, inventory or template did not parse.
    pub const PARSE: i32 = 4;
    /// Bad command-line options.
    pub const USAGE: i32 = 5;
    /// Interrupted by the user (Ctrl-C).
    pub const INTERRUPTED: i32 = 99;
}

#[derive(Debug, Parser)]
#[command(name = "condaplay", version, about = "Agentless playbooks over plain SSH, with Ansible's syntax")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against an inventory.
    Run(RunArgs),
    /// Parse and validate a playbook and its inventory without connecting.
    Check(RunArgs),
    /// Show an inventory: --list, --graph or --host NAME.
    Inventory(crate::inventory::InventoryArgs),
    /// Encrypted secrets (age): init, encrypt, decrypt, view, create, edit, rekey, recipients.
    Vault(crate::vault::VaultArgs),
    /// Local Debian servers in systemd-nspawn containers, for rehearsals and tests.
    Lab(crate::lab::LabArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The playbook file.
    pub playbook: PathBuf,
    /// Inventory file or directory (repeatable); a comma-separated host list also works.
    #[arg(short = 'i', long = "inventory")]
    pub inventory: Vec<String>,
    /// Limit to hosts matching this pattern; `@FILE` reads a retry file.
    #[arg(short = 'l', long)]
    pub limit: Option<String>,
    /// Only run tasks tagged with these tags (comma-separated, repeatable).
    #[arg(short = 't', long = "tags")]
    pub tags: Vec<String>,
    /// Skip tasks tagged with these tags.
    #[arg(long = "skip-tags")]
    pub skip_tags: Vec<String>,
    /// Extra variables: `k=v ...`, JSON/YAML text or `@file.yml` (highest precedence).
    #[arg(short = 'e', long = "extra-vars")]
    pub extra_vars: Vec<String>,
    /// How many hosts to work on at once.
    #[arg(short = 'f', long, default_value_t = 50)]
    pub forks: usize,
    /// Report what would change, change nothing.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show unified diffs of what changes.
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// Start at the first task with this name.
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,
    /// More output (-v .. -vvvv).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// `text` (default) or `json`: one JSON document on stdout.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// age identity file used to decrypt vault files.
    #[arg(long, env = "CONDAPLAY_IDENTITY")]
    pub identity: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Entry point of the binary: returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let json = matches!(&cli.command, Command::Run(a) if a.output == OutputFormat::Json);
    let printer = Printer::new(json);
    match run(cli, &printer) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&format!("{e:#}"));
            exit_code_of(&e)
        }
    }
}

fn exit_code_of(e: &anyhow::Error) -> i32 {
    if let Some(run) = e.downcast_ref::<crate::exec::RunError>() {
        run.exit_code()
    } else if e.downcast_ref::<crate::inventory::InventoryError>().is_some() {
        exit::PARSE
    } else {
        exit::ERROR
    }
}

fn run(cli: Cli, printer: &Printer) -> anyhow::Result<i32> {
    Ok(match cli.command {
        Command::Run(args) => crate::exec::run_command(args, printer, false)?,
        Command::Check(args) => crate::exec::run_command(args, printer, true)?,
        Command::Inventory(args) => crate::inventory::run(args, printer)?,
        Command::Vault(args) => crate::vault::run(args, printer)?,
        Command::Lab(args) => crate::lab::run(args, printer)?,
    })
}
