//! `file`: directories, empty files, links, removal, and attributes.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct File;

static SPEC: Spec = Spec::new(&[
    Arg::str("path").required().aliases(&["dest", "name"]),
    Arg::str("state").choices(&["file", "directory", "touch", "absent", "link", "hard"]),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::bool("recurse"),
    Arg::str("src"),
    Arg::bool("force"),
    Arg::bool("follow"),
]);

const STATES: &[&str] = &["file", "directory", "touch", "absent", "link", "hard"];

impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let path = args.req_str("path")?;
        let recurse = args.bool("recurse", false)?;
        let default = if recurse { "directory" } else { "file" };
        let state = args.choice("state", STATES, default)?;
        let p = sh::quote(&path);
        let mode = sh::quote(&args.mode("mode")?.unwrap_or_default());
        let owner = sh::quote(&args.str("owner")?.unwrap_or_default());
        let group = sh::quote(&args.str("group")?.unwrap_or_default());
        let attrs = format!("cp_attrs {p} {mode} {owner} {group}\n");
        let mut b = format!("cp_ret path {p}\n");
        let before = "if [ -L {p} ]; then cp_was=link; elif [ -d {p} ]; then cp_was=directory; elif [ -e {p} ]; then cp_was=file; else cp_was=absent; fi\n";
        b.push_str(&before.replace("{p}", &p));
        let state_diff = |to: &str| {
            format!(
                "[ \"$CP_DIFF\" = 1 ] && {{ printf 'path: %s\\nstate: %s\\n' {p} \"$cp_was\" > \"$CP_TMP/b\"; printf 'path: %s\\nstate: {to}\\n' {p} > \"$CP_TMP/a\"; cp_diff {p} \"$CP_TMP/b\" \"$CP_TMP/a\"; }}\n"
            )
        };
        match state.as_str() {
            "absent" => {
                b.push_str("if [ \"$cp_was\" != absent ]; then\n");
                b.push_str(&state_diff("absent"));
                b.push_str(&format!("  cp_changed; cp_check || rm -rf -- {p} || cp_fail \"cannot remove {}\"\nfi\ncp_ret state absent\n", path.replace('"', "")));
                return Ok(Plan::Remote(b));
            }
            "directory" => {
                b.push_str(&format!(
                    "case $cp_was in\n  absent) {}cp_changed; cp_check && {{ cp_ret state directory; exit 0; }}; mkdir -p -- {p} || cp_fail 'cannot create directory' ;;\n  directory) ;;\n  link) [ -d {p} ] || cp_fail 'path exists and is a link to a non-directory' ;;\n  *) cp_fail \"path {} exists but is not a directory\" ;;\nesac\n",
                    state_diff("directory"),
                    path.replace('"', "")
                ));
                if recurse {
                    b.push_str(&recurse_attrs(
                        &p,
                        &args.mode("mode")?,
                        &args.str("owner")?,
                        &args.str("group")?,
                    ));
                }
                b.push_str(&attrs);
            }
            "file" => {
                b.push_str(&format!(
                    "[ \"$cp_was\" = absent ] && cp_fail \"file ({}) is absent, cannot continue\"\n",
                    path.replace('"', "")
                ));
                b.push_str(&attrs);
            }
            "touch" => {
                b.push_str("if [ \"$cp_was\" = absent ]; then\n");
                b.push_str(&state_diff("touch"));
                b.push_str(&format!("  cp_check || {{ : > {p} || cp_fail 'cannot create file'; }}\nelse\n  cp_check || touch -- {p}\nfi\ncp_changed\n"));
                b.push_str(&format!("cp_check && [ \"$cp_was\" = absent ] || {attrs}"));
            }
            "link" | "hard" => {
                let src = args.str("src")?.ok_or(ModuleError::Missing {
                    module: "file",
                    arg: "src (for state=link)".into(),
                })?;
                let s = sh::quote(&src);
                let force = args.bool("force", false)?;
                if state == "link" {
                    b.push_str(&format!(
                        "if [ \"$cp_was\" = link ] && [ \"$(readlink -- {p})\" = {s} ]; then :; else\n  [ \"$cp_was\" = file ] && [ {force} = 0 ] && cp_fail 'refusing to convert from file to symlink without force'\n  [ \"$cp_was\" = directory ] && cp_fail 'refusing to replace a directory with a symlink'\n{}  cp_changed; cp_check || ln -sfn -- {s} {p} || cp_fail 'cannot create link'\nfi\n",
                        state_diff("link"),
                        force = u8::from(force)
                    ));
                } else {
                    b.push_str(&format!(
                        "if [ -e {p} ] && [ {p} -ef {s} ]; then :; else\n{}  cp_changed; cp_check || ln -f -- {s} {p} || cp_fail 'cannot create hard link'\nfi\n",
                        state_diff("hard")
                    ));
                }
                b.push_str(&format!("cp_check && [ \"$cp_was\" = absent ] || {attrs}"));
            }
            _ => unreachable!("checked by choice()"),
        }
        b.push_str(&format!("cp_ret state {}\n", sh::quote(&state)));
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(Value::String(p)) = o.ret.get("path").cloned() {
            o.ret.insert("dest".into(), Value::String(p));
        }
        o
    }
}

/// `recurse: yes`: owner, group and mode of everything below the directory.
fn recurse_attrs(
    p: &str,
    mode: &Option<String>,
    owner: &Option<String>,
    group: &Option<String>,
) -> String {
    let mut b = String::new();
    if owner.is_some() || group.is_some() {
        let og = format!(
            "{}{}",
            owner.clone().unwrap_or_default(),
            group.as_ref().map(|g| format!(":{g}")).unwrap_or_default()
        );
        let mut tests = Vec::new();
        if let Some(o) = owner {
            tests.push(format!("! -user {}", sh::quote(o)));
        }
        if let Some(g) = group {
            tests.push(format!("! -group {}", sh::quote(g)));
        }
        b.push_str(&format!(
            "[ -d {p} ] && [ -n \"$(find {p} -mindepth 1 \\( {} \\) -print -quit)\" ] && {{ cp_changed; cp_check || chown -R {} {p}; }}\n",
            tests.join(" -o "),
            sh::quote(&og)
        ));
    }
    if let Some(m) = mode {
        if m.bytes().all(|c| c.is_ascii_digit()) {
            b.push_str(&format!(
                "[ -d {p} ] && [ -n \"$(find {p} -mindepth 1 ! -perm {m} -print -quit)\" ] && {{ cp_changed; cp_check || chmod -R {m} {p}; }}\n"
            ));
        }
    }
    b
}
