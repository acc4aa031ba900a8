//! `blockinfile`: a block of lines between two marker lines, inserted,
//! updated in place or removed, with Ansible's placement rules (the last
//! marker pair wins; a new block goes after/before the last line matching
//! `insertafter`/`insertbefore`, else at the end).

use super::lineinfile::{
    FRESH_TMP, Use, attrs_only, fix_last_newline, grep_args, grep_lines, install, py_to_ere,
};
use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct Blockinfile;

static SPEC: Spec = Spec::new(&[
    Arg::str("path")
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Arg::str("block").aliases(&["content"]),
    Arg::str("marker"),
    Arg::str("marker_begin"),
    Arg::str("marker_end"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::str("insertafter"),
    Arg::str("insertbefore"),
    Arg::bool("create"),
    Arg::bool("backup"),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::str("validate"),
    Arg::bool("unsafe_writes"),
    Arg::bool("prepend_newline"),
    Arg::bool("append_newline"),
]);

/// Removes the old block (markers compared whole, ignoring a trailing \r)
/// and writes the new one where Ansible would.
const AWK: &str = r#"
BEGIN {
  T = ENVIRON["CP_TMP"]; m0 = ENVIRON["cp_m0"]; m1 = ENVIRON["cp_m1"]; where = ENVIRON["cp_where"]
  while ((getline x < (T "/ins")) > 0) I[x] = 1
  nb = 0
  if (ENVIRON["cp_present"] == 1) {
    B[++nb] = m0
    while ((getline x < (T "/block")) > 0) B[++nb] = x
    B[++nb] = m1
  }
  n = 0; n0 = 0; n1 = 0
}
{ L[++n] = $0; s = $0; sub(/\r$/, "", s); if (s == m0) n0 = n; if (s == m1) n1 = n }
END {
  from = 0; to = -1
  if (n0 && n1) {
    if (n0 < n1) { from = n0; to = n1 } else { from = n1; to = n0 }
    pos = from
  } else if (where == "after" || where == "before") {
    last = 0
    for (i = 1; i <= n; i++) if (i in I) last = i
    if (!last) pos = n + 1; else if (where == "after") pos = last + 1; else pos = last
  } else if (where == "bof") pos = 1
  else pos = n + 1
  # The lines around the block once the old one is gone, for the
  # blank-line options: none is added where one already is.
  before = ""; after = ""; hasb = 0; hasa = 0
  for (i = pos - 1; i >= 1; i--) if (!(i >= from && i <= to)) { before = L[i]; hasb = 1; break }
  for (i = pos; i <= n; i++) if (!(i >= from && i <= to)) { after = L[i]; hasa = 1; break }
  for (i = 1; i <= n + 1; i++) {
    if (i == pos && nb) {
      if (ENVIRON["cp_pre"] == 1 && hasb && before != "") print ""
      for (j = 1; j <= nb; j++) print B[j]
      if (ENVIRON["cp_app"] == 1 && hasa && after != "") print ""
    }
    if (i <= n && !(i >= from && i <= to)) print L[i]
  }
}
"#;

impl Module for Blockinfile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let m = "blockinfile";
        let path = args.req_str("path")?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let block = args.str_or("block", "")?;
        let marker = args.str_or("marker", "# {mark} ANSIBLE MANAGED BLOCK")?;
        let m0 = marker.replace("{mark}", &args.str_or("marker_begin", "BEGIN")?);
        let m1 = marker.replace("{mark}", &args.str_or("marker_end", "END")?);
        if m0 == m1 {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "marker".into(),
                msg: "the begin and end markers must differ (use {mark})".into(),
            });
        }
        if m0.contains('\n') || m1.contains('\n') {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "marker".into(),
                msg: "a marker must be one line".into(),
            });
        }
        let (after, before) = (args.str("insertafter")?, args.str("insertbefore")?);
        if after.is_some() && before.is_some() {
            return Err(ModuleError::Other {
                module: m,
                msg: "insertafter and insertbefore are mutually exclusive".into(),
            });
        }
        let create = args.bool("create", false)?;
        // An empty block means no block, as in Ansible.
        let present = state == "present" && !block.is_empty();
        let mut b = format!("{FRESH_TMP}cp_f={}\n", sh::quote(&path));
        if state == "absent" {
            b.push_str("[ -e \"$cp_f\" ] || { cp_msg \"File $cp_f not present\"; exit 0; }\n");
        } else if !create {
            b.push_str("[ -e \"$cp_f\" ] || { cp_rec ret.rc 257; cp_fail \"Path $cp_f does not exist !\"; }\n");
        }
        b.push_str("[ -d \"$cp_f\" ] && cp_fail \"Path $cp_f is a directory !\"\n");
        b.push_str("if [ -e \"$cp_f\" ]; then cat \"$cp_f\" > \"$CP_TMP/old\" || cp_fail \"cannot read $cp_f\"; else : > \"$CP_TMP/old\"; fi\n: > \"$CP_TMP/ins\"\n");
        b.push_str(&sh::write_file("\"$CP_TMP/block\"", block.as_bytes()));
        let where_ = match (after.as_deref(), before.as_deref()) {
            (Some("EOF") | None, None) => "eof",
            (None, Some("BOF")) => "bof",
            (Some(a), None) => {
                b.push_str(&grep_lines(
                    "insertafter",
                    &grep_args(&py_to_ere(m, "insertafter", a, Use::Lines)?),
                    "ins",
                ));
                "after"
            }
            (None, Some(bf)) => {
                b.push_str(&grep_lines(
                    "insertbefore",
                    &grep_args(&py_to_ere(m, "insertbefore", bf, Use::Lines)?),
                    "ins",
                ));
                "before"
            }
            (Some(_), Some(_)) => unreachable!("checked above"),
        };
        b.push_str(&format!(
            "CP_TMP=\"$CP_TMP\" cp_m0={} cp_m1={} cp_where={where_} cp_present={} cp_pre={} cp_app={} awk '{AWK}' \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n",
            sh::quote(&m0),
            sh::quote(&m1),
            u8::from(present),
            u8::from(args.bool("prepend_newline", false)?),
            u8::from(args.bool("append_newline", false)?)
        ));
        b.push_str(&fix_last_newline());
        let msg = if present {
            "Block inserted"
        } else {
            "Block removed"
        };
        b.push_str(&format!(
            "if [ ! -e \"$cp_f\" ] || ! cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\"; then\n  if [ -e \"$cp_f\" ]; then cp_msg '{msg}'; else cp_msg 'File created'; fi\n"
        ));
        b.push_str(&install(args, create)?);
        b.push_str("else\n");
        b.push_str(&attrs_only(args)?);
        b.push_str("fi\n");
        Ok(Plan::Remote(b))
    }
}
