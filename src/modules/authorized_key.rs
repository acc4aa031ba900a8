//! `authorized_key` (ansible.posix): SSH keys in a user's authorized_keys.
//!
//! The keys given are parsed here; the host's file is rewritten by one awk
//! pass that knows a key by its type and blob, so a key is never listed twice
//! and a changed option or comment replaces the line where it stands.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct AuthorizedKey;

static SPEC: Spec = Spec::new(&[
    Arg::str("user").required(),
    Arg::str("key").required(),
    Arg::str("path"),
    Arg::bool("manage_dir"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::str("key_options"),
    Arg::bool("exclusive"),
    Arg::str("comment"),
    Arg::bool("follow"),
]);

/// Key types OpenSSH accepts in authorized_keys and known_hosts.
pub(super) const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
];

/// The awk function that finds a line's key: the first field naming a key
/// type, followed by its blob. Shared with known_hosts.
pub(super) const AWK_KEYID: &str = r#"function keyid(line,   n, f, i) {
  n = split(line, f, /[ \t]+/)
  for (i = 1; i < n; i++)
    if (f[i] ~ /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-ecdsa-sha2-nistp256@openssh\.com|sk-ssh-ed25519@openssh\.com)(-cert-v01@openssh\.com)?$/ && f[i+1] ~ /^AAAA/)
      return f[i] " " f[i+1]
  return ""
}
"#;

/// One public key line: `[options] type blob [comment]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeyLine {
    pub options: Option<String>,
    pub kind: String,
    pub blob: String,
    pub comment: Option<String>,
}

impl KeyLine {
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(o) = &self.options {
            s.push_str(o);
            s.push(' ');
        }
        s.push_str(&self.kind);
        s.push(' ');
        s.push_str(&self.blob);
        if let Some(c) = &self.comment {
            s.push(' ');
            s.push_str(c);
        }
        s
    }
}

/// Checks that `blob` is base64 whose first field names `kind`, as in every
/// OpenSSH public key; catches truncated or pasted-wrong keys early.
pub(super) fn blob_matches(kind: &str, blob: &str) -> bool {
    use base64::Engine;
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(blob) else {
        return false;
    };
    if raw.len() < 4 {
        return false;
    }
    let n = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
    raw.get(4..4 + n) == Some(kind.as_bytes())
}

/// Parses an authorized_keys line; options may hold quoted spaces.
pub(super) fn parse_key_line(line: &str) -> Result<KeyLine, String> {
    let line = line.trim();
    let first = line.split_whitespace().next().unwrap_or("");
    let (options, rest) = if KEY_TYPES.contains(&first) {
        (None, line)
    } else {
        let mut quoted = false;
        let mut end = line.len();
        for (i, c) in line.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ' ' | '\t' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        (Some(line[..end].to_string()), line[end..].trim_start())
    };
    let mut parts = rest.splitn(3, [' ', '\t']);
    let kind = parts.next().unwrap_or("").to_string();
    let blob = parts.next().unwrap_or("").trim().to_string();
    let comment = parts
        .next()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if !KEY_TYPES.contains(&kind.as_str()) {
        return Err(format!("invalid key specified: {line}"));
    }
    if !blob_matches(&kind, &blob) {
        return Err(format!(
            "invalid key specified (bad {kind} key data): {line}"
        ));
    }
    Ok(KeyLine {
        options,
        kind,
        blob,
        comment,
    })
}

fn bad(arg: &str, msg: impl Into<String>) -> ModuleError {
    ModuleError::BadArg {
        module: "authorized_key",
        arg: arg.into(),
        msg: msg.into(),
    }
}

/// The lines the file must hold, after `key_options` and `comment` apply.
fn wanted_lines(args: &Args) -> Result<Vec<String>, ModuleError> {
    let key = args.req_str("key")?;
    if key.starts_with("http://") || key.starts_with("https://") {
        return Err(bad("key", "fetching keys from a URL is not supported"));
    }
    let opts = args.str("key_options")?;
    let comment = args.str("comment")?;
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in key.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let mut k = parse_key_line(t).map_err(|m| bad("key", m))?;
        if let Some(o) = &opts {
            k.options = Some(o.trim().to_string()).filter(|o| !o.is_empty());
        }
        if let Some(c) = &comment {
            k.comment = Some(c.clone()).filter(|c| !c.is_empty());
        }
        if seen.insert(format!("{} {}", k.kind, k.blob)) {
            out.push(k.render());
        }
    }
    if out.is_empty() {
        return Err(bad("key", "no key given"));
    }
    Ok(out)
}

/// Rewrites the file from `old` (argument 2) with the wanted lines (argument 1).
const AWK_MERGE: &str = r#"
FNR == NR { want[++nw] = $0; wid[keyid($0)] = nw; next }
{
  sub(/\r$/, "")
  id = keyid($0)
  if (id != "" && (id in wid)) {
    if (state == "absent" || (id in done)) next
    done[id] = 1
    print want[wid[id]]
    next
  }
  if (exclusive == 1 && state == "present") next
  print
}
END {
  if (state == "present")
    for (i = 1; i <= nw; i++) if (!(keyid(want[i]) in done)) print want[i]
}
"#;

