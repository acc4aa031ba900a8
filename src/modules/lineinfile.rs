//! `lineinfile`: one line present (added or replaced) or absent, with
//! Ansible's rules: the last matching line wins unless `firstmatch`,
//! `insertafter`/`insertbefore` place a new line, `backrefs` fill the line
//! from the match and never add one.
//!
//! Hosts need no interpreter, so regular expressions run in GNU grep and sed:
//! Python's syntax is translated to POSIX ERE (with GNU's `\s`, `\w`, `\b`) on
//! the controller, and what cannot be translated faithfully (lookaround,
//! lazy quantifiers where the match text matters) is refused with an error
//! naming the argument instead of silently matching something else.

use std::collections::HashMap;

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Lineinfile;

static SPEC: Spec = Spec::new(&[
    Arg::str("path")
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Arg::str("regexp").aliases(&["regex"]),
    Arg::str("search_string"),
    Arg::str("line").aliases(&["value"]),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::str("insertafter"),
    Arg::str("insertbefore"),
    Arg::bool("create"),
    Arg::bool("backrefs"),
    Arg::bool("firstmatch"),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::bool("backup"),
    Arg::str("validate"),
    Arg::bool("unsafe_writes"),
]);

/// A Python regular expression in the form GNU grep -E and sed -E read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ere {
    pub pattern: String,
    pub icase: bool,
    /// Python group number → ERE group number (non-capturing groups become
    /// capturing ones in ERE, shifting the numbers after them).
    pub groups: Vec<usize>,
    pub names: HashMap<String, usize>,
    /// The pattern had lazy quantifiers, made greedy: the same lines match,
    /// but matched text may differ.
    pub lazy: bool,
}

/// Where a translated pattern is used.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Use {
    /// One line at a time (grep): a newline can never match.
    Lines,
    /// The whole file at once (sed in multi-line mode).
    Text,
}

