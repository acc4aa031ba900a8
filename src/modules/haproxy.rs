//! `haproxy` (community.general.haproxy): a backend server's admin state
//! (enabled, disabled, drain) and weight, through HAProxy's runtime API on
//! its unix socket. The host needs `socat` (Debian package socat) to talk to
//! the socket; the module fails naming it when it is missing.
//!
//! "Changed" compares the server's admin state bits and weight from
//! `show servers state` before and after, so enabling an enabled server is ok.

use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct Haproxy;

const STATES: &[&str] = &["enabled", "disabled", "drain"];

static SPEC: Spec = Spec::new(&[
    Arg::str("backend"),
    Arg::str("host").required(),
    Arg::str("state").required().choices(STATES),
    Arg::str("socket"),
    Arg::bool("wait"),
    Arg::int("wait_interval"),
    Arg::int("wait_retries"),
    Arg::bool("drain"),
    Arg::bool("shutdown_sessions"),
    Arg::str("weight"),
    Arg::bool("fail_on_not_found"),
    Arg::bool("agent"),
    Arg::bool("health"),
]);

impl Module for Haproxy {
    fn name(&self) -> &'static str {
        "haproxy"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let host = args.req_str("host")?;
        let state = args.choice("state", STATES, "enabled")?;
        let socket = args.str_or("socket", "/var/run/haproxy.sock")?;
        let wait = args.bool("wait", false)?;
        let interval = args.int("wait_interval")?.unwrap_or(5);
        let retries = args.int("wait_retries")?.unwrap_or(25);
        let weight = args.str("weight")?;
        if let Some(w) = &weight {
            let digits = w.strip_suffix('%').unwrap_or(w);
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return Err(ModuleError::BadArg {
                    module: "haproxy",
                    arg: "weight".into(),
                    msg: format!("expected a number (0-256) or a percentage, got {w:?}"),
                });
            }
        }
        let mut b = String::from(
            "command -v socat >/dev/null 2>&1 || cp_fail 'the haproxy module needs socat on the host to reach the runtime API (Debian: apt-get install socat)'\n",
        );
        b.push_str(&format!(
            "cp_sock={}\ncp_host={}\ncp_be={}\n",
            sh::quote(&socket),
            sh::quote(&host),
            sh::quote(&args.str_or("backend", "")?)
        ));
        b.push_str(
            "[ -S \"$cp_sock\" ] || cp_fail \"$cp_sock is not a socket: is haproxy running with 'stats socket $cp_sock level admin'?\"\n\
             cp_hap() { printf '%s\\n' \"$1\" | socat -t 5 stdio \"unix-connect:$cp_sock\"; }\n\
             cp_do() { cp_r=$(cp_hap \"$1\") || cp_fail \"cannot talk to haproxy on $cp_sock\"; case \"$cp_r\" in ''|*'Done.'*) ;; *) cp_fail \"haproxy refused '$1': $cp_r\" ;; esac; }\n\
             # backend server admin_state weight, one line per backend holding the server\n\
             cp_servers() { cp_hap 'show servers state' | awk -v h=\"$cp_host\" -v be=\"$cp_be\" '$4 == h && (be == \"\" || $2 == be) { print $2, $7, $8 }'; }\n\
             cp_servers > \"$CP_TMP/before\" || cp_fail \"cannot talk to haproxy on $cp_sock\"\n",
        );
        let not_found = if args.bool("fail_on_not_found", false)? {
            "cp_fail \"The specified backend '$cp_be/$cp_host' was not found!\""
        } else {
            "cp_msg \"server $cp_host was not found in ${cp_be:-any backend}\"; exit 0"
        };
        b.push_str(&format!(
            "[ -s \"$CP_TMP/before\" ] || {{ {not_found}; }}\n"
        ));
        // Admin state bits (HAProxy's srv_admin_state): 0x01 forced
        // maintenance, 0x04 maintenance from the configuration, 0x08 forced drain.
        let (ok_cond, status) = match state.as_str() {
            "enabled" => ("[ $((cp_adm & 13)) = 0 ]", "UP"),
            "disabled" => ("[ $((cp_adm & 5)) != 0 ]", "MAINT"),
            _ => (
                "[ $((cp_adm & 8)) != 0 ] && [ $((cp_adm & 5)) = 0 ]",
                "DRAIN",
            ),
        };
        b.push_str("while read -r cp_b cp_adm cp_w; do\n  cp_sv=\"$cp_b/$cp_host\"\n");
        if let Some(w) = &weight {
            b.push_str(&format!(
                "  cp_want={w}\n  case $cp_want in *%) ;; *) [ \"$cp_w\" = \"$cp_want\" ] || {{ cp_changed; cp_check || cp_do \"set weight $cp_sv $cp_want\"; }} ;; esac\n  case $cp_want in *%) cp_check || cp_do \"set weight $cp_sv $cp_want\" ;; esac\n"
            ));
        }
        b.push_str(&format!(
            "  if ! {{ {ok_cond}; }}; then\n    cp_changed\n    if ! cp_check; then\n"
        ));
        match state.as_str() {
            "enabled" => {
                b.push_str("      cp_do \"set server $cp_sv state ready\"\n");
                if args.bool("health", false)? {
                    b.push_str("      cp_do \"enable health $cp_sv\"\n");
                }
                if args.bool("agent", false)? {
                    b.push_str("      cp_do \"enable agent $cp_sv\"\n");
                }
            }
            // Also takes the server out of forced maintenance.
            "drain" => b.push_str("      cp_do \"set server $cp_sv state drain\"\n"),
            _ => {
                if args.bool("drain", false)? {
                    // Let the current sessions finish before maintenance.
                    b.push_str(&format!(
                        "      cp_do \"set server $cp_sv state drain\"\n      cp_n=0\n      while [ $cp_n -lt {retries} ] && [ \"$(cp_hap 'show stat' | awk -F, -v b=\"$cp_b\" -v h=\"$cp_host\" '$1 == b && $2 == h {{ print $5 }}')\" != 0 ]; do cp_n=$((cp_n+1)); sleep {interval}; done\n"
                    ));
                }
                if args.bool("health", false)? {
                    b.push_str("      cp_do \"disable health $cp_sv\"\n");
                }
                if args.bool("agent", false)? {
                    b.push_str("      cp_do \"disable agent $cp_sv\"\n");
                }
                b.push_str("      cp_do \"disable server $cp_sv\"\n");
                if args.bool("shutdown_sessions", false)? {
                    b.push_str("      cp_do \"shutdown sessions server $cp_sv\"\n");
                }
            }
        }
        b.push_str("    fi\n  fi\n");
        if wait {
            // A server without health checks shows "no check": that is up too.
            b.push_str(&format!(
                "  if ! cp_check; then\n    cp_n=0\n    until cp_hap 'show stat' | awk -F, -v b=\"$cp_b\" -v h=\"$cp_host\" -v s={status} '$1 == b && $2 == h && ($18 == s || (s == \"UP\" && $18 == \"no check\")) {{ f = 1 }} END {{ exit !f }}'; do\n      cp_n=$((cp_n+1)); [ $cp_n -ge {retries} ] && cp_fail \"server $cp_sv did not reach status {status} after {retries} checks\"; sleep {interval}\n    done\n  fi\n"
            ));
        }
        b.push_str("done < \"$CP_TMP/before\"\n");
        b.push_str(
            "cp_servers > \"$CP_TMP/after\"\n\
             cp_recf ret.servers \"$CP_TMP/after\"\n\
             cp_ret host \"$cp_host\"\ncp_ret state ",
        );
        b.push_str(&format!("{state}\n"));
        Ok(Plan::Remote(b))
    }
}
