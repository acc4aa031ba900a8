//! `apt` (ansible.builtin, also `package`): Debian packages with apt-get.
//!
//! Never prompts (noninteractive, old config files kept), waits for the dpkg
//! lock, and reports a change only when the dpkg database differs after the
//! run; check mode asks `apt-get -s` what would happen.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Apt;

const STATES: &[&str] = &["present", "latest", "absent", "installed", "removed"];
const UPGRADES: &[&str] = &["no", "yes", "safe", "full", "dist"];

static SPEC: Spec = Spec::new(&[
    Arg::list("name").aliases(&["package", "pkg"]),
    Arg::str("state").choices(STATES),
    Arg::bool("update_cache").aliases(&["update-cache"]),
    Arg::int("cache_valid_time"),
    Arg::bool("install_recommends").aliases(&["install-recommends"]),
    Arg::bool("purge"),
    Arg::bool("autoremove"),
    Arg::str("default_release").aliases(&["default-release"]),
    Arg::str("upgrade").choices(UPGRADES),
    Arg::int("lock_timeout"),
    Arg::bool("force_apt_get"),
]);

fn bad(arg: &str, msg: impl Into<String>) -> ModuleError {
    ModuleError::BadArg {
        module: "apt",
        arg: arg.into(),
        msg: msg.into(),
    }
}

/// A package spec: `name`, `name=version` or `name=version*`.
fn check_spec(spec: &str) -> Result<(), ModuleError> {
    let ok = !spec.is_empty()
        && !spec.starts_with('-')
        && spec
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".+-:=~*_".contains(&c));
    if ok {
        Ok(())
    } else {
        Err(bad("name", format!("not a package name: {spec:?}")))
    }
}

/// Whether dpkg has the package (`cp_has NAME [VERSION]`): installed, or
/// installed at the version (a trailing `*` matches a prefix).
const HAS: &str = r#"cp_has() {
  cp_st=$(dpkg-query -W -f='${db:Status-Abbrev}|${Version}' "$1" 2>/dev/null) || return 1
  case "$cp_st" in ?[nc]*|'') return 1 ;; esac
  [ -z "$2" ] && return 0
  case "${cp_st#*|}" in $2) return 0 ;; esac
  return 1
}
cp_has_conf() { dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^.c'; }
cp_snap() { dpkg-query -W -f='${Package}:${Architecture} ${Version} ${db:Status-Abbrev}\n' 2>/dev/null | LC_ALL=C sort; }
"#;

/// Runs an apt-get operation: simulated in check mode, otherwise for real
/// with the dpkg database compared before and after.
const RUN: &str = r#"cp_do() {
  if cp_check; then
    cp_apt -s "$@" >"$CP_TMP/out" 2>"$CP_TMP/err" || cp_apt_fail "$@"
    grep -q '^\(Inst\|Remv\|Purg\) ' "$CP_TMP/out" && cp_changed
  else
    cp_snap > "$CP_TMP/before"
    cp_apt "$@" >"$CP_TMP/out" 2>"$CP_TMP/err" || cp_apt_fail "$@"
    cp_snap > "$CP_TMP/after"
    cmp -s "$CP_TMP/before" "$CP_TMP/after" || cp_changed
  fi
  # The outputs of several apt-get calls add up; the files appear only when
  # apt-get ran, so a task with nothing to do leaves CP_TMP empty (no rm).
  cat "$CP_TMP/out" >> "$CP_TMP/allout"; cat "$CP_TMP/err" >> "$CP_TMP/allerr"
}
cp_apt_fail() {
  cp_recf ret.stdout "$CP_TMP/out"; cp_recf ret.stderr "$CP_TMP/err"
  cp_miss=$(sed -n 's/^E: Unable to locate package \(.*\)$/\1/p; s/^E: Package .\(.*\). has no installation candidate$/\1/p' "$CP_TMP/err" | head -n 1)
  [ -n "$cp_miss" ] && cp_fail "No package matching '$cp_miss' is available"
  cp_fail "'apt-get $*' failed: $(grep '^E:' "$CP_TMP/err" | tr '\n' ' ')"
}
"#;