/// Translates a Python regular expression for GNU ERE; `arg` names the
/// argument in errors.
pub(super) fn py_to_ere(
    module: &'static str,
    arg: &str,
    re: &str,
    usage: Use,
) -> Result<Ere, ModuleError> {
    let bad = |msg: String| ModuleError::BadArg {
        module,
        arg: arg.to_string(),
        msg: format!("{msg} in regular expression {re:?}"),
    };
    // Syntax errors (unbalanced parentheses, bad repetition) are reported
    // the way the user wrote the pattern; backreferences are the one Python
    // feature the checker lacks, so patterns with them skip this step.
    let has_backref = re
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\\' && w[1].is_ascii_digit())
        || re.contains("(?P=");
    let has_lookaround = ["(?=", "(?!", "(?<=", "(?<!"]
        .iter()
        .any(|l| re.contains(l));
    if has_lookaround {
        return Err(bad("lookahead and lookbehind are not supported".into()));
    }
    let re = &escape_literal_braces(re);
    if !has_backref {
        if let Err(e) = regex::Regex::new(re) {
            let e = e.to_string();
            let last = e.lines().last().unwrap_or("invalid").trim().to_string();
            return Err(bad(format!("invalid pattern ({last})")));
        }
    }
    let c: Vec<char> = re.chars().collect();
    let mut out = String::new();
    let mut e = Ere {
        pattern: String::new(),
        icase: false,
        groups: vec![0],
        names: HashMap::new(),
        lazy: false,
    };
    let mut ere_groups = 0usize;
    let mut i = 0;
    let special = |ch: char| ".[]()*+?{}|^$\\".contains(ch);
    let literal = |ch: char, out: &mut String| {
        if special(ch) {
            out.push('\\');
        }
        out.push(ch);
    };
    while i < c.len() {
        let ch = c[i];
        match ch {
            '\\' => {
                let Some(&n) = c.get(i + 1) else {
                    return Err(bad("trailing backslash".into()));
                };
                i += 2;
                match n {
                    'd' => out.push_str("[0-9]"),
                    'D' => out.push_str("[^0-9]"),
                    's' | 'S' | 'w' | 'W' | 'b' | 'B' => {
                        out.push('\\');
                        out.push(n);
                    }
                    // GNU's buffer anchors, for patterns over the whole text.
                    'A' if usage == Use::Text => out.push_str("\\`"),
                    'Z' | 'z' if usage == Use::Text => out.push_str("\\'"),
                    'A' => out.push('^'),
                    'Z' | 'z' => out.push('$'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'n' if usage == Use::Text => out.push_str("\\n"),
                    'n' => {
                        return Err(bad(
                            "\\n cannot match inside one line (this module matches line by line)"
                                .into(),
                        ));
                    }
                    '1'..='9' => {
                        let mut num = n.to_digit(10).unwrap_or(0) as usize;
                        if let Some(d) = c.get(i).and_then(|d| d.to_digit(10)) {
                            num = num * 10 + d as usize;
                            i += 1;
                        }
                        let g = *e
                            .groups
                            .get(num)
                            .ok_or_else(|| bad(format!("backreference \\{num} to no group")))?;
                        if g > 9 {
                            return Err(bad("backreferences above \\9 are not supported".into()));
                        }
                        out.push_str(&format!("\\{g}"));
                    }
                    'x' => {
                        let hex: String = c.iter().skip(i).take(2).collect();
                        let v = u32::from_str_radix(&hex, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .ok_or_else(|| bad(format!("bad escape \\x{hex}")))?;
                        i += 2;
                        literal(v, &mut out);
                    }
                    ch if ch.is_ascii_alphanumeric() => {
                        return Err(bad(format!("unsupported escape \\{ch}")));
                    }
                    ch => literal(ch, &mut out),
                }
                continue;
            }
            '(' if c.get(i + 1) == Some(&'?') => {
                let rest: String = c[i + 2..].iter().collect();
                if rest.starts_with(':') {
                    ere_groups += 1;
                    out.push('(');
                    i += 3;
                } else if let Some(r) = rest.strip_prefix("P<") {
                    let name: String = r.chars().take_while(|&x| x != '>').collect();
                    ere_groups += 1;
                    e.groups.push(ere_groups);
                    e.names.insert(name.clone(), ere_groups);
                    out.push('(');
                    i += 2 + 2 + name.chars().count() + 1;
                } else if let Some(r) = rest.strip_prefix("P=") {
                    let name: String = r.chars().take_while(|&x| x != ')').collect();
                    let g = *e
                        .names
                        .get(&name)
                        .ok_or_else(|| bad(format!("unknown group name {name}")))?;
                    out.push_str(&format!("\\{g}"));
                    i += 2 + 2 + name.chars().count() + 1;
                } else if rest.starts_with('#') {
                    while i < c.len() && c[i] != ')' {
                        i += 1;
                    }
                    i += 1;
                } else if i == 0 && rest.starts_with(['i', 'm']) && rest.contains(')') {
                    // Leading flags: i is grep's/sed's own; m is how both
                    // read text already (line anchors at every line).
                    let flags: String = rest.chars().take_while(|&x| x != ')').collect();
                    if !flags.chars().all(|f| matches!(f, 'i' | 'm')) {
                        return Err(bad(format!("unsupported flags (?{flags})")));
                    }
                    e.icase = flags.contains('i');
                    i += 2 + flags.chars().count() + 1;
                } else {
                    return Err(bad(format!(
                        "unsupported group (?{}",
                        rest.chars().next().unwrap_or(')')
                    )));
                }
                continue;
            }
            '(' => {
                ere_groups += 1;
                e.groups.push(ere_groups);
                out.push('(');
            }
            '*' | '+' | '?' | '}' => {
                out.push(ch);
                if c.get(i + 1) == Some(&'?') {
                    e.lazy = true;
                    i += 1;
                }
            }
            '[' => {
                i = bracket(&c, i, &mut out).map_err(bad)?;
                continue;
            }
            ch => out.push(ch),
        }
        i += 1;
    }
    e.pattern = out;
    Ok(e)
}

/// Python reads a brace that starts no `{m}`, `{m,}`, `{,n}` or `{m,n}`
/// repetition as a literal brace (`^server {`); POSIX and the syntax checker
/// need it escaped.
fn escape_literal_braces(re: &str) -> String {
    let c: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len() + 4);
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => {
                out.extend(&c[i..(i + 2).min(c.len())]);
                i += 2;
                continue;
            }
            '[' => {
                // Copied whole: braces are plain characters in a class.
                let start = i;
                i += 1;
                if c.get(i) == Some(&'^') {
                    i += 1;
                }
                if c.get(i) == Some(&']') {
                    i += 1;
                }
                while i < c.len() && c[i] != ']' {
                    i += if c[i] == '\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(c.len());
                out.extend(&c[start..end]);
                i = end;
                continue;
            }
            '{' => {
                let close = c[i..].iter().position(|&x| x == '}').map(|p| i + p);
                let quant = close.filter(|&e| {
                    let inner: String = c[i + 1..e].iter().collect();
                    let (a, b) = inner.split_once(',').unwrap_or((&inner, ""));
                    i > 0
                        && (!a.is_empty() || !b.is_empty())
                        && a.chars().all(|d| d.is_ascii_digit())
                        && b.chars().all(|d| d.is_ascii_digit())
                        && !(inner.contains(',') && a.is_empty() && b.is_empty())
                });
                if let Some(e) = quant {
                    out.extend(&c[i..=e]);
                    i = e + 1;
                    continue;
                }
                out.push_str("\\{");
            }
            '}' => out.push_str("\\}"),
            ch => out.push(ch),
        }
        i += 1;
    }
    out
}

