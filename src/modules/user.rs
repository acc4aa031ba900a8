//! `user` (ansible.builtin): a local account. The password is a crypt hash
//! that travels inside the module body and reaches `chpasswd -e` on stdin,
//! never a command line.

use serde_json::Value;

use super::group::valid_name;
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct User;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required().aliases(&["user"]),
    Arg::int("uid"),
    Arg::bool("non_unique"),
    Arg::str("group"),
    Arg::list("groups"),
    Arg::bool("append"),
    Arg::str("shell"),
    Arg::str("home"),
    Arg::bool("create_home").aliases(&["createhome"]),
    Arg::bool("move_home"),
    Arg::bool("system"),
    Arg::str("comment"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::bool("remove"),
    Arg::bool("force"),
    Arg::str("password"),
    Arg::str("update_password").choices(&["always", "on_create"]),
]);

fn bad(arg: &str, msg: impl Into<String>) -> ModuleError {
    ModuleError::BadArg {
        module: "user",
        arg: arg.into(),
        msg: msg.into(),
    }
}

/// Fails unless every group exists: `cp_need_group NAME`.
const NEED_GROUP: &str =
    "cp_need_group() { getent group \"$1\" >/dev/null || cp_fail \"Group $1 does not exist\"; }\n";

impl Module for User {
    fn name(&self) -> &'static str {
        "user"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.req_str("name")?;
        valid_name("user", &name)?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let mut b = format!(
            "cp_usr={}\ncp_ret name \"$cp_usr\"\ncp_ret state {state}\ncp_ent=$(getent passwd \"$cp_usr\")\n",
            sh::quote(&name)
        );
        if state == "absent" {
            let mut del = String::from("userdel");
            if args.bool("remove", false)? {
                del.push_str(" -r");
            }
            if args.bool("force", false)? {
                del.push_str(" -f");
            }
            b.push_str(&format!(
                "if [ -n \"$cp_ent\" ]; then\n  cp_changed\n  if ! cp_check; then\n    {del} \"$cp_usr\" >\"$CP_TMP/out\" 2>&1\n    if getent passwd \"$cp_usr\" >/dev/null; then cp_fail \"userdel failed: $(cat \"$CP_TMP/out\")\"; fi\n  fi\nfi\n"
            ));
            return Ok(Plan::Remote(b));
        }
        let q = |v: &str| sh::quote(v);
        let uid = args.int("uid")?;
        let group = args.str("group")?;
        let groups = if args.has("groups") {
            Some(args.list("groups")?)
        } else {
            None
        };
        let shell = args.str("shell")?;
        let home = args.str("home")?;
        let comment = args.str("comment")?;
        for (arg, v) in [("shell", &shell), ("home", &home), ("comment", &comment)] {
            if v.as_deref().is_some_and(|s| s.contains([':', '\n'])) {
                return Err(bad(arg, "must not contain ':' or a newline"));
            }
        }
        let password = args.str("password")?;
        if password.as_deref().is_some_and(|p| p.contains([':', '\n'])) {
            return Err(bad("password", "must be a crypt hash (no ':' or newline)"));
        }
        let update_pw = args.choice("update_password", &["always", "on_create"], "always")?;
        let append = args.bool("append", false)?;
        let non_unique = args.bool("non_unique", false)?;
        b.push_str(NEED_GROUP);
        if let Some(g) = &group {
            b.push_str(&format!("cp_need_group {}\n", q(g)));
        }
        if let Some(gs) = &groups {
            for g in gs {
                b.push_str(&format!("cp_need_group {}\n", q(g)));
            }
        }
        // Create.
        b.push_str(
            "cp_created=0\nif [ -z \"$cp_ent\" ]; then\n  cp_changed; cp_created=1\n  set --\n",
        );
        if let Some(u) = uid {
            b.push_str(&format!("  set -- \"$@\" -u {u}\n"));
            if non_unique {
                b.push_str("  set -- \"$@\" -o\n");
            }
        }
        match &group {
            Some(g) => b.push_str(&format!("  set -- \"$@\" -g {}\n", q(g))),
            // A group named like the user already exists: it becomes the
            // primary group instead of useradd failing to make it again.
            None => b.push_str(
                "  getent group \"$cp_usr\" >/dev/null && set -- \"$@\" -g \"$cp_usr\"\n",
            ),
        }
        if let Some(gs) = groups.as_ref().filter(|g| !g.is_empty()) {
            b.push_str(&format!("  set -- \"$@\" -G {}\n", q(&gs.join(","))));
        }
        for (flag, v) in [("-s", &shell), ("-d", &home), ("-c", &comment)] {
            if let Some(v) = v {
                b.push_str(&format!("  set -- \"$@\" {flag} {}\n", q(v)));
            }
        }
        b.push_str(if args.bool("create_home", true)? {
            "  set -- \"$@\" -m\n"
        } else {
            "  set -- \"$@\" -M\n"
        });
        if args.bool("system", false)? {
            b.push_str("  set -- \"$@\" -r\n");
        }
        b.push_str("  if ! cp_check; then useradd \"$@\" \"$cp_usr\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"useradd failed: $(cat \"$CP_TMP/out\")\"; fi\nelse\n");
        // Modify.
        b.push_str("  cp_f() { printf '%s' \"$cp_ent\" | cut -d: -f\"$1\"; }\n  set --\n");
        if let Some(u) = uid {
            b.push_str(&format!(
                "  [ \"$(cp_f 3)\" = {u} ] || set -- \"$@\" -u {u}{}\n",
                if non_unique { " -o" } else { "" }
            ));
        }
        if let Some(g) = &group {
            b.push_str(&format!(
                "  [ \"$(cp_f 4)\" = \"$(getent group {g} | cut -d: -f3)\" ] || set -- \"$@\" -g {g}\n",
                g = q(g)
            ));
        }
        if let Some(gs) = &groups {
            let mut want: Vec<String> = gs.clone();
            want.sort();
            want.dedup();
            b.push_str("  cp_pg=$(getent group \"$(cp_f 4)\" | cut -d: -f1)\n  cp_have=$(getent group | awk -F: -v u=\"$cp_usr\" -v pg=\"$cp_pg\" '{ n = split($4, m, \",\"); for (i = 1; i <= n; i++) if (m[i] == u && $1 != pg) print $1 }' | LC_ALL=C sort -u)\n");
            if append {
                b.push_str(&format!(
                    "  for cp_x in {}; do printf '%s\\n' \"$cp_have\" | grep -qxF -- \"$cp_x\" || {{ set -- \"$@\" -a -G {}; break; }}; done\n",
                    want.iter().map(|g| q(g)).collect::<Vec<_>>().join(" "),
                    q(&want.join(","))
                ));
            } else {
                b.push_str(&format!(
                    "  [ \"$(printf '%s' \"$cp_have\" | tr '\\n' ',')\" = {} ] || set -- \"$@\" -G {}\n",
                    q(&want.join(",")),
                    q(&want.join(","))
                ));
            }
        }
        if let Some(s) = &shell {
            b.push_str(&format!(
                "  [ \"$(cp_f 7)\" = {s} ] || set -- \"$@\" -s {s}\n",
                s = q(s)
            ));
        }
        if let Some(c) = &comment {
            b.push_str(&format!(
                "  [ \"$(cp_f 5)\" = {c} ] || set -- \"$@\" -c {c}\n",
                c = q(c)
            ));
        }
        if let Some(h) = &home {
            let mv = if args.bool("move_home", false)? {
                " -m"
            } else {
                ""
            };
            b.push_str(&format!(
                "  [ \"$(cp_f 6)\" = {h} ] || set -- \"$@\" -d {h}{mv}\n",
                h = q(h)
            ));
        }
        b.push_str("  if [ $# -gt 0 ]; then cp_changed; cp_check || usermod \"$@\" \"$cp_usr\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"usermod failed: $(cat \"$CP_TMP/out\")\"; fi\nfi\n");
        if let Some(pw) = &password {
            b.push_str(&sh::write_file(
                "\"$CP_TMP/pw\"",
                format!("{name}:{pw}\n").as_bytes(),
            ));
            let when = if update_pw == "always" {
                "true"
            } else {
                "[ $cp_created = 1 ]"
            };
            b.push_str(&format!(
                "if {when}; then\n  cp_cur_pw=$(getent shadow \"$cp_usr\" | cut -d: -f2)\n  if [ $cp_created = 1 ] || [ \"$cp_cur_pw\" != \"$(cut -d: -f2- \"$CP_TMP/pw\")\" ]; then\n    cp_changed\n    cp_check || chpasswd -e < \"$CP_TMP/pw\" 2>\"$CP_TMP/out\" || cp_fail \"chpasswd failed: $(cat \"$CP_TMP/out\")\"\n  fi\nfi\n"
            ));
        }
        b.push_str("cp_ent=$(getent passwd \"$cp_usr\")\nif [ -n \"$cp_ent\" ]; then\n  cp_ret uid \"$(printf '%s' \"$cp_ent\" | cut -d: -f3)\"\n  cp_ret group \"$(printf '%s' \"$cp_ent\" | cut -d: -f4)\"\n  cp_ret comment \"$(printf '%s' \"$cp_ent\" | cut -d: -f5)\"\n  cp_ret home \"$(printf '%s' \"$cp_ent\" | cut -d: -f6)\"\n  cp_ret shell \"$(printf '%s' \"$cp_ent\" | cut -d: -f7)\"\n  cp_ret groups \"$(id -Gn \"$cp_usr\" | tr ' ' ',')\"\nfi\n");
        Ok(Plan::Remote(b))
    }

    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        for k in ["uid", "group"] {
            if let Some(n) = o
                .ret
                .get(k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<i64>().ok())
            {
                o.ret.insert(k.into(), n.into());
            }
        }
        for (k, d) in [
            ("append", false),
            ("create_home", true),
            ("move_home", false),
            ("system", false),
            ("remove", false),
            ("force", false),
        ] {
            o.ret
                .insert(k.into(), Value::Bool(args.bool(k, d).unwrap_or(d)));
        }
        if args.has("password") {
            o.ret.insert(
                "password".into(),
                Value::String("NOT_LOGGING_PASSWORD".into()),
            );
        }
        o
    }
}
