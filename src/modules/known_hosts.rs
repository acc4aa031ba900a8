//! `known_hosts` (ansible.builtin): one host's key in a known_hosts file.
//!
//! A host has at most one line per key type: a new key of a type the host
//! already has replaces that line where it stands. Hashed entries are found
//! with `ssh-keygen -F` when the file has any.

use super::authorized_key::{AWK_KEYID, KEY_TYPES, blob_matches};
use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct KnownHosts;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required().aliases(&["host"]),
    Arg::str("key"),
    Arg::str("path"),
    Arg::bool("hash_host"),
    Arg::str("state").choices(&["present", "absent"]),
]);

fn bad(arg: &str, msg: impl Into<String>) -> ModuleError {
    ModuleError::BadArg {
        module: "known_hosts",
        arg: arg.into(),
        msg: msg.into(),
    }
}

/// The key line, checked: `[@marker] hosts type blob [comment]`, for `host`.
fn check_key(host: &str, key: &str) -> Result<String, ModuleError> {
    let lines: Vec<&str> = key.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() != 1 {
        return Err(bad("key", "must be exactly one known_hosts line"));
    }
    let line = lines[0].trim();
    let mut fields: Vec<&str> = line.split_whitespace().collect();
    if fields.first().is_some_and(|f| f.starts_with('@')) {
        fields.remove(0);
    }
    if fields.len() < 3 || !KEY_TYPES.contains(&fields[1]) || !blob_matches(fields[1], fields[2]) {
        return Err(bad(
            "key",
            format!("invalid key specified (expected 'HOST TYPE KEY'): {line}"),
        ));
    }
    let hosts = fields[0];
    if !hosts.starts_with("|1|") && !hosts.split(',').any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(bad(
            "key",
            format!("Host parameter ({host}) does not match hostname in supplied key ({hosts})"),
        ));
    }
    Ok(line.to_string())
}

/// Rewrites the file (argument 2) for the wanted line (argument 1, may be absent).
const AWK_MERGE: &str = r#"
function marker(line) { return (line ~ /^@/) ? substr(line, 1, index(line, " ") - 1) : "" }
function hostfield(line,   f) { split(line, f, /[ \t]+/); return (line ~ /^@/) ? f[2] : f[1] }
function mytype(line,   id) { id = keyid(line); return marker(line) " " substr(id, 1, index(id, " ") - 1) }
function hostmatch(line,   n, h, i) {
  n = split(tolower(hostfield(line)), h, ",")
  for (i = 1; i <= n; i++) if (h[i] == host) return 1
  return 0
}
BEGIN { host = ENVIRON["host"]; hashed = ENVIRON["hashed"] }
FNR == NR { want = $0; wid = keyid($0); wtype = mytype($0); next }
{
  sub(/\r$/, "")
  if ($0 ~ /^[ \t]*(#|$)/ || !(hostmatch($0) || index(hashed, " " FNR " "))) { print; next }
  if (state == "absent") next
  if (keyid($0) == wid) { if (!done) print; done = 1; next }
  if (mytype($0) == wtype) { if (!done) print want; done = 1; next }
  print
}
END { if (state == "present" && !done) print want }
"#;

impl Module for KnownHosts {
    fn name(&self) -> &'static str {
        "known_hosts"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let host = args.req_str("name")?.to_ascii_lowercase();
        let state = args.choice("state", &["present", "absent"], "present")?;
        let want = match args.str("key")? {
            Some(k) => Some(check_key(&host, &k)?),
            None if state == "present" => {
                return Err(bad("key", "is required when state is present"));
            }
            None => None,
        };
        let mut b = String::new();
        match args.str("path")? {
            Some(p) => match p.strip_prefix("~/") {
                Some(rest) => b.push_str(&format!("cp_kh=\"$HOME\"/{}\n", sh::quote(rest))),
                None => b.push_str(&format!("cp_kh={}\n", sh::quote(&p))),
            },
            None => b.push_str("cp_kh=\"$HOME/.ssh/known_hosts\"\n"),
        }
        b.push_str("cp_ret path \"$cp_kh\"\n");
        let mut data = want.unwrap_or_default().into_bytes();
        data.push(b'\n');
        b.push_str(&sh::write_file("\"$CP_TMP/want\"", &data));
        if args.bool("hash_host", false)? {
            b.push_str("ssh-keygen -H -f \"$CP_TMP/want\" >/dev/null 2>&1 || cp_fail 'hash_host needs ssh-keygen on the host'\n");
        }
        b.push_str("if [ -f \"$cp_kh\" ]; then cp -- \"$cp_kh\" \"$CP_TMP/old\" || cp_fail \"cannot read $cp_kh\"; else : > \"$CP_TMP/old\"; fi\n");
        // Hashed entries cannot be matched by name; ssh-keygen knows their lines.
        b.push_str(&format!(
            "cp_hashed=' '\nif grep -q '^|1|' \"$CP_TMP/old\" && command -v ssh-keygen >/dev/null; then\n  cp_hashed=\" $(ssh-keygen -F {h} -f \"$CP_TMP/old\" 2>/dev/null | sed -n 's/^# Host .* found: line \\([0-9]*\\).*/\\1/p' | tr '\\n' ' ')\"\nfi\n",
            h = sh::quote(&host)
        ));
        b.push_str(&format!(
            "host={} hashed=\"$cp_hashed\" awk -v state={state} {} \"$CP_TMP/want\" \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n",
            sh::quote(&host),
            sh::quote(&format!("{AWK_KEYID}{AWK_MERGE}"))
        ));
        b.push_str("cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\" && exit 0\n");
        b.push_str("cp_dir=$(dirname -- \"$cp_kh\")\n");
        b.push_str("if [ ! -d \"$cp_dir\" ] && ! cp_check; then mkdir -p -m 0700 -- \"$cp_dir\" || cp_fail \"cannot create $cp_dir\"; fi\n");
        b.push_str("if cp_check && [ ! -d \"$cp_dir\" ]; then cp_diff \"$cp_kh\" \"$cp_kh\" \"$CP_TMP/new\"; cp_changed; exit 0; fi\n");
        b.push_str("cp_put \"$CP_TMP/new\" \"$cp_kh\" '' '' '' 0\n");
        Ok(Plan::Remote(b))
    }
}