/// A Python character class as a POSIX bracket expression; returns the index
/// after the closing `]`.
fn bracket(c: &[char], start: usize, out: &mut String) -> Result<usize, String> {
    let mut i = start + 1;
    let neg = c.get(i) == Some(&'^');
    if neg {
        i += 1;
    }
    let (mut close, mut dash, mut caret) = (false, false, false);
    let mut body = String::new();
    let mut first = true;
    loop {
        let Some(&ch) = c.get(i) else {
            return Err("unterminated character set".into());
        };
        match ch {
            ']' if !first => break,
            ']' => close = true,
            '\\' => {
                let n = *c.get(i + 1).ok_or("trailing backslash")?;
                i += 1;
                match n {
                    'd' => body.push_str("0-9"),
                    's' => body.push_str("[:space:]"),
                    'w' => body.push_str("[:alnum:]_"),
                    't' => body.push('\t'),
                    'r' => body.push('\r'),
                    'n' => body.push('\n'),
                    ']' => close = true,
                    '-' => dash = true,
                    '^' => caret = true,
                    'D' | 'S' | 'W' => {
                        return Err(format!("\\{n} inside [...] is not supported"));
                    }
                    n if n.is_ascii_alphanumeric() => {
                        return Err(format!("unsupported escape \\{n} inside [...]"));
                    }
                    n => body.push(n),
                }
            }
            '^' if body.is_empty() => caret = true,
            '-' if first || c.get(i + 1) == Some(&']') => dash = true,
            '[' if c.get(i + 1) == Some(&':') => {
                // A POSIX class written as such: copy it whole.
                let end = (i + 2..c.len().saturating_sub(1))
                    .find(|&j| c[j] == ':' && c[j + 1] == ']')
                    .ok_or("unterminated [: :] class")?;
                body.extend(&c[i..=end + 1]);
                i = end + 1;
            }
            ch => body.push(ch),
        }
        first = false;
        i += 1;
    }
    out.push('[');
    if neg {
        out.push('^');
    }
    if close {
        out.push(']');
    }
    out.push_str(&body);
    if caret {
        out.push('^');
    }
    if dash {
        out.push('-');
    }
    if out.ends_with('[') || out.ends_with("[^") {
        return Err("empty character set".into());
    }
    out.push(']');
    Ok(i + 1)
}

