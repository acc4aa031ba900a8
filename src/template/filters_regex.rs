//! Regular expressions the Python way: Ansible's `regex_*` filters and the
//! `match`/`search`/`regex` tests. Python patterns mostly work unchanged on
//! the `regex` crate; look-around and backreferences are not supported.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind};
use regex::{Regex, RegexBuilder};

use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// How a pattern is anchored: Python's `re.match` (at the start) or
/// `re.search` (anywhere).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Anywhere,
}

#[derive(Clone, Copy, Hash, PartialEq, Eq, Default)]
pub struct Flags {
    pub ignorecase: bool,
    pub multiline: bool,
}

impl Flags {
    pub fn from_kwargs(kwargs: &Kwargs) -> Result<Flags, Error> {
        Ok(Flags {
            ignorecase: kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
            multiline: kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
        })
    }
}

type Key = (String, Flags, Anchor);

/// Compiled patterns: `select('match', ...)` over a long list must not
/// recompile per item.
fn cache() -> &'static Mutex<HashMap<Key, Arc<Regex>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Regex>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Python's `\Z` is the regex crate's `\z`; the rest of the syntax we accept
/// is shared.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('Z') => out.push_str("\\z"),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub fn compile(pattern: &str, flags: Flags, anchor: Anchor) -> Result<Arc<Regex>, Error> {
    let key = (pattern.to_string(), flags, anchor);
    if let Some(re) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(re);
    }
    let translated = translate(pattern);
    let source = match anchor {
        Anchor::Start => format!(r"\A(?:{translated})"),
        Anchor::Anywhere => translated,
    };
    let re = RegexBuilder::new(&source)
        .case_insensitive(flags.ignorecase)
        .multi_line(flags.multiline)
        .build()
        .map_err(|e| invalid(format!("invalid regular expression {pattern:?}: {e}")))?;
    let re = Arc::new(re);
    if let Ok(mut c) = cache().lock() {
        if c.len() > 512 {
            c.clear();
        }
        c.insert(key, re.clone());
    }
    Ok(re)
}

fn text(v: &Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    py_str(v)
}

