//! Runs a playbook: loads and checks everything first, then plays in order,
//! then the recap and the exit code.

pub mod adhoc;
mod facts;
mod progress;
mod report;
mod runner;
mod stats;
mod vars;

pub use stats::Stats;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cli::{RunArgs, exit};
use crate::inventory::{Inventory, InventoryError, LoadOptions};
use crate::output::Printer;
use crate::playbook::{Playbook, PlaybookError};
use crate::yaml;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Playbook(#[from] PlaybookError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Yaml(#[from] yaml::YamlError),
    #[error("{0}")]
    Vars(String),
    #[error("cannot start: {0}")]
    Io(#[from] std::io::Error),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Playbook(_) | RunError::Inventory(_) | RunError::Yaml(_) => exit::PARSE,
            RunError::Vars(_) => exit::PARSE,
            RunError::Io(_) => exit::ERROR,
        }
    }
}

/// `-e` values: `k=v k2=v2`, JSON/YAML text, or `@file`.
pub fn parse_extra_vars(items: &[String]) -> Result<Map<String, Value>, RunError> {
    let mut out = Map::new();
    for item in items {
        let item = item.trim();
        if let Some(file) = item.strip_prefix('@') {
            match yaml::parse_file(Path::new(file))?.to_json() {
                Value::Object(m) => out.extend(m),
                Value::Null => {}
                _ => {
                    return Err(RunError::Vars(format!(
                        "{file}: extra vars file must hold a mapping"
                    )));
                }
            }
        } else if item.starts_with('{') || item.starts_with("---") {
            match yaml::parse_str(item, Path::new("--extra-vars"))?.to_json() {
                Value::Object(m) => out.extend(m),
                _ => {
                    return Err(RunError::Vars(format!(
                        "--extra-vars {item:?}: expected a mapping"
                    )));
                }
            }
        } else {
            let words = shlex::split(item).ok_or_else(|| {
                RunError::Vars(format!("--extra-vars {item:?}: unbalanced quotes"))
            })?;
            for w in words {
                let (k, v) = w.split_once('=').ok_or_else(|| {
                    RunError::Vars(format!("--extra-vars: expected key=value, got {w:?}"))
                })?;
                out.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    Ok(out)
}

/// The hosts of `--limit`: a pattern, or `@FILE` with one host per line.
fn limit_hosts(inv: &Inventory, limit: &str) -> Result<Vec<String>, RunError> {
    if let Some(file) = limit.strip_prefix('@') {
        let text = std::fs::read_to_string(file)
            .map_err(|e| RunError::Vars(format!("--limit @{file}: {e}")))?;
        return Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect());
    }
    Ok(inv.select(limit)?.0)
}

/// Decrypts vault files for a run: the identity is loaded once, on first use
/// (a passphrase-protected one asks once), and every secret is masked.
struct VaultVars<'p> {
    flag: Option<PathBuf>,
    ids: std::cell::OnceCell<crate::vault::Identities>,
    printer: &'p Printer,
}

impl VaultVars<'_> {
    fn load(&self, path: &Path) -> Result<Map<String, Value>, String> {
        if self.ids.get().is_none() {
            crate::vault::harden_process();
            let file =
                crate::vault::find_identity(self.flag.as_deref()).map_err(|e| e.to_string())?;
            let ids = crate::vault::Identities::load(&file).map_err(|e| e.to_string())?;
            let _ = self.ids.set(ids);
        }
        let ids = self.ids.get().expect("set above");
        let (vars, secrets) = crate::vault::load_vars_with(path, ids).map_err(|e| e.to_string())?;
        for s in &secrets {
            self.printer.add_secret(s);
        }
        Ok(vars)
    }
}