/// A Python replacement template (`\1`, `\g<1>`, `\g<name>`) as sed's
/// replacement text, for patterns translated by [`py_to_ere`].
pub(super) fn py_repl_to_sed(
    module: &'static str,
    arg: &str,
    repl: &str,
    ere: &Ere,
) -> Result<String, ModuleError> {
    let bad = |msg: String| ModuleError::BadArg {
        module,
        arg: arg.to_string(),
        msg,
    };
    let group = |n: usize| -> Result<String, ModuleError> {
        let g = *ere
            .groups
            .get(n)
            .ok_or_else(|| bad(format!("invalid group reference {n}")))?;
        if g > 9 {
            return Err(bad("group references above 9 are not supported".into()));
        }
        Ok(format!("\\{g}"))
    };
    let c: Vec<char> = repl.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => {
                let n = c.get(i + 1).copied().unwrap_or('\\');
                i += 2;
                match n {
                    '0'..='9' => {
                        let mut num = n.to_digit(10).unwrap_or(0) as usize;
                        if let Some(d) = c.get(i).and_then(|d| d.to_digit(10)) {
                            num = num * 10 + d as usize;
                            i += 1;
                        }
                        out.push_str(&group(num)?);
                    }
                    'g' if c.get(i) == Some(&'<') => {
                        let name: String = c[i + 1..].iter().take_while(|&&x| x != '>').collect();
                        i += name.chars().count() + 2;
                        let n = match name.parse::<usize>() {
                            Ok(n) => n,
                            Err(_) => {
                                let g = *ere
                                    .names
                                    .get(&name)
                                    .ok_or_else(|| bad(format!("unknown group name {name}")))?;
                                ere.groups.iter().position(|&x| x == g).unwrap_or(0)
                            }
                        };
                        out.push_str(&group(n)?);
                    }
                    'n' => out.push_str("\\n"),
                    't' => out.push('\t'),
                    '\\' => out.push_str("\\\\"),
                    n if n.is_ascii_alphabetic() => {
                        return Err(bad(format!("bad escape \\{n}")));
                    }
                    n => {
                        out.push_str("\\\\");
                        sed_literal(n, &mut out);
                    }
                }
                continue;
            }
            ch => sed_literal(ch, &mut out),
        }
        i += 1;
    }
    Ok(out)
}

fn sed_literal(ch: char, out: &mut String) {
    match ch {
        '&' | '\\' => {
            out.push('\\');
            out.push(ch);
        }
        '\n' => out.push_str("\\n"),
        ch => out.push(ch),
    }
}

/// Shell text: `grep` options and pattern for a translated regexp.
pub(super) fn grep_args(e: &Ere) -> String {
    format!(
        "{}-E -e {}",
        if e.icase { "-i " } else { "" },
        sh::quote(&e.pattern)
    )
}

/// A sed `s` command (delimiter \001, which no pattern here holds).
pub(super) fn sed_subst(e: &Ere, repl: &str, global: bool) -> String {
    let mut flags = String::new();
    if global {
        flags.push('g');
    }
    if e.icase {
        flags.push('I');
    }
    format!("s\u{1}{}\u{1}{}\u{1}{flags}", e.pattern, repl)
}

/// The lines of the file at `$cp_f` that match, one number per line, into
/// FILE; grep's own errors fail the task naming the argument.
pub(super) fn grep_lines(arg: &str, opts: &str, file: &str) -> String {
    format!(
        "grep -n {opts} \"$CP_TMP/old\" 2>\"$CP_TMP/gerr\" | cut -d: -f1 > \"$CP_TMP/{file}\"; [ -s \"$CP_TMP/gerr\" ] && cp_fail \"{arg}: $(cat \"$CP_TMP/gerr\")\"\n"
    )
}

