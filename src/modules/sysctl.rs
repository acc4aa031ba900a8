//! `sysctl` (ansible.posix): a kernel parameter in a sysctl file (one line
//! per key, duplicates removed) and, with `sysctl_set`, in the running kernel.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh, to_bool};

pub struct Sysctl;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required().aliases(&["key"]),
    Arg::any("value").aliases(&["val"]),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::bool("ignoreerrors"),
    Arg::bool("reload"),
    Arg::str("sysctl_file"),
    Arg::bool("sysctl_set"),
]);

/// Ansible's value: booleans become 1/0, text loses outer whitespace.
fn parse_value(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Bool(_) => to_bool(v).map(|b| if b { "1" } else { "0" }.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => {
            let t = s.trim();
            match t.to_ascii_lowercase().as_str() {
                "yes" | "on" | "true" => Some("1".into()),
                "no" | "off" | "false" => Some("0".into()),
                _ => Some(t.to_string()),
            }
        }
        other => Some(other.to_string()),
    }
}

/// Rewrites the file: the key's first line becomes `key=value` (present) or
/// goes (absent); later lines for the key go. Records the old value on fd 3.
const AWK_FIX: &str = r#"
BEGIN { key = ENVIRON["key"]; value = ENVIRON["value"]; oldfile = ENVIRON["oldfile"] }
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
{
  sub(/\r$/, "")
  line = $0
  t = trim(line)
  if (t == "" || t ~ /^[#;]/ || index(t, "=") == 0) { print line; next }
  k = trim(substr(t, 1, index(t, "=") - 1))
  sub(/^-/, "", k)
  if (k != key) { print line; next }
  if (!seen) { old = trim(substr(t, index(t, "=") + 1)); found = 1 }
  if (state == "present" && !seen) print key "=" value
  seen = 1
}
END {
  if (state == "present" && !seen) print key "=" value
  if (found) printf "%s", old > oldfile
}
"#;

impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.req_str("name")?.trim().to_string();
        if name.is_empty() || name.contains(['=', '\n']) || name.contains(char::is_whitespace) {
            return Err(ModuleError::BadArg {
                module: "sysctl",
                arg: "name".into(),
                msg: format!("not a sysctl key: {name:?}"),
            });
        }
        let state = args.choice("state", &["present", "absent"], "present")?;
        let value = args.raw("value").and_then(parse_value);
        let value = match (state.as_str(), value) {
            ("present", None) => {
                return Err(ModuleError::Other {
                    module: "sysctl",
                    msg: "value cannot be None".into(),
                });
            }
            (_, v) => v.unwrap_or_default(),
        };
        if value.contains('\n') {
            return Err(ModuleError::BadArg {
                module: "sysctl",
                arg: "value".into(),
                msg: "must be one line".into(),
            });
        }
        // Values compare with whitespace collapsed, as the kernel prints tabs.
        let norm = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let file = args.str_or("sysctl_file", "/etc/sysctl.conf")?;
        let ignore = args.bool("ignoreerrors", false)?;
        let set = args.bool("sysctl_set", false)?;
        let reload = args.bool("reload", true)?;
        let (f, k, v) = (sh::quote(&file), sh::quote(&name), sh::quote(&value));
        let e = if ignore { " -e" } else { "" };
        let mut b = String::new();
        b.push_str(&format!(
            "if [ -f {f} ]; then cp -- {f} \"$CP_TMP/old\" || cp_fail \"cannot read {fs}\"; else : > \"$CP_TMP/old\"; fi\n",
            fs = file.replace(['"', '$', '`', '\\'], "")
        ));
        b.push_str(&format!(
            "key={k} value={v} oldfile=\"$CP_TMP/oldval\" awk -v state={state} {} \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n",
            sh::quote(AWK_FIX)
        ));
        b.push_str(&format!("cp_sf={f}\ncp_fchg=0\nif ! cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\" && {{ [ -f \"$cp_sf\" ] || [ -s \"$CP_TMP/new\" ]; }}; then cp_fchg=1; fi\n"));
        b.push_str(&format!(
            "[ $cp_fchg = 1 ] && cp_put \"$CP_TMP/new\" {f} '' '' '' 0\n"
        ));
        b.push_str("cp_kchg=0\n");
        if set && state == "present" {
            let proc_path = format!("/proc/sys/{}", name.replace('.', "/"));
            b.push_str(&format!(
                "if cp_cur=$(sysctl -n {k} 2>\"$CP_TMP/err\"); then\n  [ \"$(printf '%s' \"$cp_cur\" | tr -s ' \\t\\n' '   ' | sed 's/^ //;s/ $//')\" = {n} ] || cp_kchg=1\nelif [ {ig} = 0 ]; then cp_recf ret.stderr \"$CP_TMP/err\"; cp_fail {msg}; fi\n",
                n = sh::quote(&norm),
                ig = u8::from(ignore),
                msg = sh::quote(&format!(
                    "setting {name} failed: no such key ({proc_path} does not exist)"
                ))
            ));
            b.push_str(&format!(
                "if [ $cp_kchg = 1 ]; then\n  cp_changed\n  if ! cp_check; then sysctl{e} -w {kv} >\"$CP_TMP/out\" 2>\"$CP_TMP/err\" || {{ cp_recf ret.stderr \"$CP_TMP/err\"; cp_fail {msg}; }}; fi\nfi\n",
                kv = sh::quote(&format!("{name}={value}")),
                msg = sh::quote(&format!("setting {name} failed"))
            ));
        }
        if reload {
            b.push_str(&format!(
                "if {{ [ $cp_fchg = 1 ] || [ $cp_kchg = 1 ]; }} && ! cp_check; then\n  sysctl{e} -p {f} >\"$CP_TMP/out\" 2>\"$CP_TMP/err\" || {{ cp_recf ret.stderr \"$CP_TMP/err\"; cp_fail 'Failed to reload sysctl'; }}\nfi\n"
            ));
        }
        Ok(Plan::Remote(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_as_ansible_reads_them() {
        assert_eq!(parse_value(&json!(true)).as_deref(), Some("1"));
        assert_eq!(parse_value(&json!("no")).as_deref(), Some("0"));
        assert_eq!(
            parse_value(&json!(" 32768 60999 ")).as_deref(),
            Some("32768 60999")
        );
        assert_eq!(parse_value(&json!(10)).as_deref(), Some("10"));
    }
}
