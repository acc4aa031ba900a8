//! `copy`: a file from `content` or from `src` on the controller, written atomically.

use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct Copy;

static SPEC: Spec = Spec::new(&[
    Arg::str("dest").required().aliases(&["path"]),
    Arg::str("src"),
    Arg::any("content"),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::bool("force"),
    Arg::bool("backup"),
    Arg::str("validate"),
]);

impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let dest = args.req_str("dest")?;
        let data: Vec<u8> = match (args.raw("content"), args.str("src")?) {
            (Some(c), None) => match c {
                serde_json::Value::String(s) => s.clone().into_bytes(),
                // Ansible writes structured content as JSON.
                other => serde_json::to_string(other)
                    .unwrap_or_default()
                    .into_bytes(),
            },
            (None, Some(src)) => {
                let path = ctx.find_file("copy", "files", &src)?;
                if path.is_dir() {
                    return Err(ModuleError::Other {
                        module: "copy",
                        msg: format!(
                            "src={src} is a directory; copying directories is not supported"
                        ),
                    });
                }
                std::fs::read(&path).map_err(|e| ModuleError::Other {
                    module: "copy",
                    msg: format!("cannot read {}: {e}", path.display()),
                })?
            }
            (Some(_), Some(_)) => {
                return Err(ModuleError::Other {
                    module: "copy",
                    msg: "src and content are mutually exclusive".into(),
                });
            }
            (None, None) => {
                return Err(ModuleError::Missing {
                    module: "copy",
                    arg: "src or content".into(),
                });
            }
        };
        Ok(Plan::Remote(put_body(&dest, &data, args, "copy")?))
    }
}

/// Shell text that installs `data` at `dest` with the attributes in `args`
/// (shared by copy and template).
pub(super) fn put_body(
    dest: &str,
    data: &[u8],
    args: &Args,
    _module: &'static str,
) -> Result<String, ModuleError> {
    let mut d = sh::quote(dest);
    let mut b = String::new();
    // Ansible copies into a directory when dest ends with a slash or is one.
    if dest.ends_with('/') {
        return Err(ModuleError::BadArg {
            module: "copy",
            arg: "dest".into(),
            msg: "must name a file, not a directory".into(),
        });
    }
    if !args.bool("force", true)? {
        b.push_str(&format!("[ -e {d} ] && {{ cp_ret dest {d}; exit 0; }}\n"));
    }
    let mode = sh::quote(&args.mode("mode")?.unwrap_or_default());
    let owner = sh::quote(&args.str("owner")?.unwrap_or_default());
    let group = sh::quote(&args.str("group")?.unwrap_or_default());
    // An unchanged destination only gets its attributes fixed: no validate
    // (Ansible validates only a file about to change), no scratch file left to
    // remove. Text is compared through a pipe before anything is written.
    let unchanged =
        format!("then cp_attrs {d} {mode} {owner} {group}; cp_ret dest {d}; exit 0; fi\n");
    match sh::text_word(data) {
        Some(word) => b.push_str(&format!(
            "cp_c={word}\n\
             if [ -f {d} ] && printf '%s' \"$cp_c\" | cmp -s - {d}; {unchanged}\
             printf '%s' \"$cp_c\" > \"$CP_TMP/new\" || cp_fail 'cannot write a temporary file'\n"
        )),
        None => {
            b.push_str(&sh::write_file("\"$CP_TMP/new\"", data));
            b.push_str(&format!(
                "if [ -f {d} ] && cmp -s \"$CP_TMP/new\" {d}; {unchanged}"
            ));
        }
    }
    if let Some(v) = args.str("validate")? {
        // `%s` is the candidate file, as in Ansible.
        let cmd = v.replace("%s", "\"$CP_TMP/new\"");
        b.push_str(&format!("( {cmd} ) >\"$CP_TMP/vout\" 2>&1 || {{ cp_recf ret.validate_output \"$CP_TMP/vout\"; cp_fail 'failed to validate'; }}\n"));
    }
    let backup = u8::from(args.bool("backup", false)?);
    b.push_str(&format!(
        "cp_put \"$CP_TMP/new\" {d} {mode} {owner} {group} {backup}\ncp_ret dest {d}\n"
    ));
    d.clear();
    Ok(b)
}