/// Decides and applies the edit. Lines are compared without a trailing \r as
/// Ansible does; `$CP_TMP/m` holds the regexp's (or the line's) matches,
/// `$CP_TMP/ins` the insertafter/insertbefore pattern's.
const AWK_PHASE1: &str = r#"
BEGIN {
  while ((getline x < (ENVIRON["CP_TMP"] "/m")) > 0) M[x] = 1
  while ((getline x < (ENVIRON["CP_TMP"] "/ins")) > 0) I[x] = 1
  first = ENVIRON["cp_first"] == 1; after = ENVIRON["cp_after"] == 1
  i0 = -1; i1 = -1
}
{
  if (NR in M) { i0 = NR; if (first) exit; }
  else if (NR in I) { i1 = after ? NR + 1 : NR; if (first) exit; }
}
END { print i0, i1 }
"#;

const AWK_PHASE2: &str = r#"
function strip(s) { sub(/\r$/, "", s); return s }
BEGIN {
  line = ENVIRON["cp_line"]; new = ENVIRON["cp_new"]; act = ENVIRON["cp_act"]
  i0 = ENVIRON["cp_i0"] + 0; i1 = ENVIRON["cp_i1"] + 0
  n = 0
}
{ L[++n] = $0 }
END {
  out = 0
  if (act == "replace") {
    if (L[i0] != new) { L[i0] = new; msg = "line replaced" }
  } else if (act == "bof") {
    ins = 1; msg = "line added"
  } else if (act == "eof") {
    ins = n + 1; msg = "line added"
  } else if (act == "after") {
    if (i1 == n + 1) { if (strip(L[n]) != line) { ins = n + 1; msg = "line added" } }
    else if (strip(L[i1]) != line) { ins = i1; msg = "line added" }
  } else if (act == "before") {
    ins = i1; msg = "line added"
  }
  for (k = 1; k <= n + 1; k++) {
    if (k == ins) print new
    if (k <= n) print L[k]
  }
  print msg > (ENVIRON["CP_TMP"] "/msg")
}
"#;

const AWK_ABSENT: &str = r#"
BEGIN {
  while ((getline x < (ENVIRON["CP_TMP"] "/m")) > 0) M[x] = 1
  found = 0
}
{ if (NR in M) found++; else print }
END { print found > (ENVIRON["CP_TMP"] "/found") }
"#;

