//! `set_fact`: host variables that later tasks and plays see.

use super::{Args, Module, ModuleError, Outcome, Plan, PlanCtx, Spec};

pub struct SetFact;

static SPEC: Spec = Spec::new(&[]).open();

impl Module for SetFact {
    fn name(&self) -> &'static str {
        "set_fact"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let mut facts = args.map.clone();
        facts.remove("cacheable");
        Ok(Plan::Done(Outcome {
            facts: Some(facts),
            ..Outcome::ok()
        }))
    }
}
