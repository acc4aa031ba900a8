//! Ansible's Jinja tests: task results (succeeded, failed, changed, skipped),
//! regular expressions (match, search, regex), sets, versions and paths.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::filters_regex::{Anchor, Flags, compile};
use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |r: &Value| Ok(!result_flag(r, "failed", name)?));
    }
    for name in ["failed", "failure"] {
        env.add_test(name, |r: &Value| result_flag(r, "failed", name));
    }
    for name in ["changed", "change"] {
        env.add_test(name, changed);
    }
    for name in ["skipped", "skip"] {
        env.add_test(name, |r: &Value| result_flag(r, "skipped", name));
    }
    env.add_test("unreachable", |r: &Value| {
        result_flag(r, "unreachable", "unreachable")
    });
    env.add_test("reachable", |r: &Value| {
        Ok(!result_flag(r, "unreachable", "reachable")?)
    });
    env.add_test("finished", finished);
    env.add_test("match", |v: &Value, p: String, k: Kwargs| {
        regex_test(v, &p, k, Anchor::Start)
    });
    env.add_test("search", |v: &Value, p: String, k: Kwargs| {
        regex_test(v, &p, k, Anchor::Anywhere)
    });
    env.add_test("regex", regex);
    env.add_test("contains", contains);
    env.add_test("subset", |a: &Value, b: &Value| {
        Ok(items(a)?
            .iter()
            .all(|x| items(b).is_ok_and(|b| b.contains(x))))
    });
    env.add_test("superset", |a: &Value, b: &Value| {
        Ok(items(b)?
            .iter()
            .all(|x| items(a).is_ok_and(|a| a.contains(x))))
    });
    env.add_test("any", |v: &Value| Ok(items(v)?.iter().any(Value::is_true)));
    env.add_test("all", |v: &Value| Ok(items(v)?.iter().all(Value::is_true)));
    env.add_test("truthy", |v: &Value| v.is_true());
    env.add_test("falsy", |v: &Value| !v.is_true());
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("abs", |p: &str| p.starts_with('/'));
    env.add_test("exists", |p: &str| std::path::Path::new(p).exists());
    env.add_test("file", |p: &str| std::path::Path::new(p).is_file());
    env.add_test("directory", |p: &str| std::path::Path::new(p).is_dir());
    env.add_test("link", |p: &str| {
        std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
    });
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn expect_result(r: &Value, test: &str) -> Result<(), Error> {
    if r.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if r.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "the '{test}' test expects a dictionary (a registered result), got {}",
            r.kind()
        )));
    }
    Ok(())
}

/// `result[key]` truthiness, false when absent.
fn result_flag(r: &Value, key: &str, test: &str) -> Result<bool, Error> {
    expect_result(r, test)?;
    Ok(r.get_attr(key).is_ok_and(|v| v.is_true()))
}

/// A result is changed if it says so, or (a loop result without its own
/// `changed`) if any of its `results` is.
fn changed(r: &Value) -> Result<bool, Error> {
    expect_result(r, "changed")?;
    let own = r.get_attr("changed")?;
    if !own.is_undefined() {
        return Ok(own.is_true());
    }
    let results = r.get_attr("results")?;
    if results.kind() != ValueKind::Seq {
        return Ok(false);
    }
    Ok(results
        .try_iter()?
        .any(|item| item.get_attr("changed").is_ok_and(|c| c.is_true())))
}

/// Async results: finished unless `finished` says otherwise.
fn finished(r: &Value) -> Result<bool, Error> {
    expect_result(r, "finished")?;
    let f = r.get_attr("finished")?;
    Ok(f.is_undefined() || f.is_true())
}

fn regex_test(v: &Value, pattern: &str, kwargs: Kwargs, anchor: Anchor) -> Result<bool, Error> {
    let flags = Flags::from_kwargs(&kwargs)?;
    kwargs.assert_all_used()?;
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let s = py_str(v)?;
    Ok(compile(pattern, flags, anchor)?.is_match(&s))
}

