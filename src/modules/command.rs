//! `command`: runs a program without a shell (words are quoted, nothing expands).

use super::{Arg, Args, FreeForm, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Command;

pub(super) const ARGS: &[Arg] = &[
    Arg::str("cmd"),
    Arg::list("argv"),
    Arg::str("chdir"),
    Arg::str("creates"),
    Arg::str("removes"),
    Arg::str("stdin"),
    Arg::bool("stdin_add_newline"),
    Arg::bool("strip_empty_ends"),
    Arg::str("executable"),
];
static SPEC: Spec = Spec::new(ARGS).free_form(FreeForm::Command);

impl Module for Command {
    fn name(&self) -> &'static str {
        "command"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let words: Vec<String> = if args.has("argv") {
            args.list("argv")?
        } else {
            let line = match args.str("cmd")? {
                Some(c) => c,
                None => args.str("_raw_params")?.unwrap_or_default(),
            };
            sh::split(&line).ok_or_else(|| ModuleError::BadArg {
                module: "command",
                arg: "cmd".into(),
                msg: format!("cannot split {line:?} into words (unbalanced quotes?)"),
            })?
        };
        if words.is_empty() {
            return Err(ModuleError::Other {
                module: "command",
                msg: "no command given".into(),
            });
        }
        let line: Vec<String> = words.iter().map(|w| sh::quote(w)).collect();
        Ok(Plan::Remote(run_body(&line.join(" "), args)?))
    }
    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        finish_run(raw)
    }
}

/// The shell text shared by command and shell: guards, check mode, running the
/// command with its output captured, and the records Ansible users register.
pub(super) fn run_body(line: &str, args: &Args) -> Result<String, ModuleError> {
    let mut b = String::new();
    if let Some(dir) = args.str("chdir")? {
        b.push_str(&format!(
            "cd {0} || cp_fail \"Unable to change directory before execution: {1}\"\n",
            sh::quote(&dir),
            dir.replace('"', "")
        ));
    }
    let guarded = args.has("creates") || args.has("removes");
    if let Some(c) = args.str("creates")? {
        b.push_str(&format!(
            "for cp_p in {}; do [ -e \"$cp_p\" ] && {{ cp_ret rc 0; cp_ret stdout \"skipped, since $cp_p exists\"; cp_msg \"Did not run command since '$cp_p' exists\"; exit 0; }}; done\n",
            c.split_whitespace().map(sh::quote).collect::<Vec<_>>().join(" ")
        ));
    }
    if let Some(r) = args.str("removes")? {
        b.push_str(&format!(
            "cp_any=0; for cp_p in {}; do [ -e \"$cp_p\" ] && cp_any=1; done\n[ $cp_any = 1 ] || {{ cp_ret rc 0; cp_ret stdout \"skipped, since {} does not exist\"; cp_msg \"Did not run command since '{}' does not exist\"; exit 0; }}\n",
            r.split_whitespace().map(sh::quote).collect::<Vec<_>>().join(" "),
            r.replace('"', ""),
            r.replace('"', "")
        ));
    }
    if guarded {
        b.push_str("cp_check && { cp_changed; cp_msg 'Command would have run if not in check mode'; exit 0; }\n");
    } else {
        b.push_str("cp_check && cp_skip 'Command would have run if not in check mode'\n");
    }
    let stdin = match args.str("stdin")? {
        Some(s) => {
            let mut data = s.into_bytes();
            if args.bool("stdin_add_newline", true)? {
                data.push(b'\n');
            }
            b.push_str(&sh::write_file("\"$CP_TMP/in\"", &data));
            "\"$CP_TMP/in\""
        }
        None => "/dev/null",
    };
    b.push_str(&format!(
        "{line} <{stdin} >\"$CP_TMP/out\" 2>\"$CP_TMP/err\"\ncp_rc=$?\ncp_ret rc $cp_rc\ncp_recf ret.stdout \"$CP_TMP/out\"\ncp_recf ret.stderr \"$CP_TMP/err\"\ncp_changed\n[ $cp_rc = 0 ] || cp_fail 'non-zero return code'\n"
    ));
    Ok(b)
}

/// Types and trims what run_body reported: rc is a number, stdout/stderr lose
/// their final newline and gain `_lines`, as in Ansible.
pub(super) fn finish_run(raw: Raw) -> Outcome {
    let mut o = raw.into_outcome();
    if let Some(rc) = o
        .ret
        .get("rc")
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse::<i64>().ok())
    {
        o.ret.insert("rc".into(), rc.into());
    }
    for key in ["stdout", "stderr"] {
        if let Some(text) = o
            .ret
            .get(key)
            .and_then(|v| v.as_str())
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        {
            let lines: Vec<serde_json::Value> =
                text.lines().map(|l| l.to_string().into()).collect();
            o.ret.insert(key.into(), text.into());
            o.ret.insert(format!("{key}_lines"), lines.into());
        }
    }
    o
}
