//! `wait_for`: waits, on the host, for a port to open, close or drain, or for
//! a file to appear (optionally holding a pattern) or go away; with no port
//! and no path it just sleeps for `timeout`. Ports are probed with bash's
//! /dev/tcp (bash is essential on Debian) and drained connections are read
//! from /proc/net/tcp{,6}, so nothing needs installing.

use serde_json::Value;

use super::lineinfile::{FRESH_TMP, Use, py_to_ere};
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct WaitFor;

static SPEC: Spec = Spec::new(&[
    Arg::str("host"),
    Arg::int("port"),
    Arg::str("path"),
    Arg::str("state").choices(&["started", "stopped", "present", "absent", "drained"]),
    Arg::str("search_regex"),
    Arg::int("timeout"),
    Arg::int("delay"),
    Arg::int("sleep"),
    Arg::int("connect_timeout"),
    Arg::str("msg"),
    Arg::list("active_connection_states"),
    Arg::list("exclude_hosts"),
]);

/// TCP states as /proc/net/tcp numbers them.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];

/// How /proc/net/tcp{,6} write an address: 32-bit words in the kernel's
/// (little-endian) order, in hex; IPv4 also as an IPv4-mapped IPv6 address.
fn proc_net_forms(ip: std::net::IpAddr) -> Vec<String> {
    let words = |bytes: &[u8]| {
        bytes
            .chunks(4)
            .map(|w| {
                w.iter()
                    .rev()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
            })
            .collect::<String>()
    };
    match ip {
        std::net::IpAddr::V4(v4) => vec![words(&v4.octets()), words(&v4.to_ipv6_mapped().octets())],
        std::net::IpAddr::V6(v6) => vec![words(&v6.octets())],
    }
}

impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let m = "wait_for";
        let host = args.str_or("host", "127.0.0.1")?;
        let port = args.int("port")?;
        let path = args.str("path")?;
        let state = args.choice(
            "state",
            &["started", "stopped", "present", "absent", "drained"],
            "started",
        )?;
        let nonneg = |name: &str, default: i64| -> Result<i64, ModuleError> {
            let v = args.int(name)?.unwrap_or(default);
            if v < 0 {
                return Err(ModuleError::BadArg {
                    module: m,
                    arg: name.into(),
                    msg: format!("must not be negative, got {v}"),
                });
            }
            Ok(v)
        };
        let timeout = nonneg("timeout", 300)?;
        let delay = nonneg("delay", 0)?;
        let sleep = nonneg("sleep", 1)?.max(1);
        let ct = nonneg("connect_timeout", 5)?.max(1);
        let other = |msg: &str| ModuleError::Other {
            module: m,
            msg: msg.into(),
        };
        if port.is_some() && path.is_some() {
            return Err(other(
                "port and path parameter can not both be passed to wait_for",
            ));
        }
        if path.is_some() && matches!(state.as_str(), "stopped" | "drained") {
            return Err(other(&format!(
                "state={state} should only be used for checking a port in the wait_for module"
            )));
        }
        if port.is_none() && path.is_none() && state == "drained" {
            return Err(other("port is required with state=drained"));
        }
        if let Some(p) = port {
            if !(1..=65535).contains(&p) {
                return Err(ModuleError::BadArg {
                    module: m,
                    arg: "port".into(),
                    msg: format!("must be 1-65535, got {p}"),
                });
            }
        }
        let search = match args.str("search_regex")? {
            Some(r) => Some(py_to_ere(m, "search_regex", &r, Use::Lines)?),
            None => None,
        };
        let grep = search.as_ref().map(|e| {
            format!(
                "grep -q {}-E -e {}",
                if e.icase { "-i " } else { "" },
                sh::quote(&e.pattern)
            )
        });
        let mut b = format!(
            "{FRESH_TMP}cp_h={} cp_p={} cp_path={}\n",
            sh::quote(&host),
            port.map(|p| p.to_string()).unwrap_or_default(),
            sh::quote(path.as_deref().unwrap_or(""))
        );
        // One probe; its status says whether the wait is over.
        let (probe, what) = match (&path, port) {
            (Some(_), _) if matches!(state.as_str(), "absent") => (
                "[ ! -e \"$cp_path\" ]".to_string(),
                format!(
                    "Timeout when waiting for {} to be absent.",
                    path.as_deref().unwrap_or("")
                ),
            ),
            (Some(p), _) => (
                match &grep {
                    Some(g) => format!("[ -r \"$cp_path\" ] && {g} \"$cp_path\""),
                    None => "[ -e \"$cp_path\" ]".to_string(),
                },
                match &search {
                    Some(_) => format!(
                        "Timeout when waiting for search string {} in {p}",
                        args.str("search_regex")?.unwrap_or_default()
                    ),
                    None => format!("Timeout when waiting for file {p}"),
                },
            ),
            (None, Some(p)) => {
                b.push_str("command -v bash >/dev/null || cp_fail 'wait_for needs bash on the host to probe ports'\n");
                let connect = format!(
                    "timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\"' \"$cp_h\" \"$cp_p\" 2>/dev/null"
                );
                match state.as_str() {
                    "stopped" | "absent" => (
                        format!("! {connect}"),
                        format!("Timeout when waiting for {host}:{p} to stop."),
                    ),
                    "drained" => {
                        let wanted = args.list("active_connection_states")?;
                        let names: Vec<String> = if wanted.is_empty() {
                            [
                                "ESTABLISHED",
                                "FIN_WAIT1",
                                "FIN_WAIT2",
                                "SYN_RECV",
                                "SYN_SENT",
                                "TIME_WAIT",
                            ]
                            .iter()
                            .map(|s| s.to_string())
                            .collect()
                        } else {
                            wanted
                        };
                        let mut codes = Vec::new();
                        for n in &names {
                            let code = TCP_STATES
                                .iter()
                                .find(|(s, _)| s.eq_ignore_ascii_case(n))
                                .ok_or_else(|| ModuleError::BadArg {
                                module: m,
                                arg: "active_connection_states".into(),
                                msg: format!("unknown TCP state {n}"),
                            })?;
                            codes.push(code.1);
                        }
                        let mut excluded = Vec::new();
                        for h in args.list("exclude_hosts")? {
                            let ip: std::net::IpAddr =
                                h.parse().map_err(|_| ModuleError::BadArg {
                                    module: m,
                                    arg: "exclude_hosts".into(),
                                    msg: format!("expected IP addresses, got {h}"),
                                })?;
                            excluded.extend(proc_net_forms(ip));
                        }
                        (
                            format!(
                                "[ \"$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v port={:04X} -v states='{}' -v ex='{}' 'BEGIN {{ n = split(states, s, \",\"); for (i = 1; i <= n; i++) want[s[i]] = 1; n = split(ex, e, \",\"); for (i = 1; i <= n; i++) skip[e[i]] = 1 }} $2 ~ /:/ {{ split($2, a, \":\"); split($3, r, \":\"); if (a[2] == port && ($4 in want) && !(r[1] in skip)) c++ }} END {{ print c + 0 }}')\" = 0 ]",
                                p,
                                codes.join(","),
                                excluded.join(",")
                            ),
                            format!("Timeout when waiting for {host}:{p} to drain"),
                        )
                    }
                    _ => match &grep {
                        Some(g) => (
                            format!(
                                "timeout {ct} bash -c 'exec 3<>\"/dev/tcp/$0/$1\" && cat <&3' \"$cp_h\" \"$cp_p\" > \"$CP_TMP/data\" 2>/dev/null; {g} \"$CP_TMP/data\""
                            ),
                            format!(
                                "Timeout when waiting for search string {} in {host}:{p}",
                                args.str("search_regex")?.unwrap_or_default()
                            ),
                        ),
                        None => (connect, format!("Timeout when waiting for {host}:{p}")),
                    },
                }
            }
            (None, None) => ("false".to_string(), String::new()),
        };
        let msg = args.str("msg")?.unwrap_or(what);
        b.push_str(&format!(
            "cp_t0=$(date +%s)\n[ {delay} -gt 0 ] && sleep {delay}\nwhile :; do\n"
        ));
        if port.is_none() && path.is_none() {
            // Nothing to wait for: a plain sleep of `timeout` seconds.
            b.push_str(&format!(
                "  sleep {timeout}; cp_ret elapsed $(( $(date +%s) - cp_t0 )); exit 0\n"
            ));
        } else {
            b.push_str(&format!(
                "  if {probe}; then cp_ret elapsed $(( $(date +%s) - cp_t0 )); exit 0; fi\n  cp_now=$(date +%s)\n  if [ $((cp_now - cp_t0)) -ge {timeout} ]; then cp_ret elapsed $((cp_now - cp_t0)); cp_fail {}; fi\n  cp_left=$(( {timeout} - (cp_now - cp_t0) ))\n  if [ $cp_left -lt {sleep} ]; then sleep $cp_left; else sleep {sleep}; fi\n",
                sh::quote(&msg)
            ));
        }
        b.push_str("done\n");
        Ok(Plan::Remote(b))
    }
    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(e) = o
            .ret
            .get("elapsed")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
        {
            o.ret.insert("elapsed".into(), e.into());
        }
        let state = args
            .str("state")
            .ok()
            .flatten()
            .unwrap_or_else(|| "started".into());
        o.ret.insert("state".into(), state.into());
        if let Ok(Some(p)) = args.int("port") {
            o.ret.insert("port".into(), p.into());
        }
        if let Ok(Some(p)) = args.str("path") {
            o.ret.insert("path".into(), p.into());
        }
        if let Ok(Some(r)) = args.str("search_regex") {
            o.ret.insert("search_regex".into(), r.into());
            o.ret
                .insert("match_groups".into(), Value::Array(Vec::new()));
            o.ret
                .insert("match_groupdict".into(), Value::Object(Default::default()));
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::proc_net_forms;

    #[test]
    fn addresses_as_proc_net_writes_them() {
        assert_eq!(
            proc_net_forms("127.0.0.1".parse().unwrap()),
            vec!["0100007F", "0000000000000000FFFF00000100007F"]
        );
        assert_eq!(
            proc_net_forms("::1".parse().unwrap()),
            vec!["00000000000000000000000001000000"]
        );
    }
}