/// `regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
fn regex(v: &Value, pattern: String, kwargs: Kwargs) -> Result<bool, Error> {
    let anchor = match kwargs
        .get::<Option<&str>>("match_type")?
        .unwrap_or("search")
    {
        "search" => Anchor::Anywhere,
        "match" => Anchor::Start,
        other => {
            return Err(invalid(format!(
                "regex test: unknown match_type '{other}' (search, match)"
            )));
        }
    };
    regex_test(v, &pattern, kwargs, anchor)
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(v.try_iter()?.collect())
}

/// `seq is contains(x)`: membership, usable with `select`.
fn contains(seq: &Value, item: &Value) -> Result<bool, Error> {
    Ok(items(seq)?.contains(item))
}

/// A piece of a loose version: numbers compare as numbers, words as words,
/// and numbers sort before words (distutils LooseVersion, without its
/// Python 3 TypeError).
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u64),
    Word(String),
}

impl PartialOrd for Part {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Part {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Part::Num(a), Part::Num(b)) => a.cmp(b),
            (Part::Word(a), Part::Word(b)) => a.cmp(b),
            (Part::Num(_), Part::Word(_)) => Ordering::Less,
            (Part::Word(_), Part::Num(_)) => Ordering::Greater,
        }
    }
}

fn loose_parts(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut chars = v.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            parts.push(Part::Num(n.parse().unwrap_or(u64::MAX)));
        } else if c.is_alphabetic() {
            let mut w = String::new();
            while let Some(&a) = chars.peek().filter(|a| a.is_alphabetic()) {
                w.push(a);
                chars.next();
            }
            parts.push(Part::Word(w));
        } else {
            chars.next();
        }
    }
    parts
}

