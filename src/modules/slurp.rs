//! `slurp`: a file's content from the host, base64-encoded as Ansible returns it.

use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct Slurp;

static SPEC: Spec = Spec::new(&[Arg::str("src").required().aliases(&["path"])]);

impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let src = args.req_str("src")?;
        // base64 keeps NUL bytes and any encoding intact through the records.
        Ok(Plan::Remote(format!(
            "cp_s={}\n[ -d \"$cp_s\" ] && cp_fail \"source is a directory and must be a file: $cp_s\"\n[ -e \"$cp_s\" ] || cp_fail \"file not found: $cp_s\"\n[ -r \"$cp_s\" ] || cp_fail \"file is not readable: $cp_s\"\nbase64 -w0 < \"$cp_s\" > \"$CP_TMP/b64\" || cp_fail \"cannot read $cp_s\"\ncp_recf ret.content \"$CP_TMP/b64\"\ncp_ret encoding base64\ncp_ret source \"$cp_s\"\n",
            sh::quote(&src)
        )))
    }
}
