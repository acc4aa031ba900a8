//! `ssh_keypair` (community.crypto.openssh_keypair): an SSH key pair made
//! once with ssh-keygen on the host, never regenerated while it is readable
//! and of the asked type and size. The default type here is ed25519.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct SshKeypair;

static SPEC: Spec = Spec::new(&[
    Arg::str("path").required(),
    Arg::str("type").choices(&["rsa", "dsa", "ecdsa", "ed25519"]),
    Arg::int("size"),
    Arg::str("comment"),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::bool("force"),
    Arg::str("regenerate").choices(REGENERATE),
]);

const REGENERATE: &[&str] = &[
    "never",
    "fail",
    "partial_idempotence",
    "full_idempotence",
    "always",
];

impl Module for SshKeypair {
    fn name(&self) -> &'static str {
        "ssh_keypair"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let path = args.req_str("path")?;
        let p = sh::quote(&path);
        let pubp = sh::quote(&format!("{path}.pub"));
        let state = args.choice("state", &["present", "absent"], "present")?;
        let mut b = format!("cp_ret filename {p}\n");
        if state == "absent" {
            b.push_str(&format!(
                "if [ -e {p} ] || [ -e {pubp} ]; then cp_changed; cp_check || rm -f -- {p} {pubp} || cp_fail 'cannot remove the key pair'; fi\n"
            ));
            return Ok(Plan::Remote(b));
        }
        let kind = args.choice("type", &["rsa", "dsa", "ecdsa", "ed25519"], "ed25519")?;
        let size = match (args.int("size")?, kind.as_str()) {
            (Some(s), "rsa" | "ecdsa") => s.to_string(),
            (None, "rsa") => "4096".into(),
            (None, "ecdsa") => "256".into(),
            (_, "dsa") => "1024".into(),
            _ => String::new(),
        };
        let mut regen = args.choice("regenerate", REGENERATE, "partial_idempotence")?;
        if args.bool("force", false)? {
            regen = "always".into();
        }
        let comment = args.str("comment")?;
        b.push_str("command -v ssh-keygen >/dev/null || cp_fail 'ssh-keygen is not installed on the host'\n");
        b.push_str(&format!("cp_regen=0\nif [ -f {p} ]; then\n"));
        b.push_str(&format!(
            "  if ssh-keygen -y -P '' -f {p} > \"$CP_TMP/pub\" 2>/dev/null; then\n    cp_info=$(ssh-keygen -l -f {p}) || cp_fail 'ssh-keygen cannot read the key'\n    cp_size=${{cp_info%% *}}\n    cp_type=$(printf '%s' \"$cp_info\" | sed 's/.*(\\([A-Z0-9]*\\))$/\\1/' | tr A-Z a-z)\n"
        ));
        b.push_str(&format!(
            "    if [ \"$cp_type\" != {kind} ] || {{ [ -n {size} ] && [ \"$cp_size\" != {size} ]; }}; then\n      case {regen} in\n        never) ;;\n        fail) cp_fail \"Key has wrong type and/or size (found $cp_type $cp_size). Will not proceed.\" ;;\n        *) cp_regen=1 ;;\n      esac\n    fi\n",
            size = sh::quote(&size),
        ));
        b.push_str(&format!(
            "  else\n    case {regen} in\n      full_idempotence|always) cp_regen=1 ;;\n      *) cp_fail \"Unable to read the key at {}: protected by a passphrase or not an SSH private key\" ;;\n    esac\n  fi\nelse\n  cp_regen=1\nfi\n",
            path.replace(['"', '$', '`', '\\'], "")
        ));
        if regen == "always" {
            b.push_str("cp_regen=1\n");
        }
        // Generate.
        let mut gen_cmd = format!("ssh-keygen -q -t {kind} -N ''");
        if !size.is_empty() {
            gen_cmd.push_str(&format!(" -b {size}"));
        }
        if let Some(c) = &comment {
            gen_cmd.push_str(&format!(" -C {}", sh::quote(c)));
        }
        gen_cmd.push_str(&format!(" -f {p}"));
        b.push_str(&format!(
            "if [ $cp_regen = 1 ]; then\n  cp_changed\n  cp_check && exit 0\n  rm -f -- {p} {pubp}\n  {gen_cmd} </dev/null >\"$CP_TMP/gen\" 2>&1 || {{ cp_recf ret.stderr \"$CP_TMP/gen\"; cp_fail 'ssh-keygen could not generate the key'; }}\n  ssh-keygen -y -P '' -f {p} > \"$CP_TMP/pub\" || cp_fail 'cannot read the new key'\nfi\n"
        ));
        // A key that stays: its comment and its public half.
        if let Some(c) = &comment {
            b.push_str(&format!(
                "cp_cur_c=$(cut -d' ' -f3- \"$CP_TMP/pub\")\nif [ $cp_regen = 0 ] && [ \"$cp_cur_c\" != {c} ]; then\n  cp_changed\n  if cp_check; then cp_ret comment {c}; else ssh-keygen -q -c -C {c} -P '' -f {p} >/dev/null 2>&1 || cp_fail 'cannot change the comment'; ssh-keygen -y -P '' -f {p} > \"$CP_TMP/pub\"; fi\nfi\n",
                c = sh::quote(c)
            ));
        }
        b.push_str(&format!(
            "if [ ! -f {pubp} ] || ! cmp -s {pubp} \"$CP_TMP/pub\"; then\n  cp_changed\n  cp_check || {{ cat \"$CP_TMP/pub\" > {pubp} && chmod 0644 {pubp}; }} || cp_fail 'cannot write the public key'\nfi\n"
        ));
        let mode = sh::quote(&args.mode("mode")?.unwrap_or_else(|| "0600".into()));
        let owner = sh::quote(&args.str("owner")?.unwrap_or_default());
        let group = sh::quote(&args.str("group")?.unwrap_or_default());
        b.push_str(&format!(
            "cp_check && [ ! -f {p} ] && exit 0\ncp_attrs {p} {mode} {owner} {group}\n[ -f {pubp} ] && cp_attrs {pubp} '' {owner} {group}\n"
        ));
        b.push_str(&format!(
            "cp_rec ret.public_key \"$(cut -d' ' -f1-2 \"$CP_TMP/pub\")\"\ncp_rec ret.comment \"$(cut -d' ' -f3- \"$CP_TMP/pub\")\"\ncp_info=$(ssh-keygen -l -f {p} 2>/dev/null) && {{ cp_ret size \"${{cp_info%% *}}\"; cp_ret fingerprint \"$(printf '%s' \"$cp_info\" | cut -d' ' -f2)\"; cp_ret type \"$(printf '%s' \"$cp_info\" | sed 's/.*(\\([A-Z0-9]*\\))$/\\1/' | tr A-Z a-z)\"; }}\n"
        ));
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(n) = o
            .ret
            .get("size")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<i64>().ok())
        {
            o.ret.insert("size".into(), n.into());
        }
        o
    }
}