impl Module for Lineinfile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    /// Ansible's lineinfile names the backup `backup` (copy and the others
    /// say `backup_file`); both are there.
    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if let Some(b) = o.ret.get("backup_file").cloned() {
            o.ret.insert("backup".into(), b);
        }
        o
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let m = "lineinfile";
        let path = args.req_str("path")?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let regexp = args.str("regexp")?;
        let search = args.str("search_string")?;
        let line = args.str("line")?;
        let backrefs = args.bool("backrefs", false)?;
        let create = args.bool("create", false)?;
        let first = args.bool("firstmatch", false)?;
        let (after, before) = (args.str("insertafter")?, args.str("insertbefore")?);
        let other = |msg: &str| ModuleError::Other {
            module: m,
            msg: msg.to_string(),
        };
        if regexp.is_some() && search.is_some() {
            return Err(other("regexp and search_string are mutually exclusive"));
        }
        if after.is_some() && before.is_some() {
            return Err(other("insertafter and insertbefore are mutually exclusive"));
        }
        if state == "present" && line.is_none() {
            return Err(other("line is required with state=present"));
        }
        if state == "absent" && line.is_none() && regexp.is_none() && search.is_none() {
            return Err(other(
                "one of line, regexp or search_string is required with state=absent",
            ));
        }
        if backrefs && regexp.is_none() {
            return Err(other("regexp is required with backrefs=true"));
        }
        if search.as_deref().is_some_and(|s| s.contains('\n')) {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "search_string".into(),
                msg: "cannot contain a newline (lines are matched one at a time)".into(),
            });
        }
        let line = line.unwrap_or_default();
        let ere = match &regexp {
            Some(r) => Some(py_to_ere(m, "regexp", r, Use::Lines)?),
            None => None,
        };
        if backrefs && ere.as_ref().is_some_and(|e| e.lazy) {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "regexp".into(),
                msg: "lazy quantifiers (*?, +?) are not supported with backrefs".into(),
            });
        }

        let mut b = format!("cp_f={}\ncp_line={}\n", sh::quote(&path), sh::quote(&line));
        // Ansible's messages for a missing file.
        if state == "absent" {
            b.push_str(
                "[ -e \"$cp_f\" ] || { cp_ret found 0; cp_msg 'file not present'; exit 0; }\n",
            );
        } else if !create {
            b.push_str(
                "[ -e \"$cp_f\" ] || { cp_rec ret.rc 257; cp_fail \"Destination $cp_f does not exist !\"; }\n",
            );
        }
        b.push_str("[ -d \"$cp_f\" ] && cp_fail \"Destination $cp_f is a directory !\"\n");
        if state == "present" && regexp.is_none() && search.is_none() && !line.contains('\n') {
            // The common idempotent case costs one grep: the exact line is
            // there, so nothing moves (whatever insertafter/insertbefore say).
            b.push_str(
                "if [ -f \"$cp_f\" ] && grep -qxF -e \"$cp_line\" -- \"$cp_f\" 2>/dev/null; then\n",
            );
            b.push_str(&attrs_only(args)?);
            b.push_str("  cp_ret dest \"$cp_f\"; exit 0\nfi\n");
        }
        b.push_str("if [ -e \"$cp_f\" ]; then cat \"$cp_f\" > \"$CP_TMP/old\" || cp_fail \"cannot read $cp_f\"; else : > \"$CP_TMP/old\"; fi\n");
        b.push_str(": > \"$CP_TMP/m\"; : > \"$CP_TMP/ins\"\n");
        match (&ere, &search) {
            (Some(e), _) => b.push_str(&grep_lines("regexp", &grep_args(e), "m")),
            (None, Some(s)) => b.push_str(&grep_lines(
                "search_string",
                &format!("-F -e {}", sh::quote(s)),
                "m",
            )),
            // The line itself, compared whole (awk, no pattern language).
            (None, None) => b.push_str(&format!("{EXACT} > \"$CP_TMP/m\"\n")),
        }

        if state == "absent" {
            b.push_str(&format!(
                "CP_TMP=\"$CP_TMP\" awk '{AWK_ABSENT}' \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\n"
            ));
            b.push_str(&fix_last_newline());
            b.push_str("cp_n=$(cat \"$CP_TMP/found\")\ncp_ret found \"$cp_n\"\n");
            b.push_str("if [ \"$cp_n\" != 0 ]; then\n  cp_msg \"$cp_n line(s) removed\"\n");
            b.push_str(&install(args, false)?);
            b.push_str("else\n");
            b.push_str(&attrs_only(args)?);
            b.push_str("fi\ncp_ret dest \"$cp_f\"\n");
            return Ok(Plan::Remote(b));
        }

        let anchor = after.as_ref().or(before.as_ref()).map(String::as_str);
        let is_after = after.is_some();
        if let Some(a) = anchor.filter(|a| !matches!(*a, "EOF" | "BOF")) {
            let arg = if is_after {
                "insertafter"
            } else {
                "insertbefore"
            };
            let e = py_to_ere(m, arg, a, Use::Lines)?;
            b.push_str(&grep_lines(arg, &grep_args(&e), "ins"));
        }
        b.push_str(&format!(
            "set -- $(CP_TMP=\"$CP_TMP\" cp_first={} cp_after={} awk '{AWK_PHASE1}' \"$CP_TMP/old\") || cp_fail 'awk failed'\ncp_i0=$1 cp_i1=$2\n",
            u8::from(first),
            u8::from(is_after)
        ));
        let expand = if backrefs {
            let e = ere.as_ref().expect("checked above");
            let repl = py_repl_to_sed(m, "line", &line, e)?;
            let cmd = sed_subst(e, &format!("\u{2}{repl}\u{3}"), false);
            // The markers cut the expansion out of the rest of the line; the
            // final `x` keeps a trailing newline of the expansion.
            format!(
                "  cp_x=$(sed -n \"${{cp_i0}}p\" \"$CP_TMP/old\" | sed -E {}; printf x)\n  cp_x=${{cp_x#*$(printf '\\002')}}; cp_new=${{cp_x%$(printf '\\003')*}}\n",
                sh::quote(&cmd)
            )
        } else {
            "  cp_new=$cp_line\n".to_string()
        };
        // The pattern matched nothing but the line is already there: Ansible
        // leaves the file alone.
        let exact_guard = if regexp.is_some() || search.is_some() {
            format!("elif [ -n \"$({EXACT} | head -n1)\" ]; then cp_act=none\n")
        } else {
            String::new()
        };
        b.push_str(&format!(
            "cp_act=none; cp_new=$cp_line\nif [ \"$cp_i0\" != -1 ]; then\n{expand}  cp_act=replace\nelif [ {br} = 1 ]; then cp_act=none\n{exact_guard}elif [ {bof} = 1 ]; then cp_act=bof\nelif [ {eof} = 1 ] || [ \"$cp_i1\" = -1 ]; then cp_act=eof\nelif [ {after} = 1 ]; then cp_act=after\nelse cp_act=before\nfi\n",
            br = u8::from(backrefs),
            bof = u8::from(anchor == Some("BOF")),
            eof = u8::from(is_after && anchor == Some("EOF")),
            after = u8::from(is_after),
        ));
        b.push_str(": > \"$CP_TMP/msg\"\nif [ \"$cp_act\" != none ]; then\n  CP_TMP=\"$CP_TMP\" cp_new=\"$cp_new\" cp_act=$cp_act cp_i0=$cp_i0 cp_i1=$cp_i1 awk '");
        b.push_str(AWK_PHASE2);
        b.push_str("' \"$CP_TMP/old\" > \"$CP_TMP/new\" || cp_fail 'awk failed'\nfi\n");
        b.push_str(&fix_last_newline());
        b.push_str("cp_m=$(cat \"$CP_TMP/msg\")\nif [ -n \"$cp_m\" ]; then\n  cp_msg \"$cp_m\"\n");
        b.push_str(&install(args, create)?);
        b.push_str("else\n");
        b.push_str(&attrs_only(args)?);
        b.push_str("fi\ncp_ret dest \"$cp_f\"\n");
        Ok(Plan::Remote(b))
    }
}

