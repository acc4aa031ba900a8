//! `swapfile` (condaplay's own): a swap file that is allocated, private,
//! formatted, active and in fstab with exactly one line
//! `PATH none swap sw[,pri=N] 0 0`; or, absent, none of that.

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Swapfile;

static SPEC: Spec = Spec::new(&[
    Arg::str("path").required().aliases(&["name"]),
    Arg::str("size"),
    Arg::int("priority"),
    Arg::str("state").choices(&["present", "absent"]),
]);

/// `2G`, `512M`, `1024K`, `1073741824`: bytes, whole pages of 4 KiB.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    };
    let n: u64 = num.parse().ok()?;
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        "T" | "TB" | "TIB" => 1 << 40,
        _ => return None,
    };
    let bytes = n.checked_mul(mult)?;
    (bytes >= 40960 && bytes % 4096 == 0).then_some(bytes)
}

/// Rewrites fstab: one line for the swap file (argument 1 is fstab).
const AWK_FSTAB: &str = r#"
BEGIN { path = ENVIRON["path"]; want = ENVIRON["want"] }
{
  sub(/\r$/, "")
  if ($0 ~ /^[ \t]*(#|$)/ || $1 != path) { print; next }
  if (want == "" || done) next
  done = 1
  print want
}
END { if (want != "" && !done) print want }
"#;

impl Module for Swapfile {
    fn name(&self) -> &'static str {
        "swapfile"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let path = args.req_str("path")?;
        if !path.starts_with('/') || path.contains(char::is_whitespace) {
            return Err(ModuleError::BadArg {
                module: "swapfile",
                arg: "path".into(),
                msg: format!("must be an absolute path without blanks, got {path:?}"),
            });
        }
        let state = args.choice("state", &["present", "absent"], "present")?;
        let p = sh::quote(&path);
        let mut b = format!("cp_sw={p}\ncp_ret path {p}\n");
        b.push_str("cp_active() { p=\"$cp_sw\" awk 'BEGIN { p = ENVIRON[\"p\"] } NR > 1 && $1 == p { found = 1 } END { exit !found }' /proc/swaps; }\n");
        b.push_str("if [ -f /etc/fstab ]; then cp -- /etc/fstab \"$CP_TMP/old\"; else : > \"$CP_TMP/old\"; fi\n");
        let fstab_step = |want: &str| {
            format!(
                "path=\"$cp_sw\" want={} awk {} \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\ncmp -s \"$CP_TMP/old\" \"$CP_TMP/new\" || cp_put \"$CP_TMP/new\" /etc/fstab '' '' '' 0\n",
                sh::quote(want),
                sh::quote(AWK_FSTAB)
            )
        };
        if state == "absent" {
            b.push_str("if cp_active; then cp_changed; cp_check || swapoff \"$cp_sw\" || cp_fail \"swapoff $cp_sw failed\"; fi\n");
            b.push_str(&fstab_step(""));
            b.push_str("if [ -e \"$cp_sw\" ]; then cp_changed; cp_check || rm -f -- \"$cp_sw\" || cp_fail \"cannot remove $cp_sw\"; fi\n");
            return Ok(Plan::Remote(b));
        }
        let size_s = args.str("size")?.ok_or(ModuleError::Missing {
            module: "swapfile",
            arg: "size (needed for state=present)".into(),
        })?;
        let bytes = parse_size(&size_s).ok_or_else(|| ModuleError::BadArg {
            module: "swapfile",
            arg: "size".into(),
            msg: format!(
                "expected a size like 2G, 512M or a byte count, in whole 4 KiB pages of at least 40 KiB, got {size_s:?}"
            ),
        })?;
        let prio = args.int("priority")?;
        let mut line = format!("{path} none swap sw");
        if let Some(n) = prio {
            line.push_str(&format!(",pri={n}"));
        }
        line.push_str(" 0 0");
        let pri_flag = prio.map(|n| format!(" -p {n}")).unwrap_or_default();
        let prio_v = prio.map(|n| n.to_string()).unwrap_or_default();
        b.push_str(&format!("cp_ret size {bytes}\n"));
        // A file of the wrong size (or not a swap file) is made again.
        b.push_str(&format!(
            "cp_make=0\nif [ ! -f \"$cp_sw\" ] || [ \"$(stat -c %s \"$cp_sw\")\" != {bytes} ]; then cp_make=1\nelif [ \"$(dd if=\"$cp_sw\" bs=1 skip=4086 count=10 2>/dev/null)\" != SWAPSPACE2 ]; then cp_make=1; fi\n"
        ));
        b.push_str(&format!(
            "if [ $cp_make = 1 ]; then\n  cp_changed\n  if ! cp_check; then\n    if cp_active; then swapoff \"$cp_sw\" || cp_fail \"swapoff $cp_sw failed\"; fi\n    rm -f -- \"$cp_sw\"\n    ( umask 077; fallocate -l {bytes} \"$cp_sw\" 2>/dev/null || dd if=/dev/zero of=\"$cp_sw\" bs=4096 count={pages} 2>\"$CP_TMP/err\" ) || {{ rm -f -- \"$cp_sw\"; cp_fail \"cannot allocate $cp_sw: $(cat \"$CP_TMP/err\")\"; }}\n    chmod 0600 \"$cp_sw\"\n    mkswap \"$cp_sw\" >/dev/null 2>\"$CP_TMP/err\" || cp_fail \"mkswap $cp_sw failed: $(cat \"$CP_TMP/err\")\"\n  fi\nfi\n",
            pages = bytes / 4096
        ));
        b.push_str("if [ -f \"$cp_sw\" ]; then cp_attrs \"$cp_sw\" 0600 root ''; fi\n");
        // Active with the asked priority, or switched on (again).
        b.push_str(&format!(
            "cp_on=1\nif cp_active; then\n  cp_cur_p=$(p=\"$cp_sw\" awk 'BEGIN {{ p = ENVIRON[\"p\"] }} NR > 1 && $1 == p {{ print $5 }}' /proc/swaps)\n  if [ -n {pv} ] && [ \"$cp_cur_p\" != {pv} ]; then cp_changed; cp_check || swapoff \"$cp_sw\" || cp_fail \"swapoff $cp_sw failed\"; else cp_on=0; fi\nfi\nif [ $cp_on = 1 ]; then\n  cp_changed\n  cp_check || swapon{pri_flag} \"$cp_sw\" 2>\"$CP_TMP/err\" || cp_fail \"swapon $cp_sw failed: $(cat \"$CP_TMP/err\")\"\nfi\n",
            pv = sh::quote(&prio_v)
        ));
        b.push_str(&fstab_step(&line));
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(n) = o
            .ret
            .get("size")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<u64>().ok())
        {
            o.ret.insert("size".into(), n.into());
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_units() {
        assert_eq!(parse_size("2G"), Some(2 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("65536"), Some(65536));
        assert_eq!(parse_size("1.5G"), None);
        assert_eq!(parse_size("100"), None);
        assert_eq!(parse_size("12X"), None);
    }
}
