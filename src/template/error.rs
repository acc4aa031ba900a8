//! Template errors, worded like Ansible's ("'foo' is undefined") and placed:
//! the template name or text, and the line inside it where minijinja knows it.

use std::fmt;

use minijinja::ErrorKind;
use minijinja::value::Value;

/// Where in the templated text an error happened. The executor adds the
/// task's own file:line in front.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Template file name for `render_text`, `None` for inline strings.
    pub name: Option<String>,
    /// The inline string (shortened), for errors in `render_str`/`eval`.
    pub text: Option<String>,
    /// 1-based line inside the template.
    pub line: Option<usize>,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, &self.text) {
            (Some(name), _) => write!(f, "in template {name}")?,
            (None, Some(text)) => write!(f, "in {text:?}")?,
            (None, None) => write!(f, "in template")?,
        }
        match self.line {
            // A one-line inline string needs no line number.
            Some(line)
                if self.name.is_some() || self.text.as_ref().is_some_and(|t| t.contains('\n')) =>
            {
                write!(f, ", line {line}")
            }
            _ => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("template syntax error: {msg} ({origin})")]
    Syntax { msg: String, origin: Origin },
    /// `what` is the variable (`'foo'`) or expression (`'foo.bar'`) that was undefined.
    #[error("{what} is undefined ({origin})")]
    Undefined { what: String, origin: Origin },
    #[error("{msg} ({origin})")]
    Render { msg: String, origin: Origin },
}

impl TemplateError {
    pub fn origin(&self) -> &Origin {
        match self {
            TemplateError::Syntax { origin, .. }
            | TemplateError::Undefined { origin, .. }
            | TemplateError::Render { origin, .. } => origin,
        }
    }
}

/// Functions such as `range` and `lookup` are read like variables.
fn is_global(name: &str) -> bool {
    super::env::strict().env.globals().any(|(n, _)| n == name)
}

/// Words in an expression that are not variables.
const NOT_VARIABLES: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
];

/// Whether a strict-mode error is Ansible-legal: reading an attribute or item
/// of an undefined value (`foo.bar`, `foo['x'].y`), which Ansible's undefined
/// allows and only fails when the result is printed or tested for truth.
pub(crate) fn is_chained_lookup(err: &minijinja::Error, source: &str) -> bool {
    if err.kind() != ErrorKind::UndefinedError || err.detail().is_some() {
        return false;
    }
    let Some(range) = err.range().filter(|r| source.get(r.clone()).is_some()) else {
        return false;
    };
    // minijinja's span is the lookup itself (`.bar`) or the whole chain.
    let span = source[range.clone()].trim();
    let root_len = span
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(span.len());
    if !matches!(
        span[root_len..].trim_start().chars().next(),
        Some('.' | '[')
    ) {
        return false;
    }
    // Only where the undefined result goes straight to something that handles
    // undefined; anywhere else Ansible fails too.
    handles_undefined(skip_lookups(&source[range.end..]))
}

/// `rest` without the attribute and item lookups it starts with.
fn skip_lookups(mut rest: &str) -> &str {
    loop {
        let t = rest.trim_start();
        if let Some(after) = t.strip_prefix('.') {
            let after = after.trim_start();
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                return t;
            }
            rest = &after[n..];
        } else if t.starts_with('[') {
            match t.find(']') {
                Some(end) => rest = &t[end + 1..],
                None => return t,
            }
        } else {
            return t;
        }
    }
}

/// Whether `rest` starts by handing the value to `default`, `d`,
/// `mandatory`, or the `defined`/`undefined` tests.
fn handles_undefined(rest: &str) -> bool {
    let word = |s: &str| {
        let s = s.trim_start();
        let n = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        (s[..n].to_string(), s[n..].to_string())
    };
    let rest = rest.trim_start();
    if let Some(after) = rest.strip_prefix('|') {
        let (name, _) = word(after);
        return matches!(name.as_str(), "default" | "d" | "mandatory");
    }
    let (is, after) = word(rest);
    if is != "is" {
        return false;
    }
    let (mut test, after) = word(&after);
    if test == "not" {
        test = word(&after).0;
    }
    matches!(test.as_str(), "defined" | "undefined")
}