/// Numbers of the lines equal to `$cp_line` (ignoring a trailing \r).
const EXACT: &str = "cp_line=\"$cp_line\" awk 'BEGIN { l = ENVIRON[\"cp_line\"] } { s = $0; sub(/\\r$/, \"\", s); if (s == l) print NR }' \"$CP_TMP/old\"";

/// awk ends every line with a newline; when the file's last line had none
/// and is still last and unchanged, keep it that way.
pub(super) fn fix_last_newline() -> String {
    "if [ -s \"$CP_TMP/old\" ] && [ -n \"$(tail -c1 \"$CP_TMP/old\")\" ] && [ -s \"$CP_TMP/new\" ] && [ \"$(tail -n1 \"$CP_TMP/old\")\" = \"$(tail -n1 \"$CP_TMP/new\")\" ]; then\n  head -c -1 \"$CP_TMP/new\" > \"$CP_TMP/new2\" && mv \"$CP_TMP/new2\" \"$CP_TMP/new\"\nfi\n".to_string()
}

/// First line of a body that keeps files in `$CP_TMP`: loop items share the
/// task's directory, so each item works in its own (the body runs in a
/// subshell, so the parent's cleanup still removes it).
pub(super) const FRESH_TMP: &str =
    "CP_TMP=$(mktemp -d \"$CP_TMP/i.XXXXXX\") || cp_fail 'cannot create a temporary directory'\n";

