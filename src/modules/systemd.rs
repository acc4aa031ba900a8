//! `systemd` (ansible.builtin.systemd_service, also `service`): a unit's
//! run state, whether it starts at boot, and whether it is masked.

use serde_json::{Map, Value};

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Systemd;

/// `cp_show` reads the unit's state into variables with one `systemctl show`;
/// `cp_enabled` answers as `systemctl is-enabled` would (exit 0 for the
/// states it counts as enabled). A unit whose file state `show` leaves open
/// (SysV scripts: generated, or empty) asks is-enabled itself.
/// The output stays in a variable rather than a scratch file, so an
/// idempotent task leaves nothing in CP_TMP to remove.
const SHOW: &str = r#"cp_show() {
  cp_out=$(systemctl show -p Id -p LoadState -p ActiveState -p SubState -p UnitFileState -p MainPID -- "$cp_u" 2>/dev/null)
  cp_load=; cp_active=; cp_ufs=; cp_status=
  [ -n "$cp_out" ] && while IFS= read -r cp_l; do
    cp_status="$cp_status$cp_l
"
    case $cp_l in
      LoadState=*) cp_load=${cp_l#*=} ;;
      ActiveState=*) cp_active=${cp_l#*=} ;;
      UnitFileState=*) cp_ufs=${cp_l#*=} ;;
    esac
  done <<CP_SHOW_END
$cp_out
CP_SHOW_END
  case $cp_ufs in generated|'') cp_ufs=$(systemctl is-enabled -- "$cp_u" 2>/dev/null) ;; esac
}
cp_enabled() {
  case $cp_ufs in enabled|enabled-runtime|alias|static|indirect|generated|transient) return 0 ;; esac
  return 1
}
"#;

const STATES: &[&str] = &["started", "stopped", "restarted", "reloaded"];

static SPEC: Spec = Spec::new(&[
    Arg::str("name").aliases(&["service", "unit"]),
    Arg::str("state").choices(STATES),
    Arg::bool("enabled"),
    Arg::bool("masked"),
    Arg::bool("daemon_reload").aliases(&["daemon-reload"]),
    Arg::bool("daemon_reexec").aliases(&["daemon-reexec"]),
    Arg::bool("no_block"),
    Arg::bool("force"),
    Arg::str("scope").choices(&["system"]),
]);

impl Module for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.str("name")?;
        let state = match args.str("state")? {
            Some(_) => Some(args.choice("state", STATES, "started")?),
            None => None,
        };
        let enabled = args
            .raw("enabled")
            .map(|_| args.bool("enabled", false))
            .transpose()?;
        let masked = args
            .raw("masked")
            .map(|_| args.bool("masked", false))
            .transpose()?;
        let reload = args.bool("daemon_reload", false)?;
        let reexec = args.bool("daemon_reexec", false)?;
        if name.is_none() && (state.is_some() || enabled.is_some() || masked.is_some()) {
            return Err(ModuleError::Missing {
                module: "systemd",
                arg: "name (needed with state, enabled or masked)".into(),
            });
        }
        if name.is_none() && !reload && !reexec {
            return Err(ModuleError::Other {
                module: "systemd",
                msg: "one of name, daemon_reload or daemon_reexec is required".into(),
            });
        }
        let mut flags = String::new();
        if args.bool("no_block", false)? {
            flags.push_str(" --no-block");
        }
        if args.bool("force", false)? {
            flags.push_str(" --force");
        }
        let mut b = String::from(
            "command -v systemctl >/dev/null || cp_fail 'systemctl is not available on this host'\n",
        );
        // Reloading the manager's configuration changes no unit: never "changed".
        if reexec {
            b.push_str(
                "cp_check || systemctl daemon-reexec || cp_fail 'failure during daemon-reexec'\n",
            );
        }
        if reload {
            b.push_str(
                "cp_check || systemctl daemon-reload || cp_fail 'failure during daemon-reload'\n",
            );
        }
        let Some(name) = name else {
            return Ok(Plan::Remote(b));
        };
        let u = sh::quote(&name);
        b.push_str(&format!("cp_u={u}\ncp_ret name \"$cp_u\"\n"));
        // One `systemctl show` answers the idempotent case (systemctl is the
        // costly program here); it runs again only after something changed.
        b.push_str(SHOW);
        b.push_str("cp_run() { cp_did=1; systemctl$cp_fl \"$@\" -- \"$cp_u\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Unable to $1 service $cp_u: $(cat \"$CP_TMP/out\")\"; }\n");
        b.push_str(&format!("cp_fl={}\ncp_did=0\ncp_show\n", sh::quote(&flags)));
        b.push_str("if [ \"$cp_load\" = not-found ] && [ \"$cp_ufs\" != masked ]; then\n");
        if masked == Some(false) || (state.is_none() && enabled.is_none() && masked.is_none()) {
            b.push_str("  :\n");
        } else {
            b.push_str("  cp_fail \"Could not find the requested service $cp_u: host\"\n");
        }
        b.push_str("fi\n");
        match masked {
            Some(true) => b.push_str("if [ \"$cp_ufs\" != masked ]; then cp_changed; cp_check || cp_run mask; cp_ufs=masked; fi\n"),
            Some(false) => b.push_str("if [ \"$cp_ufs\" = masked ]; then cp_changed; cp_check || { cp_run unmask; cp_show; }; fi\n"),
            None => {}
        }
        match enabled {
            Some(true) => b.push_str("if ! cp_enabled; then cp_changed; cp_check || cp_run enable; fi\n"),
            Some(false) => b.push_str("if cp_enabled && [ \"$cp_ufs\" != static ] && [ \"$cp_ufs\" != indirect ]; then cp_changed; cp_check || cp_run disable; fi\n"),
            None => {}
        }
        if let Some(st) = &state {
            b.push_str("case \"$cp_active\" in active|activating|reloading) cp_running=1 ;; *) cp_running=0 ;; esac\n");
            b.push_str(match st.as_str() {
                "started" => "if [ $cp_running = 0 ]; then cp_changed; cp_check || cp_run start; fi\n",
                "stopped" => "if [ $cp_running = 1 ]; then cp_changed; cp_check || cp_run stop; fi\n",
                "restarted" => "cp_changed; cp_check || cp_run restart\n",
                _ => "cp_changed; if [ $cp_running = 0 ]; then cp_check || cp_run start; else cp_check || cp_run reload; fi\n",
            });
            b.push_str(&format!("cp_ret state {}\n", sh::quote(st)));
        }
        b.push_str("[ $cp_did = 1 ] && cp_show\ncp_rec ret.status \"$cp_status\"\n");
        b.push_str("if cp_enabled; then cp_ret enabled true; else cp_ret enabled false; fi\n");
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(Value::String(text)) = o.ret.get("status").cloned() {
            let mut m = Map::new();
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    m.insert(k.to_string(), Value::String(v.to_string()));
                }
            }
            o.ret.insert("status".into(), Value::Object(m));
        }
        if let Some(Value::String(e)) = o.ret.get("enabled").cloned() {
            o.ret.insert("enabled".into(), Value::Bool(e == "true"));
        }
        o
    }
}