/// Turns a minijinja error into ours. `source` is the template text,
/// `undeclared` the top-level names the template reads from its context
/// (not set inside it), `ctx` that context: together they tell which variable
/// an undefined error is about.
pub(crate) fn convert(
    err: minijinja::Error,
    source: &str,
    name: Option<&str>,
    undeclared: impl FnOnce() -> Vec<String>,
    ctx: &Value,
) -> TemplateError {
    convert_ref(&err, source, name, undeclared, ctx)
}

/// The error an include failure wraps (the one in the included file).
pub(crate) fn innermost(err: &minijinja::Error) -> &minijinja::Error {
    let mut cur = err;
    while let Some(inner) =
        std::error::Error::source(cur).and_then(|s| s.downcast_ref::<minijinja::Error>())
    {
        cur = inner;
    }
    cur
}

pub(crate) fn convert_ref(
    err: &minijinja::Error,
    source: &str,
    name: Option<&str>,
    undeclared: impl FnOnce() -> Vec<String>,
    ctx: &Value,
) -> TemplateError {
    let origin = Origin {
        name: name.map(str::to_string),
        text: if name.is_none() {
            Some(shorten(source))
        } else {
            None
        },
        line: err.line(),
    };
    let range = err
        .range()
        .filter(|r| source.get(r.clone()).is_some())
        .map(|r| widen(source, r));
    let span = range.clone().and_then(|r| source.get(r)).map(str::trim);
    // minijinja reports arithmetic on, or conversion of, an undefined value
    // as an invalid operation.
    let undefined_op = err.kind() != ErrorKind::SyntaxError
        && err.detail().is_some_and(|d| {
            [
                "cannot convert undefined",
                "unsupported types undefined",
                " and undefined",
            ]
            .iter()
            .any(|p| d.contains(p))
        });
    match err.kind() {
        ErrorKind::SyntaxError => TemplateError::Syntax {
            msg: message(err),
            origin,
        },
        ErrorKind::UndefinedError => {
            let what = blame(source, span, range.map(|r| r.start), undeclared, ctx);
            match err.detail() {
                Some(super::filters::MANDATORY) => TemplateError::Render {
                    msg: format!("Mandatory variable {what} not defined."),
                    origin,
                },
                Some(detail) => TemplateError::Render {
                    msg: format!("{detail}: {what} is undefined"),
                    origin,
                },
                None => TemplateError::Undefined { what, origin },
            }
        }
        _ if undefined_op => {
            let what = blame(source, span, range.map(|r| r.start), undeclared, ctx);
            TemplateError::Undefined { what, origin }
        }
        _ => {
            let mut msg = message(err);
            if let Some(span) = span.filter(|s| !s.is_empty() && s.len() < 200 && !msg.contains(*s))
            {
                msg = format!("{msg} (in `{span}`)");
            }
            TemplateError::Render { msg, origin }
        }
    }
}

/// An attribute lookup's span (`.b.c`) widened to its whole chain (`a.b.c`).
fn widen(source: &str, r: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let starts_lookup = source[r.clone()].trim_start().starts_with(['.', '[']);
    if !starts_lookup {
        return r;
    }
    let head = &source[..r.start];
    let kept = head.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    kept.len()..r.end
}