/// Validation, then the atomic write with attributes and backup (shared by
/// the text modules).
pub(super) fn install(args: &Args, create_dirs: bool) -> Result<String, ModuleError> {
    let mut b = String::new();
    if create_dirs {
        // `create: true` makes missing parent directories, as Ansible does.
        b.push_str("  cp_check || mkdir -p -- \"$(dirname -- \"$cp_f\")\" || cp_fail \"cannot create the directory of $cp_f\"\n");
    }
    if let Some(v) = args.str("validate")? {
        if !v.contains("%s") {
            return Err(ModuleError::BadArg {
                module: args.module,
                arg: "validate".into(),
                msg: format!("validate must contain %s: {v}"),
            });
        }
        let cmd = v.replace("%s", "\"$CP_TMP/new\"");
        b.push_str(&format!("  ( {cmd} ) >\"$CP_TMP/vout\" 2>&1 || {{ cp_recf ret.validate_output \"$CP_TMP/vout\"; cp_fail 'failed to validate'; }}\n"));
    }
    b.push_str(&format!(
        "  cp_put \"$CP_TMP/new\" \"$cp_f\" {} {} {} {}\n",
        sh::quote(&args.mode("mode")?.unwrap_or_default()),
        sh::quote(&args.str("owner")?.unwrap_or_default()),
        sh::quote(&args.str("group")?.unwrap_or_default()),
        u8::from(args.bool("backup", false)?)
    ));
    Ok(b)
}

/// Mode, owner and group of an existing file whose content is right.
pub(super) fn attrs_only(args: &Args) -> Result<String, ModuleError> {
    Ok(format!(
        "  [ -e \"$cp_f\" ] && cp_attrs \"$cp_f\" {} {} {}\n",
        sh::quote(&args.mode("mode")?.unwrap_or_default()),
        sh::quote(&args.str("owner")?.unwrap_or_default()),
        sh::quote(&args.str("group")?.unwrap_or_default()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ere(re: &str) -> Ere {
        py_to_ere("t", "regexp", re, Use::Lines).unwrap()
    }

    #[test]
    fn python_patterns_become_ere() {
        assert_eq!(ere(r"^\s*Port\s+\d+$").pattern, r"^\s*Port\s+[0-9]+$");
        assert_eq!(ere(r"a\.b\-c\/d").pattern, r"a\.b-c/d");
        assert_eq!(ere(r"[\d\s\]-]").pattern, "[]0-9[:space:]-]");
        let e = ere(r"(?:x)(?P<v>y)\1");
        assert_eq!(e.pattern, r"(x)(y)\2");
        assert_eq!(e.groups, vec![0, 2]);
        assert!(ere("(?i)abc").icase);
        assert!(ere("(?mi)abc").icase && ere("(?m)abc").pattern == "abc");
        assert!(py_to_ere("t", "regexp", "(?s)a.b", Use::Text).is_err());
        // Braces that are no repetition are literal, as in Python.
        assert_eq!(ere(r"^server {$").pattern, r"^server \{$");
        assert_eq!(ere(r"x}").pattern, r"x\}");
        assert_eq!(ere(r"a{1,2}").pattern, r"a{1,2}");
        assert!(ere("a.*?b").lazy);
        for bad in ["(?=x)", "(unclosed", r"\n", "[abc", r"\q"] {
            let err = py_to_ere("t", "regexp", bad, Use::Lines)
                .unwrap_err()
                .to_string();
            assert!(err.contains("argument regexp"), "{bad}: {err}");
        }
    }

    #[test]
    fn replacement_templates_become_sed() {
        let e = ere(r"(?:a)(?P<v>b)(c)");
        assert_eq!(
            py_repl_to_sed("t", "line", r"x\1\g<2>\g<v>&", &e).unwrap(),
            r"x\2\3\2\&"
        );
        assert!(py_repl_to_sed("t", "line", r"\5", &e).is_err());
    }
}
