//! `debug`: prints a message or a variable; runs on the controller.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Spec};

pub struct Debug;

static SPEC: Spec = Spec::new(&[Arg::any("msg"), Arg::str("var"), Arg::int("verbosity")]);

impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        if let Some(var) = args.str("var")? {
            // Like Ansible, an undefined variable is reported, not an error.
            let value = ctx
                .templar
                .eval(&var, ctx.vars)
                .unwrap_or_else(|_| Value::String("VARIABLE IS NOT DEFINED!".into()));
            return Ok(Plan::Done(Outcome::ok().with(&var, value)));
        }
        let msg = args
            .raw("msg")
            .cloned()
            .unwrap_or_else(|| Value::String("Hello world!".into()));
        Ok(Plan::Done(Outcome::ok().with("msg", msg)))
    }
}
