//! `mount` (ansible.posix): an fstab entry and the mount it describes.
//!
//! The fstab keeps exactly one entry per mount point (changed in place,
//! duplicates dropped). The new fstab is checked with `findmnt --verify`
//! before it replaces the old one: a change that adds errors is refused.

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Mount;

const STATES: &[&str] = &[
    "mounted",
    "present",
    "unmounted",
    "absent",
    "remounted",
    "absent_from_fstab",
];

static SPEC: Spec = Spec::new(&[
    Arg::str("path").required().aliases(&["name"]),
    Arg::str("src"),
    Arg::str("fstype"),
    Arg::str("opts"),
    Arg::str("dump"),
    Arg::str("passno"),
    Arg::str("state").required().choices(STATES),
    Arg::bool("backup"),
    Arg::str("fstab"),
    Arg::bool("boot"),
]);

/// fstab fields cannot hold blanks: they are written as octal escapes.
fn escape(s: &str) -> String {
    s.replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012")
}

fn missing(arg: &str, state: &str) -> ModuleError {
    ModuleError::Missing {
        module: "mount",
        arg: format!("{arg} (needed for state={state})"),
    }
}

/// Rewrites fstab (argument 1) for one mount point: `want` replaces the first
/// entry for `mp`, later entries for it go; absent drops them all.
const AWK_FSTAB: &str = r#"
BEGIN { mp = ENVIRON["mp"]; want = ENVIRON["want"] }
function norm(line,   f, n) {
  n = split(line, f, /[ \t]+/)
  if (f[1] == "") { for (i = 1; i < n; i++) f[i] = f[i+1]; n-- }
  return f[1] " " f[2] " " f[3] " " (f[4] == "" ? "defaults" : f[4]) " " (f[5] == "" ? "0" : f[5]) " " (f[6] == "" ? "0" : f[6])
}
{
  sub(/\r$/, "")
  if ($0 ~ /^[ \t]*(#|$)/ || $2 != mp) { print; next }
  if (want == "" || done) next
  done = 1
  if (norm($0) == norm(want)) print; else print want
}
END { if (want != "" && !done) print want }
"#;

impl Module for Mount {
    fn name(&self) -> &'static str {
        "mount"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let mut path = args.req_str("path")?;
        while path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        if !path.starts_with('/') {
            return Err(ModuleError::BadArg {
                module: "mount",
                arg: "path".into(),
                msg: format!("must be an absolute path, got {path:?}"),
            });
        }
        let state = args.choice("state", STATES, "mounted")?;
        let fstab = args.str_or("fstab", "/etc/fstab")?;
        let mut opts = args.str_or("opts", "defaults")?;
        if !args.bool("boot", true)? && !opts.split(',').any(|o| o == "noauto") {
            opts = if opts == "defaults" {
                "noauto".into()
            } else {
                format!("{opts},noauto")
            };
        }
        let dump = args.str_or("dump", "0")?;
        let passno = args.str_or("passno", "0")?;
        let writes_entry = matches!(state.as_str(), "mounted" | "present");
        let removes_entry = matches!(state.as_str(), "absent" | "absent_from_fstab");
        let want = if writes_entry {
            let src = args.str("src")?.ok_or_else(|| missing("src", &state))?;
            let fstype = args
                .str("fstype")?
                .ok_or_else(|| missing("fstype", &state))?;
            for (name, v) in [("opts", &opts), ("dump", &dump), ("passno", &passno)] {
                if v.is_empty() || v.contains(char::is_whitespace) {
                    return Err(ModuleError::BadArg {
                        module: "mount",
                        arg: name.into(),
                        msg: format!("must be one word, got {v:?}"),
                    });
                }
            }
            format!(
                "{} {} {} {opts} {dump} {passno}",
                escape(&src),
                escape(&path),
                escape(&fstype)
            )
        } else {
            String::new()
        };
        let (p, f) = (sh::quote(&path), sh::quote(&fstab));
        let mut b = format!("cp_mp={p}\ncp_fs={f}\n");
        b.push_str(&format!("cp_ret name {p}\ncp_ret fstab {f}\n"));
        // Mounted: any mount there but the autofs trigger of x-systemd.automount.
        b.push_str("cp_is_mounted() { findmnt -n -o FSTYPE --mountpoint \"$cp_mp\" 2>/dev/null | grep -qv '^autofs$'; }\n");
        b.push_str("cp_fchg=0\n");
        if writes_entry || removes_entry {
            b.push_str("if [ -f \"$cp_fs\" ]; then cp -- \"$cp_fs\" \"$CP_TMP/old\" || cp_fail \"cannot read $cp_fs\"; else : > \"$CP_TMP/old\"; fi\n");
            b.push_str(&format!(
                "mp={} want={} awk {} \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n",
                sh::quote(&escape(&path)),
                sh::quote(&want),
                sh::quote(AWK_FSTAB)
            ));
            b.push_str("cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\" || cp_fchg=1\n");
            if writes_entry {
                // The mount point exists before the check, as mounted needs it anyway.
                if state == "mounted" {
                    b.push_str("if [ ! -d \"$cp_mp\" ] && ! cp_check; then mkdir -p -- \"$cp_mp\" || cp_fail \"Error making dir $cp_mp\"; fi\n");
                }
                b.push_str(VERIFY);
            }
            let backup = u8::from(args.bool("backup", false)?);
            b.push_str(&format!(
                "if [ $cp_fchg = 1 ]; then\n  cp_put \"$CP_TMP/new\" \"$cp_fs\" '' '' '' {backup}\n  if ! cp_check && [ \"$cp_fs\" = /etc/fstab ] && [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1; fi\nfi\n"
            ));
        }
        match state.as_str() {
            "mounted" => {
                b.push_str("if [ ! -d \"$cp_mp\" ]; then cp_changed; cp_check && exit 0; mkdir -p -- \"$cp_mp\" || cp_fail \"Error making dir $cp_mp\"; fi\n");
                let src = args.str("src")?.unwrap_or_default();
                let fstype = args.str("fstype")?.unwrap_or_default();
                b.push_str(&format!(
                    "cp_wsrc={}\ncase \"$cp_wsrc\" in UUID=*|LABEL=*|PARTUUID=*|PARTLABEL=*) cp_wsrc=$(findfs \"$cp_wsrc\" 2>/dev/null || printf '%s' \"$cp_wsrc\") ;; esac\ncp_wtype={}\n",
                    sh::quote(&src),
                    sh::quote(&fstype)
                ));
                b.push_str("if ! cp_is_mounted; then\n  cp_changed\n  cp_check || mount -- \"$cp_mp\" >\"$CP_TMP/out\" 2>&1 || { cp_recf ret.stderr \"$CP_TMP/out\"; cp_fail \"Error mounting $cp_mp: $(cat \"$CP_TMP/out\")\"; }\nelif [ $cp_fchg = 1 ]; then\n  cp_changed\n");
                // Another source or type cannot be had by remounting.
                b.push_str("  cp_cur=$(findmnt -n -o SOURCE,FSTYPE --mountpoint \"$cp_mp\" | awk '$2 != \"autofs\" { s = $1 \" \" $2 } END { print s }')\n  if [ \"$cp_cur\" != \"$cp_wsrc $cp_wtype\" ] && ! cp_check; then\n    { umount -- \"$cp_mp\" && mount -- \"$cp_mp\"; } >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error mounting $cp_mp again: $(cat \"$CP_TMP/out\")\"\n  else\n");
                b.push_str(REMOUNT);
                b.push_str("  fi\nfi\n");
            }
            "unmounted" | "absent" => {
                b.push_str("if cp_is_mounted; then\n  cp_changed\n  if ! cp_check; then\n");
                if state == "absent" {
                    b.push_str(STOP_AUTOMOUNT);
                }
                b.push_str("    umount -- \"$cp_mp\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error unmounting $cp_mp: $(cat \"$CP_TMP/out\")\"\n  fi\nfi\n");
                if state == "absent" {
                    b.push_str("if [ -d \"$cp_mp\" ]; then\n  cp_changed\n  if ! cp_check; then\n");
                    b.push_str(STOP_AUTOMOUNT);
                    b.push_str("    rmdir -- \"$cp_mp\" 2>\"$CP_TMP/out\" || cp_fail \"Error rmdir $cp_mp: $(cat \"$CP_TMP/out\")\"\n  fi\nfi\n");
                }
            }
            "remounted" => {
                b.push_str("if cp_is_mounted; then\n  cp_changed\n");
                b.push_str(REMOUNT);
                b.push_str("fi\n");
            }
            _ => {}
        }
        Ok(Plan::Remote(b))
    }

    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        for k in ["src", "fstype"] {
            if let Ok(Some(v)) = args.str(k) {
                o.ret.insert(k.into(), Value::String(v));
            }
        }
        for (k, d) in [("opts", "defaults"), ("dump", "0"), ("passno", "0")] {
            let v = args.str_or(k, d).unwrap_or_else(|_| d.into());
            o.ret.insert(k.into(), Value::String(v));
        }
        o
    }
}