impl Module for AuthorizedKey {
    fn name(&self) -> &'static str {
        "authorized_key"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let user = args.req_str("user")?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let exclusive = args.bool("exclusive", false)?;
        let manage_dir = args.bool("manage_dir", true)?;
        let follow = args.bool("follow", false)?;
        let want = wanted_lines(args)?;
        let u = sh::quote(&user);
        let mut b = String::new();
        b.push_str(&format!(
            "cp_pw=$(getent passwd {u}) || cp_fail {}\n",
            sh::quote(&format!("Failed to lookup user {user}"))
        ));
        b.push_str("cp_home=$(printf '%s' \"$cp_pw\" | cut -d: -f6)\ncp_uid=$(printf '%s' \"$cp_pw\" | cut -d: -f3)\ncp_gid=$(printf '%s' \"$cp_pw\" | cut -d: -f4)\n");
        match args.str("path")? {
            Some(p) => {
                // `~/` means the user's home, as in Ansible.
                let p = match p.strip_prefix("~/") {
                    Some(rest) => format!("\"$cp_home\"/{}", sh::quote(rest)),
                    None => sh::quote(&p),
                };
                b.push_str(&format!("cp_kf={p}\n"));
            }
            None => b.push_str("cp_kf=\"$cp_home/.ssh/authorized_keys\"\n"),
        }
        if follow {
            b.push_str("cp_kf=$(readlink -m -- \"$cp_kf\")\n");
        }
        b.push_str("cp_ret keyfile \"$cp_kf\"\n");
        let mut data = want.join("\n").into_bytes();
        data.push(b'\n');
        b.push_str(&sh::write_file("\"$CP_TMP/want\"", &data));
        b.push_str("if [ -f \"$cp_kf\" ]; then cp -- \"$cp_kf\" \"$CP_TMP/old\" || cp_fail \"cannot read $cp_kf\"; else : > \"$CP_TMP/old\"; fi\n");
        b.push_str(&format!(
            "awk -v state={state} -v exclusive={} {} \"$CP_TMP/want\" \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n",
            u8::from(exclusive),
            sh::quote(&format!("{AWK_KEYID}{AWK_MERGE}"))
        ));
        // Ansible touches directory and file permissions only when it writes.
        b.push_str("cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\" && exit 0\n");
        b.push_str("[ -f \"$cp_kf\" ] || [ -s \"$CP_TMP/new\" ] || exit 0\n");
        b.push_str("if cp_check; then cp_diff \"$cp_kf\" \"$cp_kf\" \"$CP_TMP/new\"; cp_changed; exit 0; fi\n");
        b.push_str("cp_dir=$(dirname -- \"$cp_kf\")\n");
        if manage_dir {
            b.push_str("if [ ! -d \"$cp_dir\" ]; then mkdir -p -- \"$cp_dir\" || cp_fail \"cannot create $cp_dir\"; fi\nchown \"$cp_uid:$cp_gid\" \"$cp_dir\" && chmod 0700 \"$cp_dir\" || cp_fail \"cannot set owner and mode of $cp_dir\"\n");
        } else {
            b.push_str("[ -d \"$cp_dir\" ] || mkdir -p -- \"$cp_dir\" || cp_fail \"cannot create $cp_dir\"\n");
        }
        b.push_str("cp_put \"$CP_TMP/new\" \"$cp_kf\" 0600 \"$cp_uid\" \"$cp_gid\" 0\n");
        Ok(Plan::Remote(b))
    }

    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        for k in ["user", "key", "key_options", "path", "comment"] {
            let v = args.str(k).ok().flatten().map(Value::String);
            o.ret.insert(k.into(), v.unwrap_or(Value::Null));
        }
        let b = |k: &str, d: bool| Value::Bool(args.bool(k, d).unwrap_or(d));
        o.ret.insert("exclusive".into(), b("exclusive", false));
        o.ret.insert("manage_dir".into(), b("manage_dir", true));
        o.ret.insert("follow".into(), b("follow", false));
        o.ret.insert(
            "state".into(),
            Value::String(args.str_or("state", "present").unwrap_or_default()),
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIP/qKU8/cCJ9XwwoWmC9TQ7EjuWmHONpyg15vC7Y37iR";

    #[test]
    fn options_with_quoted_spaces_are_one_field() {
        let k = parse_key_line(&format!(
            "command=\"echo a b\",no-pty ssh-ed25519 {ED} me@there"
        ))
        .unwrap();
        assert_eq!(k.options.as_deref(), Some("command=\"echo a b\",no-pty"));
        assert_eq!(k.kind, "ssh-ed25519");
        assert_eq!(k.comment.as_deref(), Some("me@there"));
    }

    #[test]
    fn a_blob_of_another_type_is_refused() {
        assert!(parse_key_line(&format!("ssh-rsa {ED}")).is_err());
        assert!(parse_key_line("ssh-ed25519 notbase64").is_err());
        assert!(parse_key_line("garbage").is_err());
    }
}