/// Loads every vars_files entry of a play, `.age` files through the vault.
fn load_vars_files(
    play: &crate::playbook::Play,
    vault: &VaultVars,
    extra: &Map<String, Value>,
) -> Result<Map<String, Value>, RunError> {
    let mut out = Map::new();
    let templar = crate::template::Templar::new();
    let mut base = play.vars.clone();
    base.extend(extra.clone());
    let ctx = crate::template::Context::new(&base);
    for (name, loc) in &play.vars_files {
        let name = match templar.render_str(name, &ctx) {
            Ok(Value::String(s)) => s,
            _ => {
                return Err(RunError::Vars(format!(
                    "{loc}: cannot render vars_files entry {name:?}"
                )));
            }
        };
        let path: PathBuf = play.dir.join(&name);
        let vars = if name.ends_with(".age") {
            vault
                .load(&path)
                .map_err(|e| RunError::Vars(format!("{loc}: {e}")))?
        } else {
            match yaml::parse_file(&path)
                .map_err(|e| RunError::Vars(format!("{loc}: vars_files: {e}")))?
                .to_json()
            {
                Value::Object(m) => m,
                Value::Null => Map::new(),
                _ => {
                    return Err(RunError::Vars(format!(
                        "{}: a vars file must hold a mapping",
                        path.display()
                    )));
                }
            }
        };
        out.extend(vars);
    }
    Ok(out)
}

pub fn run_command(args: RunArgs, printer: &Printer, check_only: bool) -> Result<i32, RunError> {
    let playbook = Playbook::load(&args.playbook)?;
    let extra = parse_extra_vars(&args.extra_vars)?;
    let vault = VaultVars {
        flag: args.identity.clone(),
        ids: std::cell::OnceCell::new(),
        printer,
    };
    let loader = |p: &Path| vault.load(p);
    let inventory = Inventory::load(&LoadOptions {
        sources: &args.inventory,
        playbook_dir: Some(&playbook.dir),
        age_loader: Some(&loader),
    })?;
    let mut files = Vec::new();
    for play in &playbook.plays {
        files.push(load_vars_files(play, &vault, &extra)?);
    }
    if check_only {
        printer.line(&format!(
            "{}: {} play(s), {} task(s), {} host(s) in the inventory: OK",
            args.playbook.display(),
            playbook.plays.len(),
            playbook.task_count(),
            inventory.hosts().len()
        ));
        return Ok(exit::OK);
    }
    let limit = args
        .limit
        .as_deref()
        .map(|l| limit_hosts(&inventory, l))
        .transpose()?;
    let split = |v: &[String]| -> Vec<String> {
        v.iter()
            .flat_map(|t| t.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    };
    let opts = runner::Options {
        check: args.check,
        diff: args.diff,
        verbose: args.verbose,
        forks: args.forks.max(1),
        tags: split(&args.tags),
        skip_tags: split(&args.skip_tags),
        start_at_task: args.start_at_task.clone(),
        extra_vars: extra,
        limit,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let report = report::Report::new(printer, args.verbose, args.diff);
    let mut runner = runner::Runner::new(&inventory, report, opts, playbook.dir.clone())?;
    let mut play_error = false;
    let interrupted = rt.block_on(async {
        let work = async {
            for (play, vars_files) in playbook.plays.iter().zip(files) {
                if !runner.run_play(play, vars_files).await? {
                    break;
                }
            }
            Ok::<(), String>(())
        };
        tokio::select! {
            r = work => r.map(|()| false),
            _ = tokio::signal::ctrl_c() => Ok(true),
        }
    });
    let interrupted = match interrupted {
        Ok(i) => i,
        Err(e) => {
            printer.error(&e);
            play_error = true;
            false
        }
    };
    if interrupted {
        printer
            .error("interrupted by the user; stopping (tasks already sent to hosts finish there)");
    }
    let stats = runner.stats();
    let failed = runner.failed_hosts();
    runner.report.recap(&stats);
    rt.block_on(runner.close());
    if !failed.is_empty() && !args.check {
        write_retry_file(&args.playbook, &failed, printer);
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if play_error {
        exit::ERROR
    } else if stats.iter().any(|(_, s)| s.failed > 0) {
        exit::HOST_FAILED
    } else if stats.iter().any(|(_, s)| s.unreachable > 0) {
        exit::UNREACHABLE
    } else {
        exit::OK
    })
}

/// Like Ansible's retry files: `PLAYBOOK.retry` beside the playbook, one
/// failed or unreachable host per line, for `--limit @PLAYBOOK.retry`.
fn write_retry_file(playbook: &Path, hosts: &[String], printer: &Printer) {
    let path = playbook.with_extension("retry");
    let mut text = hosts.join("\n");
    text.push('\n');
    match std::fs::write(&path, text) {
        Ok(()) => printer.info(&format!("\tto retry, use: --limit @{}", path.display())),
        Err(e) => printer.warn(&format!(
            "could not write retry file {}: {e}",
            path.display()
        )),
    }
}
