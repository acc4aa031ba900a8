//! `fail`: fails the host with a message.

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Spec};

pub struct Fail;

static SPEC: Spec = Spec::new(&[Arg::str("msg")]);

impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let msg = args.str_or("msg", "Failed as requested from task")?;
        Ok(Plan::Done(Outcome::fail(msg)))
    }
}
