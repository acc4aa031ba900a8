//! `assert`: conditions that must hold, evaluated on the controller.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Spec};

pub struct Assert;

static SPEC: Spec = Spec::new(&[
    Arg::any("that").required(),
    Arg::any("fail_msg").aliases(&["msg"]),
    Arg::any("success_msg"),
    Arg::bool("quiet"),
]);

impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let conditions: Vec<String> = match args.raw("that") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Bool(b)) => vec![b.to_string()],
            _ => {
                return Err(ModuleError::Missing {
                    module: "assert",
                    arg: "that".into(),
                });
            }
        };
        for cond in &conditions {
            let ok = ctx
                .templar
                .eval_bool(cond, ctx.vars)
                .map_err(|e| ModuleError::Other {
                    module: "assert",
                    msg: format!("cannot evaluate {cond:?}: {e}"),
                })?;
            if !ok {
                let msg = args
                    .str("fail_msg")?
                    .unwrap_or_else(|| "Assertion failed".into());
                return Ok(Plan::Done(
                    Outcome::fail(msg)
                        .with("assertion", cond.clone())
                        .with("evaluated_to", false),
                ));
            }
        }
        let msg = args
            .str("success_msg")?
            .unwrap_or_else(|| "All assertions passed".into());
        Ok(Plan::Done(Outcome {
            msg: Some(msg),
            ..Outcome::ok()
        }))
    }
}
