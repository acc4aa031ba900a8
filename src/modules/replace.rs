//! `replace`: every match of a regular expression in a file replaced, as
//! Python's `re.subn` with MULTILINE does it, optionally only between the
//! `after` and `before` matches.
//!
//! The substitution runs in GNU sed over the whole file (multi-line mode:
//! `^`/`$` at line boundaries, `.` never crossing a newline, as in Python).
//! POSIX matching picks the longest alternative where Python picks the first
//! that matches; patterns where that matters (`a|ab`) are rare in practice.

use super::lineinfile::{
    FRESH_TMP, Use, attrs_only, install, py_repl_to_sed, py_to_ere, sed_subst,
};
use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, sh};

pub struct Replace;

static SPEC: Spec = Spec::new(&[
    Arg::str("path")
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Arg::str("regexp").required(),
    Arg::str("replace"),
    Arg::str("after"),
    Arg::str("before"),
    Arg::bool("backup"),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::str("validate"),
    Arg::str("encoding"),
    Arg::bool("unsafe_writes"),
]);

impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let m = "replace";
        let path = args.req_str("path")?;
        let re = args.req_str("regexp")?;
        let ere = py_to_ere(m, "regexp", &re, Use::Text)?;
        if ere.lazy {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "regexp".into(),
                msg: format!(
                    "lazy quantifiers (*?, +?) are not supported in {re:?}; use a negated class such as [^\"]* instead"
                ),
            });
        }
        let repl = py_repl_to_sed(m, "replace", &args.str_or("replace", "")?, &ere)?;
        let subst = sed_subst(&ere, &repl, true);
        // Reads the whole file into sed's buffer first, so the expression
        // sees the text at once (single-line files included).
        let sed = format!(
            "sed -E -e ':a' -e '$!{{N;ba' -e '}}' -e {}",
            sh::quote(&format!("{subst}M"))
        );
        let mut b = format!("{FRESH_TMP}cp_f={}\n", sh::quote(&path));
        b.push_str("[ -e \"$cp_f\" ] || { cp_rec ret.rc 257; cp_fail \"Path $cp_f does not exist !\"; }\n[ -d \"$cp_f\" ] && cp_fail \"Path $cp_f is a directory !\"\ncat \"$cp_f\" > \"$CP_TMP/old\" || cp_fail \"cannot read $cp_f\"\n");
        // The section: from the end of the first `after` match, up to the
        // start of the first `before` match past it (the last one when only
        // `before` is given), as Ansible's (?s)after(.*?)before does.
        let section = |arg: &str, v: &str| -> Result<String, ModuleError> {
            let e = py_to_ere(m, arg, v, Use::Text)?;
            Ok(format!(
                "grep -z -o -b {}-E -e {} \"$CP_TMP/old\" 2>\"$CP_TMP/gerr\" | tr '\\000\\n' '\\n\\001' > \"$CP_TMP/{arg}\"; [ -s \"$CP_TMP/gerr\" ] && cp_fail \"{arg}: $(cat \"$CP_TMP/gerr\")\"\n",
                if e.icase { "-i " } else { "" },
                sh::quote(&e.pattern)
            ))
        };
        let (after, before) = (args.str("after")?, args.str("before")?);
        b.push_str("cp_size=$(wc -c < \"$CP_TMP/old\")\ncp_s=0 cp_e=$cp_size cp_hit=1\n");
        if let Some(a) = &after {
            b.push_str(&section("after", a)?);
            // Offset and length of the first match: one record a line
            // (newlines in the match became \001, same byte count).
            b.push_str("cp_l=$(head -n1 \"$CP_TMP/after\")\nif [ -z \"$cp_l\" ]; then cp_hit=0; else cp_t=${cp_l#*:}; cp_s=$(( ${cp_l%%:*} + $(printf '%s' \"$cp_t\" | wc -c) )); fi\n");
        }
        if let Some(bf) = &before {
            b.push_str(&section("before", bf)?);
            let pick = if after.is_some() {
                "awk -F: -v s=\"$cp_s\" '$1 >= s { print $1; exit }'"
            } else {
                "awk -F: '{ o = $1 } END { print o }'"
            };
            b.push_str(&format!(
                "cp_o=$({pick} \"$CP_TMP/before\")\nif [ -z \"$cp_o\" ]; then cp_hit=0; else cp_e=$cp_o; fi\n"
            ));
        }
        b.push_str(&format!(
            "if [ $cp_hit = 1 ]; then\n  head -c \"$cp_s\" \"$CP_TMP/old\" > \"$CP_TMP/p1\"\n  tail -c +$((cp_s + 1)) \"$CP_TMP/old\" | head -c $((cp_e - cp_s)) > \"$CP_TMP/mid\"\n  tail -c +$((cp_e + 1)) \"$CP_TMP/old\" > \"$CP_TMP/p3\"\n  {sed} \"$CP_TMP/mid\" > \"$CP_TMP/mid2\" 2>\"$CP_TMP/gerr\" || cp_fail \"regexp: $(cat \"$CP_TMP/gerr\")\"\n  cat \"$CP_TMP/p1\" \"$CP_TMP/mid2\" \"$CP_TMP/p3\" > \"$CP_TMP/new\"\nelse\n  cp \"$CP_TMP/old\" \"$CP_TMP/new\"\nfi\n"
        ));
        let count = format!(
            "grep -o {}-E -e {} \"$CP_TMP/mid\" | wc -l",
            if ere.icase { "-i " } else { "" },
            sh::quote(&ere.pattern)
        );
        b.push_str(&format!(
            "if ! cmp -s \"$CP_TMP/old\" \"$CP_TMP/new\"; then\n  cp_msg \"$({count}) replacements made\"\n"
        ));
        b.push_str(&install(args, false)?);
        b.push_str("else\n");
        b.push_str(&attrs_only(args)?);
        b.push_str("fi\n");
        Ok(Plan::Remote(b))
    }
}
