//! One module on one host, outside any playbook: what `condaplay` tests use to
//! prove a module against a real server, and the base of the task runner.

use serde_json::Value;

use crate::connection::{Become, ConnError, Connection};
use crate::modules::{self, Args, ModuleError, Outcome, Plan, PlanCtx, protocol};
use crate::template::{Context, Templar, Vars};

#[derive(Debug, thiserror::Error)]
pub enum AdhocError {
    #[error("unknown module {0}")]
    UnknownModule(String),
    #[error("{0}")]
    Args(String),
    #[error(transparent)]
    Module(#[from] ModuleError),
    #[error(transparent)]
    Conn(#[from] ConnError),
}

/// Settings of one module run.
#[derive(Default)]
pub struct AdhocOptions<'a> {
    pub check: bool,
    pub diff: bool,
    pub become_: Option<&'a Become>,
}

/// Runs `module` with `args` (a mapping or a `k=v` string) on the connection.
pub async fn run_module(
    conn: &Connection,
    module: &str,
    args: &Value,
    opts: &AdhocOptions<'_>,
) -> Result<Outcome, AdhocError> {
    let m = modules::lookup(module).ok_or_else(|| AdhocError::UnknownModule(module.to_string()))?;
    let map = modules::normalize(m, args).map_err(AdhocError::Args)?;
    let args = Args::new(m.name(), map);
    let templar = Templar::new();
    let vars = Context::new(&Vars::new());
    let ctx = PlanCtx {
        host: "adhoc",
        check: opts.check,
        diff: opts.diff,
        templar: &templar,
        vars: &vars,
        search: &[],
    };
    match m.plan(&args, &ctx)? {
        Plan::Done(o) => Ok(o),
        Plan::Remote(body) => {
            let program = protocol::program(
                &[body],
                &protocol::ProgramOptions {
                    check: opts.check,
                    diff: opts.diff,
                    env: &[],
                    items_apart: false,
                },
            );
            let out = conn.exec(&program, opts.become_).await?;
            let mut raws = protocol::parse_unit(&out.stdout, &out.stderr, out.finished());
            match raws.pop() {
                Some(raw) if raw.status.is_some() => Ok(m.finish(&args, raw)),
                _ => Err(AdhocError::Conn(ConnError::Lost(
                    String::from_utf8_lossy(&out.stderr).trim().to_string(),
                ))),
            }
        }
    }
}
