//! `shell`: runs a command line through `/bin/sh` (or `executable`).

use super::command::{ARGS, finish_run, run_body};
use super::{Args, FreeForm, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Shell;

static SPEC: Spec = Spec::new(ARGS).free_form(FreeForm::Command);

impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let script = match args.str("cmd")? {
            Some(c) => c,
            None => args.str("_raw_params")?.unwrap_or_default(),
        };
        if script.trim().is_empty() {
            return Err(ModuleError::Other {
                module: "shell",
                msg: "no command given".into(),
            });
        }
        let shell = args.str_or("executable", "/bin/sh")?;
        let line = format!("{} -c {}", sh::quote(&shell), sh::quote(&script));
        Ok(Plan::Remote(run_body(&line, args)?))
    }
    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        finish_run(raw)
    }
}
