//! `raw`: a command line run as it is, with no module logic around it: no
//! guards, no check-mode emulation (skipped in check mode, as in Ansible),
//! always reported changed.

use super::command::finish_run;
use super::{Arg, Args, FreeForm, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct RawCmd;

static SPEC: Spec = Spec::new(&[Arg::str("executable")]).free_form(FreeForm::Command);

impl Module for RawCmd {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let cmd = args.str("_raw_params")?.unwrap_or_default();
        if cmd.trim().is_empty() {
            return Err(ModuleError::Other {
                module: "raw",
                msg: "no command given".into(),
            });
        }
        let shell = args.str_or("executable", "/bin/sh")?;
        Ok(Plan::Remote(format!(
            "cp_check && cp_skip 'raw does not support check mode'\n{} -c {} </dev/null >\"$CP_TMP/out\" 2>\"$CP_TMP/err\"\ncp_rc=$?\ncp_ret rc $cp_rc\ncp_recf ret.stdout \"$CP_TMP/out\"\ncp_recf ret.stderr \"$CP_TMP/err\"\ncp_changed\n[ $cp_rc = 0 ] || cp_fail \"non-zero return code\"\n",
            sh::quote(&shell),
            sh::quote(&cmd)
        )))
    }
    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        finish_run(raw)
    }
}