/// Refuses a new fstab that has more errors than the old one. A missing
/// mount point does not count: mounted creates it and systemd would too.
const VERIFY: &str = r#"if command -v findmnt >/dev/null; then
  cp_errs() { findmnt --verify --tab-file "$1" >"$CP_TMP/verify" 2>&1; grep -E '\[E\]|parse error at' "$CP_TMP/verify" | grep -vc 'target: No such file or directory'; }
  cp_e_old=$(cp_errs "$CP_TMP/old"); cp_e_new=$(cp_errs "$CP_TMP/new")
  if [ "$cp_e_new" -gt "$cp_e_old" ]; then cp_recf ret.verify "$CP_TMP/verify"; cp_fail "the new fstab does not verify (findmnt --verify): $(grep -E '\[E\]|parse error' "$CP_TMP/verify" | tr '\n' ' ')"; fi
fi
"#;

/// Remounts with the new options; a remount that the filesystem refuses
/// becomes an unmount and a mount, as in Ansible.
const REMOUNT: &str = "  if ! cp_check; then\n    mount -o remount -- \"$cp_mp\" >\"$CP_TMP/out\" 2>&1 || { umount -- \"$cp_mp\" && mount -- \"$cp_mp\"; } >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error remounting $cp_mp: $(cat \"$CP_TMP/out\")\"\n  fi\n";

/// An x-systemd.automount trigger would mount the path again or keep it busy.
const STOP_AUTOMOUNT: &str = "    if [ -d /run/systemd/system ] && command -v systemd-escape >/dev/null; then\n      cp_am=$(systemd-escape -p --suffix=automount \"$cp_mp\")\n      systemctl stop \"$cp_am\" >/dev/null 2>&1\n    fi\n";
