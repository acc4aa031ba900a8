//! `group` (ansible.builtin): a local group and its gid.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Group;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required(),
    Arg::int("gid"),
    Arg::bool("system"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::bool("non_unique"),
    Arg::bool("force"),
]);

/// Local user and group names: what useradd/groupadd accept on Debian.
pub(super) fn valid_name(module: &'static str, name: &str) -> Result<(), ModuleError> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._-$".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(ModuleError::BadArg {
            module,
            arg: "name".into(),
            msg: format!("not a valid user or group name: {name:?}"),
        })
    }
}

impl Module for Group {
    fn name(&self) -> &'static str {
        "group"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.req_str("name")?;
        valid_name("group", &name)?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let n = sh::quote(&name);
        let mut b = format!(
            "cp_g={n}\ncp_ret name \"$cp_g\"\ncp_ret state {state}\ncp_ent=$(getent group \"$cp_g\")\n"
        );
        if state == "absent" {
            let force = if args.bool("force", false)? {
                " -f"
            } else {
                ""
            };
            b.push_str(&format!(
                "if [ -n \"$cp_ent\" ]; then cp_changed; cp_check || groupdel{force} \"$cp_g\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"groupdel failed: $(cat \"$CP_TMP/out\")\"; fi\n"
            ));
            return Ok(Plan::Remote(b));
        }
        let gid = args.int("gid")?;
        let non_unique = if args.bool("non_unique", false)? {
            " -o"
        } else {
            ""
        };
        let gid_v = gid.map(|g| g.to_string()).unwrap_or_default();
        let mut add = String::from("groupadd");
        if let Some(g) = gid {
            add.push_str(&format!(" -g {g}{non_unique}"));
        }
        if args.bool("system", false)? {
            add.push_str(" -r");
        }
        b.push_str(&format!(
            "if [ -z \"$cp_ent\" ]; then\n  cp_changed\n  cp_check || {add} \"$cp_g\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"groupadd failed: $(cat \"$CP_TMP/out\")\"\nelif [ -n {gv} ] && [ \"$(printf '%s' \"$cp_ent\" | cut -d: -f3)\" != {gv} ]; then\n  cp_changed\n  cp_check || groupmod -g {gv}{non_unique} \"$cp_g\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"groupmod failed: $(cat \"$CP_TMP/out\")\"\nfi\n",
            gv = sh::quote(&gid_v)
        ));
        b.push_str("cp_gid=$(getent group \"$cp_g\" | cut -d: -f3)\n[ -n \"$cp_gid\" ] && cp_ret gid \"$cp_gid\"\n");
        b.push_str(&format!(
            "cp_ret system {}\n",
            if args.bool("system", false)? {
                "true"
            } else {
                "false"
            }
        ));
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(n) = o
            .ret
            .get("gid")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
        {
            o.ret.insert("gid".into(), n.into());
        }
        if let Some(Value::String(s)) = o.ret.get("system").cloned() {
            o.ret.insert("system".into(), Value::Bool(s == "true"));
        }
        o
    }
}