/// A Python `re.sub` replacement (`\1`, `\g<name>`, `\\`) in the regex
/// crate's syntax (`${1}`, `${name}`, `$$`).
fn translate_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len() + 8);
    let chars: Vec<char> = repl.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '$' => out.push_str("$$"),
            '\\' if i + 1 < chars.len() => {
                let n = chars[i + 1];
                if n.is_ascii_digit() {
                    let mut j = i + 1;
                    while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                        j += 1;
                    }
                    let digits: String = chars[i + 1..j].iter().collect();
                    out.push_str(&format!("${{{digits}}}"));
                    i = j;
                    continue;
                }
                if n == 'g' && chars.get(i + 2) == Some(&'<') {
                    if let Some(end) = chars[i + 3..].iter().position(|c| *c == '>') {
                        let name: String = chars[i + 3..i + 3 + end].iter().collect();
                        out.push_str(&format!("${{{name}}}"));
                        i += 4 + end;
                        continue;
                    }
                }
                match n {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' => out.push('\\'),
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
                i += 2;
                continue;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False, count=0)`.
fn regex_replace(
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let flags = Flags::from_kwargs(&kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    let pattern = kwargs
        .get::<Option<String>>("pattern")?
        .or(pattern)
        .unwrap_or_default();
    let replacement = kwargs
        .get::<Option<String>>("replacement")?
        .or(replacement)
        .unwrap_or_default();
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let re = compile(&pattern, flags, Anchor::Anywhere)?;
    Ok(re
        .replacen(&s, count, translate_replacement(&replacement).as_str())
        .into_owned())
}

/// Which group a `regex_search` argument names: `'\\1'` or `'\\g<name>'`.
fn group_ref(arg: &str) -> Result<Either, Error> {
    if let Some(n) = arg.strip_prefix('\\').and_then(|d| d.parse::<usize>().ok()) {
        return Ok(Either::Index(n));
    }
    if let Some(name) = arg.strip_prefix("\\g<").and_then(|r| r.strip_suffix('>')) {
        return Ok(match name.parse::<usize>() {
            Ok(n) => Either::Index(n),
            Err(_) => Either::Name(name.to_string()),
        });
    }
    Err(invalid(format!(
        "regex_search: unknown group argument {arg:?} (use '\\\\1' or '\\\\g<name>')"
    )))
}

enum Either {
    Index(usize),
    Name(String),
}

/// `regex_search(regex, *groups, ignorecase=False, multiline=False)`: the
/// match, the listed groups, or None.
fn regex_search(
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let flags = Flags::from_kwargs(&kwargs)?;
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let re = compile(&pattern, flags, Anchor::Anywhere)?;
    let Some(caps) = re.captures(&s) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = match group_ref(g)? {
            Either::Index(n) => caps.get(n),
            Either::Name(name) => caps.name(&name),
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

/// `regex_findall(regex, multiline=False, ignorecase=False)`: Python's
/// `re.findall` (whole matches, the one group, or lists of groups).
fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let flags = Flags::from_kwargs(&kwargs)?;
    kwargs.assert_all_used()?;
    let s = text(value)?;
    let re = compile(&pattern, flags, Anchor::Anywhere)?;
    let groups = re.captures_len() - 1;
    let out: Vec<Value> = re
        .captures_iter(&s)
        .map(|caps| {
            let g = |i: usize| caps.get(i).map_or("", |m| m.as_str()).to_string();
            match groups {
                0 => Value::from(g(0)),
                1 => Value::from(g(1)),
                n => Value::from((1..=n).map(g).collect::<Vec<_>>()),
            }
        })
        .collect();
    Ok(Value::from(out))
}

/// `regex_escape()`: Python's `re.escape` (3.7+).
fn regex_escape(value: &Value, re_type: Option<String>) -> Result<String, Error> {
    let s = text(value)?;
    match re_type.as_deref().unwrap_or("python") {
        "python" => Ok(s
            .chars()
            .flat_map(|c| {
                let special = "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c);
                special
                    .then_some('\\')
                    .into_iter()
                    .chain(std::iter::once(c))
            })
            .collect()),
        "posix_basic" => Ok(s
            .chars()
            .flat_map(|c| {
                "$.*[\\^"
                    .contains(c)
                    .then_some('\\')
                    .into_iter()
                    .chain(std::iter::once(c))
            })
            .collect()),
        other => Err(invalid(format!(
            "regex_escape: unknown re_type '{other}' (python, posix_basic)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};
    use super::*;

    #[test]
    fn regex_replace_like_re_sub() {
        // Ansible docs examples.
        assert_eq!(
            render(r"{{ 'ansible' | regex_replace('^a.*i(.*)$', 'a\\1') }}"),
            "able"
        );
        assert_eq!(
            render(r"{{ 'foobar' | regex_replace('^f.*o(.*)$', '\\1') }}"),
            "bar"
        );
        assert_eq!(
            render(
                r"{{ 'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\\d+)$', '\\g<host>, \\g<port>') }}"
            ),
            "localhost, 80"
        );
        assert_eq!(
            render(r"{{ 'localhost:80' | regex_replace(':80') }}"),
            "localhost"
        );
        assert_eq!(
            render(
                r"{{ 'CAR\nCAR' | regex_replace('^car', 'bus', ignorecase=true, multiline=true) }}"
            ),
            "bus\nbus"
        );
        assert_eq!(
            render(r"{{ 'aaa' | regex_replace('a', 'b', count=2) }}"),
            "bba"
        );
        assert_eq!(
            render(r"{{ 'price' | regex_replace('price', '$5') }}"),
            "$5"
        );
        assert!(
            render_err(r"{{ 'x' | regex_replace('(', 'y') }}")
                .contains("invalid regular expression")
        );
    }

    #[test]
    fn regex_search_returns_match_groups_or_none() {
        // Ansible docs examples.
        assert_eq!(
            render("{{ 'server1/database42' | regex_search('database[0-9]+') }}"),
            "database42"
        );
        assert_eq!(
            render("{{ 'ansible' | regex_search('ANSIBLE', ignorecase=True) }}"),
            "ansible"
        );
        assert_eq!(
            render("{{ 'foo\\nBAR' | regex_search('^bar', multiline=True, ignorecase=True) }}"),
            "BAR"
        );
        assert_eq!(
            render(
                r"{{ 'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\\1', '\\2') }}"
            ),
            "['1', '42']"
        );
        assert_eq!(
            render(
                r"{{ '21/42' | regex_search('(?P<dividend>[0-9]+)/(?P<divisor>[0-9]+)', '\\g<dividend>', '\\g<divisor>') }}"
            ),
            "['21', '42']"
        );
        assert_eq!(
            render("{{ 'ansible' | regex_search('foobar') is none }}"),
            "True"
        );
        assert_eq!(render("{{ 'ansible' | regex_search('foobar') }}"), "");
    }

    #[test]
    fn regex_findall_like_re_findall() {
        // Ansible docs: {{ 'Some DNS servers are 8.8.8.8 and 8.8.4.4' | regex_findall('\\b(?:[0-9]{1,3}\\.){3}[0-9]{1,3}\\b') }}
        assert_eq!(
            render(
                r"{{ 'Some DNS servers are 8.8.8.8 and 8.8.4.4' | regex_findall('\\b(?:[0-9]{1,3}\\.){3}[0-9]{1,3}\\b') }}"
            ),
            "['8.8.8.8', '8.8.4.4']"
        );
        assert_eq!(
            render(r"{{ 'a1 b2' | regex_findall('([a-z])([0-9])') }}"),
            "[['a', '1'], ['b', '2']]"
        );
        assert_eq!(
            render(r"{{ 'a1 b2' | regex_findall('[a-z]([0-9])') }}"),
            "['1', '2']"
        );
    }

    #[test]
    fn regex_escape_like_re_escape() {
        // Ansible docs: {{ '^f.*o(.*)$' | regex_escape() }} -> \^f\.\*o\(\.\*\)\$
        assert_eq!(
            render("{{ '^f.*o(.*)$' | regex_escape() }}"),
            r"\^f\.\*o\(\.\*\)\$"
        );
        assert_eq!(
            render("{{ '^f.*o(.*)$' | regex_escape('posix_basic') }}"),
            r"\^f\.\*o(\.\*)\$"
        );
    }

    #[test]
    fn python_replacement_syntax() {
        assert_eq!(
            translate_replacement(r"\1-\g<x>-$-\\-\n"),
            "${1}-${x}-$$-\\-\n"
        );
        assert_eq!(translate(r"abc\Z"), r"abc\z");
    }
}