impl Module for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let names = args.list("name")?;
        for n in &names {
            check_spec(n)?;
        }
        let state = match args.choice("state", STATES, "present")?.as_str() {
            "installed" => "present".to_string(),
            "removed" => "absent".to_string(),
            s => s.to_string(),
        };
        let upgrade = args.choice("upgrade", UPGRADES, "no")?;
        let upgrade = match upgrade.as_str() {
            "no" | "false" => None,
            u => Some(u.to_string()),
        };
        let valid = args.int("cache_valid_time")?.unwrap_or(0);
        // As in Ansible, asking for a cache age implies updating the cache.
        let update = args.bool("update_cache", false)? || args.has("cache_valid_time");
        let autoremove = args.bool("autoremove", false)?;
        let purge = args.bool("purge", false)?;
        if names.is_empty() && !update && upgrade.is_none() && !autoremove {
            return Err(ModuleError::Other {
                module: "apt",
                msg: "one of the following is required: name, update_cache, upgrade, autoremove"
                    .into(),
            });
        }
        let timeout = args.int("lock_timeout")?.unwrap_or(300).max(0);
        let mut opts = format!(
            "-y -q -o DPkg::Lock::Timeout={timeout} -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
        );
        match args
            .raw("install_recommends")
            .map(|_| args.bool("install_recommends", true))
        {
            Some(Ok(true)) => opts.push_str(" -o APT::Install-Recommends=yes"),
            Some(Ok(false)) => opts.push_str(" --no-install-recommends"),
            Some(Err(e)) => return Err(e),
            None => {}
        }
        if let Some(r) = args.str("default_release")? {
            opts.push_str(&format!(" -t {}", sh::quote(&r)));
        }
        let mut b = String::from(
            "command -v apt-get >/dev/null || cp_fail 'apt-get is not available on this host'\nexport DEBIAN_FRONTEND=noninteractive\n",
        );
        b.push_str(&format!("cp_apt() {{ apt-get {opts} \"$@\"; }}\n"));
        b.push_str(HAS);
        b.push_str(RUN);
        // The cache.
        b.push_str("cp_stamp=/var/lib/apt/periodic/update-success-stamp\ncp_age() { if [ -e \"$cp_stamp\" ]; then stat -c %Y \"$cp_stamp\"; else stat -c %Y /var/lib/apt/lists; fi; }\ncp_upd=false\n");
        if update {
            b.push_str(&format!(
                "cp_need=1\nif [ {valid} -gt 0 ] && [ $(( $(date +%s) - $(cp_age) )) -lt {valid} ]; then cp_need=0; fi\n"
            ));
            b.push_str("if [ $cp_need = 1 ]; then\n  cp_upd=true\n  if ! cp_check; then\n    cp_apt update >\"$CP_TMP/out\" 2>\"$CP_TMP/err\" || { cp_recf ret.stderr \"$CP_TMP/err\"; cp_fail \"Failed to update apt cache: $(grep '^[EW]:' \"$CP_TMP/err\" | tr '\\n' ' ')\"; }\n    mkdir -p /var/lib/apt/periodic && touch \"$cp_stamp\"\n  fi\nfi\n");
        }
        b.push_str("cp_ret cache_updated $cp_upd\ncp_ret cache_update_time \"$(cp_age)\"\n");
        if names.is_empty() && upgrade.is_none() && !autoremove {
            // Only the cache. Ansible calls a cache update a change; here a
            // change is a package installed, removed or upgraded, so that a
            // second run of a playbook reports nothing changed.
            return Ok(Plan::Remote(b));
        }
        if !names.is_empty() {
            b.push_str("set --\n");
            for spec in &names {
                let (name, version) = match spec.split_once('=') {
                    Some((n, v)) => (n, v),
                    None => (spec.as_str(), ""),
                };
                let (n, v, s) = (sh::quote(name), sh::quote(version), sh::quote(spec));
                b.push_str(&match state.as_str() {
                    "present" => format!("cp_has {n} {v} || set -- \"$@\" {s}\n"),
                    "latest" => format!("set -- \"$@\" {s}\n"),
                    _ if purge => {
                        format!("{{ cp_has {n} || cp_has_conf {n}; }} && set -- \"$@\" {n}\n")
                    }
                    _ => format!("cp_has {n} && set -- \"$@\" {n}\n"),
                });
            }
            let op = match state.as_str() {
                "absent" if purge => "remove --purge",
                "absent" => "remove",
                _ => "install",
            };
            b.push_str(&format!("[ $# -gt 0 ] && cp_do {op} \"$@\"\n"));
        }
        if let Some(u) = &upgrade {
            let op = match u.as_str() {
                "dist" | "full" => "dist-upgrade",
                "safe" => "upgrade --with-new-pkgs",
                _ => "upgrade",
            };
            b.push_str(&format!("cp_do {op}\n"));
        }
        if autoremove {
            b.push_str(if purge {
                "cp_do autoremove --purge\n"
            } else {
                "cp_do autoremove\n"
            });
        }
        b.push_str(
            "cp_recf ret.stdout \"$CP_TMP/allout\"\ncp_recf ret.stderr \"$CP_TMP/allerr\"\n",
        );
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(Value::String(s)) = o.ret.get("cache_updated").cloned() {
            o.ret
                .insert("cache_updated".into(), Value::Bool(s == "true"));
        }
        if let Some(n) = o
            .ret
            .get("cache_update_time")
            .and_then(Value::as_str)
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            o.ret.insert("cache_update_time".into(), n.into());
        }
        for key in ["stdout", "stderr"] {
            if let Some(Value::String(text)) = o.ret.get(key).cloned() {
                let lines: Vec<Value> = text.lines().map(|l| Value::String(l.into())).collect();
                o.ret.insert(format!("{key}_lines"), Value::Array(lines));
            }
        }
        o
    }
}