/// `version(other, operator='eq', strict=False, version_type='loose')`.
fn version(v: &Value, other: &Value, op: Option<String>, kwargs: Kwargs) -> Result<bool, Error> {
    let op = kwargs
        .get::<Option<String>>("operator")?
        .or(op)
        .unwrap_or_else(|| "eq".into());
    let _ = kwargs.get::<Option<bool>>("strict")?;
    let _ = kwargs.get::<Option<String>>("version_type")?;
    kwargs.assert_all_used()?;
    if v.is_undefined() || other.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let ord = loose_parts(&py_str(v)?).cmp(&loose_parts(&py_str(other)?));
    Ok(match op.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => return Err(invalid(format!("version test: unknown operator '{other}'"))),
    })
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};

    #[test]
    fn defined_and_undefined() {
        assert_eq!(render("{{ nope is defined }}"), "False");
        assert_eq!(render("{{ nope is undefined }}"), "True");
        assert_eq!(render("{{ zero is defined }}"), "True");
        assert_eq!(render("{{ dict.a is defined }}"), "True");
        assert_eq!(render("{{ dict.missing is defined }}"), "False");
        assert_eq!(render("{{ dict['missing'] is undefined }}"), "True");
        assert_eq!(render("{{ none is none }}"), "True");
        assert_eq!(render("{{ zero is none }}"), "False");
    }

    #[test]
    fn task_result_tests() {
        assert_eq!(render("{{ ok_result is succeeded }}"), "True");
        assert_eq!(render("{{ ok_result is success }}"), "True");
        assert_eq!(render("{{ ok_result is failed }}"), "False");
        assert_eq!(render("{{ ok_result is changed }}"), "True");
        assert_eq!(render("{{ ok_result is skipped }}"), "False");
        assert_eq!(render("{{ failed_result is failed }}"), "True");
        assert_eq!(render("{{ failed_result is failure }}"), "True");
        assert_eq!(render("{{ failed_result is succeeded }}"), "False");
        assert_eq!(render("{{ failed_result is changed }}"), "False");
        assert_eq!(render("{{ skipped_result is skipped }}"), "True");
        assert_eq!(render("{{ skipped_result is succeeded }}"), "True");
        // A loop result is changed when one of its items is.
        assert_eq!(render("{{ loop_result is changed }}"), "True");
        assert_eq!(
            render("{{ {'results': [{'changed': false}]} is changed }}"),
            "False"
        );
        assert!(render_err("{{ 'text' is failed }}").contains("expects a dictionary"));
        assert!(render_err("{{ nope is failed }}").contains("'nope' is undefined"));
    }

    #[test]
    fn regex_tests() {
        // Ansible docs: url is match("https://example.com/users/.*/resources") / search("users/.*/resources")
        let url = "'https://example.com/users/foo/resources/bar'";
        assert_eq!(
            render(&format!(
                "{{{{ {url} is match('https://example.com/users/.*/resources') }}}}"
            )),
            "True"
        );
        assert_eq!(
            render(&format!(
                "{{{{ {url} is search('users/.*/resources/.*') }}}}"
            )),
            "True"
        );
        assert_eq!(
            render(&format!("{{{{ {url} is match('users/.*/resources') }}}}")),
            "False"
        );
        assert_eq!(
            render(&format!(
                "{{{{ {url} is search('USERS', ignorecase=true) }}}}"
            )),
            "True"
        );
        assert_eq!(
            render(&format!(
                "{{{{ {url} is regex('example\\.com/\\w+/foo') }}}}"
            )),
            "True"
        );
        assert_eq!(
            render(&format!(
                "{{{{ {url} is regex('example', match_type='match') }}}}"
            )),
            "False"
        );
        assert_eq!(
            render("{{ ['apple', 'banana', 'avocado'] | select('match', 'a') | list }}"),
            "['apple', 'avocado']"
        );
        assert_eq!(
            render("{{ 'a\\nb' is search('^b$', multiline=true) }}"),
            "True"
        );
    }

    #[test]
    fn membership_and_set_tests() {
        assert_eq!(render("{{ 'a' in ['a', 'b'] }}"), "True");
        assert_eq!(render("{{ 'a' is in ['a', 'b'] }}"), "True");
        assert_eq!(render("{{ 'c' is in ['a', 'b'] }}"), "False");
        assert_eq!(render("{{ 'ell' in 'hello' }}"), "True");
        assert_eq!(render("{{ ['a', 'b'] is contains('a') }}"), "True");
        // Ansible docs: subset/superset
        assert_eq!(render("{{ [1, 2] is subset([1, 2, 3]) }}"), "True");
        assert_eq!(render("{{ [1, 2, 3] is superset([1, 2]) }}"), "True");
        assert_eq!(render("{{ [1, 4] is subset([1, 2, 3]) }}"), "False");
        assert_eq!(render("{{ [true, false] is any }}"), "True");
        assert_eq!(render("{{ [true, false] is all }}"), "False");
    }

    #[test]
    fn version_tests() {
        // Ansible docs: {{ ansible_facts['distribution_version'] is version('12.04', '>=') }}
        assert_eq!(render("{{ '12.04' is version('12.04', '>=') }}"), "True");
        assert_eq!(render("{{ '1.10' is version('1.9', '>') }}"), "True");
        assert_eq!(render("{{ '2.0.0' is version('2.0.0', 'eq') }}"), "True");
        assert_eq!(render("{{ '1.0rc1' is version('1.0', '>') }}"), "True");
        assert_eq!(
            render("{{ '20.04' is version('22.04', operator='lt') }}"),
            "True"
        );
        assert_eq!(render("{{ '1.2' is version_compare('1.3', '<') }}"), "True");
        assert!(render_err("{{ '1' is version('2', 'about') }}").contains("unknown operator"));
    }

    #[test]
    fn path_and_truth_tests() {
        assert_eq!(render("{{ '/etc' is abs }}"), "True");
        assert_eq!(render("{{ 'etc' is abs }}"), "False");
        assert_eq!(render("{{ '/' is directory }}"), "True");
        assert_eq!(render("{{ '/' is file }}"), "False");
        assert_eq!(render("{{ '/nonexistent/x' is exists }}"), "False");
        assert_eq!(render("{{ 'x' is truthy }}"), "True");
        assert_eq!(render("{{ '' is falsy }}"), "True");
    }
}