/// What an undefined error is about, quoted: the missing variable the failing
/// span reads, else the span itself (`'dict.nope'`). A span that is a lone
/// word is a filter or test name: the variable before it is to blame.
fn blame(
    source: &str,
    span: Option<&str>,
    start: Option<usize>,
    undeclared: impl FnOnce() -> Vec<String>,
    ctx: &Value,
) -> String {
    let mut missing: Vec<String> = undeclared()
        .into_iter()
        .filter(|v| ctx.get_attr(v).is_ok_and(|x| x.is_undefined()))
        .filter(|v| !NOT_VARIABLES.contains(&v.as_str()))
        .filter(|v| !is_global(v))
        .collect();
    missing.sort();
    let Some(span) = span else {
        // No position: a short source is the expression itself.
        let expr = source.trim();
        return match first_missing_in(source, &missing) {
            Some(v) => format!("'{v}'"),
            None if !expr.contains('\n') && expr.len() < 100 => format!("'{expr}'"),
            None => "a value".to_string(),
        };
    };
    if let Some(v) = first_missing_in(span, &missing) {
        return format!("'{v}'");
    }
    let lone_word = !span.is_empty() && span.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if lone_word {
        let before = &source[..start.unwrap_or(0).min(source.len())];
        if let Some(v) = last_missing_in(before, &missing) {
            return format!("'{v}'");
        }
    }
    format!("'{span}'")
}

/// The last of `missing` that `text` reads as a variable.
fn last_missing_in<'a>(text: &str, missing: &'a [String]) -> Option<&'a str> {
    let mut last = None;
    let mut rest = text;
    while let Some(found) = first_missing_in_at(rest, missing) {
        last = Some(found.0);
        rest = &rest[found.1..];
    }
    last
}

/// The first of `missing` that `span` reads as a variable (not after a `.`).
fn first_missing_in<'a>(span: &str, missing: &'a [String]) -> Option<&'a str> {
    first_missing_in_at(span, missing).map(|(name, _)| name)
}

/// Like [`first_missing_in`], also giving the byte offset just past the name.
fn first_missing_in_at<'a>(span: &str, missing: &'a [String]) -> Option<(&'a str, usize)> {
    let bytes = span.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\'' || c == b'"' {
            // skip string literals
            i += 1;
            while i < bytes.len() && bytes[i] != c {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &span[start..i];
            let after_dot = span[..start].trim_end().ends_with('.');
            if !after_dot {
                if let Some(m) = missing.iter().find(|m| *m == word) {
                    return Some((m, i));
                }
            }
            continue;
        }
        i += 1;
    }
    None
}

fn message(err: &minijinja::Error) -> String {
    let self_explaining = matches!(
        err.kind(),
        ErrorKind::UnknownFilter
            | ErrorKind::UnknownTest
            | ErrorKind::UnknownFunction
            | ErrorKind::UnknownMethod
    ) || err.kind() == ErrorKind::InvalidOperation;
    let mut msg = match err.detail() {
        Some(detail) if self_explaining => detail.to_string(),
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_variable_not_attribute_or_string() {
        let missing = vec!["foo".to_string(), "bar".to_string()];
        assert_eq!(
            first_missing_in("x.foo + 'bar' + bar", &missing),
            Some("bar")
        );
        assert_eq!(first_missing_in("foo.x", &missing), Some("foo"));
        assert_eq!(first_missing_in("x . foo", &missing), None);
    }

    #[test]
    fn origin_shows_line_only_where_useful() {
        let o = Origin {
            name: None,
            text: Some("{{ x }}".into()),
            line: Some(1),
        };
        assert_eq!(o.to_string(), "in \"{{ x }}\"");
        let o = Origin {
            name: Some("motd.j2".into()),
            text: None,
            line: Some(3),
        };
        assert_eq!(o.to_string(), "in template motd.j2, line 3");
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn undefined_consumers_are_recognised() {
        assert!(handles_undefined(" | default('x')"));
        assert!(handles_undefined("|d"));
        assert!(handles_undefined(" is not defined"));
        assert!(handles_undefined(" is undefined and x"));
        assert!(!handles_undefined(" | upper"));
        assert!(!handles_undefined(" is none"));
        assert!(!handles_undefined(" > 3"));
        assert_eq!(skip_lookups(".b['c'].d | default"), "| default");
    }
}
