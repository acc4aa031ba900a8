//! Lookups behind Ansible's `with_<name>` loops (sequence, nested, together,
//! indexed_items, subelements, fileglob) and the `subelements` filter.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

use super::pyfmt::py_str;

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn list(v: &Value, what: &str) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(v.try_iter()?.collect()),
        other => Err(invalid(format!("{what} expects lists, got {other}"))),
    }
}

/// `with_sequence`: `start=1 end=5 stride=1 format=host%02d`, `count=3`, or
/// the short form `[start-]end[/stride][:format]`.
pub fn sequence(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let spec = py_str(term)?;
        let (start, end, stride, format) = parse_sequence(&spec)?;
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(printf_int(&format, i)?));
            i += stride;
        }
    }
    Ok(out)
}

fn parse_num(s: &str) -> Result<i64, Error> {
    let s = s.trim();
    let parsed = if let Some(h) = s.strip_prefix("0x") {
        i64::from_str_radix(h, 16)
    } else if let Some(o) = s.strip_prefix("0o") {
        i64::from_str_radix(o, 8)
    } else {
        s.parse()
    };
    parsed.map_err(|_| invalid(format!("sequence: '{s}' is not a number")))
}

fn parse_sequence(spec: &str) -> Result<(i64, i64, i64, String), Error> {
    let (mut start, mut end, mut stride, mut count, mut format) =
        (1, None, 1, None, "%d".to_string());
    if spec.contains('=') {
        for part in spec.split_whitespace() {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| invalid(format!("sequence: bad term '{part}'")))?;
            match k {
                "start" => start = parse_num(v)?,
                "end" => end = Some(parse_num(v)?),
                "stride" => stride = parse_num(v)?,
                "count" => count = Some(parse_num(v)?),
                "format" => format = v.to_string(),
                other => return Err(invalid(format!("sequence: unknown option '{other}'"))),
            }
        }
    } else {
        let (range, fmt) = match spec.split_once(':') {
            Some((r, f)) => (r, Some(f)),
            None => (spec, None),
        };
        let (range, st) = match range.split_once('/') {
            Some((r, s)) => (r, Some(parse_num(s)?)),
            None => (range, None),
        };
        match range.split_once('-') {
            Some((s, e)) => {
                start = parse_num(s)?;
                end = Some(parse_num(e)?);
            }
            None => end = Some(parse_num(range)?),
        }
        stride = st.unwrap_or(1);
        if let Some(f) = fmt {
            format = f.to_string();
        }
    }
    let end = match (end, count) {
        (Some(_), Some(_)) => return Err(invalid("sequence: can't use both count and end")),
        (Some(e), None) => e,
        (None, Some(0)) => return Ok((1, 0, 1, format)),
        (None, Some(c)) => start + (c - 1) * stride,
        (None, None) => return Err(invalid("sequence: must specify count or end")),
    };
    if stride == 0 {
        return Err(invalid("sequence: stride must not be 0"));
    }
    if (stride > 0 && end < start) || (stride < 0 && end > start) {
        return Err(invalid("sequence: to count backwards make stride negative"));
    }
    Ok((start, end, stride, format))
}

/// Python `%` formatting of one integer: `%d`, `%05d`, `%x`, `%o`, `%s`, `%%`.
pub fn printf_int(format: &str, n: i64) -> Result<String, Error> {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek().filter(|f| f.is_ascii_digit() || **f == '-') {
            flags.push(f);
            chars.next();
        }
        let conv = chars
            .next()
            .ok_or_else(|| invalid(format!("incomplete format '{format}'")))?;
        let body = match conv {
            '%' => {
                out.push('%');
                continue;
            }
            'd' | 'i' | 's' | 'u' => n.to_string(),
            'x' => format!("{n:x}"),
            'X' => format!("{n:X}"),
            'o' => format!("{n:o}"),
            other => {
                return Err(invalid(format!(
                    "unsupported format character '{other}' in '{format}'"
                )));
            }
        };
        let left = flags.starts_with('-');
        let flags = flags.trim_start_matches('-');
        let zero = flags.starts_with('0') && !left;
        let width: usize = flags.parse().unwrap_or(0);
        let pad = width.saturating_sub(body.len());
        if left {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if zero && body.starts_with('-') {
            out.push('-');
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(&body[1..]);
        } else {
            out.extend(std::iter::repeat_n(if zero { '0' } else { ' ' }, pad));
            out.push_str(&body);
        }
    }
    Ok(out)
}

/// `with_nested`: every combination, first list outermost.
pub fn nested(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut combos: Vec<Vec<Value>> = vec![Vec::new()];
    for term in terms {
        let items = list(term, "nested")?;
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                items.iter().map(move |i| {
                    let mut c = prefix.clone();
                    c.push(i.clone());
                    c
                })
            })
            .collect();
    }
    Ok(combos.into_iter().map(Value::from).collect())
}

/// `with_together`: the lists side by side, shorter ones padded with None.
pub fn together(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let lists = terms
        .iter()
        .map(|t| list(t, "together"))
        .collect::<Result<Vec<_>, _>>()?;
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..len)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

/// `with_indexed_items`: `[index, item]` pairs.
pub fn indexed_items(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let items: Vec<Value> = terms
        .iter()
        .flat_map(|t| {
            if t.kind() == ValueKind::Seq {
                t.try_iter().into_iter().flatten().collect()
            } else {
                vec![t.clone()]
            }
        })
        .collect();
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, v)| Value::from(vec![Value::from(i), v]))
        .collect())
}

/// `[item, sub]` for each `sub` in `item[path]` (`path` may be dotted).
fn subelements_of(items: &Value, path: &str, skip_missing: bool) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for item in list(items, "subelements")? {
        let mut sub = item.clone();
        for key in path.split('.') {
            sub = if sub.is_undefined() {
                sub
            } else {
                sub.get_attr(key)?
            };
        }
        if sub.is_undefined() {
            if skip_missing {
                continue;
            }
            return Err(invalid(format!(
                "subelements: could not find '{path}' key in iterated item {}",
                py_str(&item)?
            )));
        }
        for s in list(&sub, "subelements")? {
            out.push(Value::from(vec![item.clone(), s]));
        }
    }
    Ok(out)
}

/// `with_subelements: [list, 'key', {skip_missing: true}]`.
pub fn subelements_lookup(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let (items, path) = match terms {
        [items, path, ..] => (items, py_str(path)?),
        _ => return Err(invalid("subelements lookup expects a list and a key")),
    };
    let mut skip = kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false);
    if let Some(flags) = terms.get(2) {
        skip |= flags.get_attr("skip_missing").is_ok_and(|v| v.is_true());
    }
    subelements_of(items, &path, skip)
}

/// The `subelements('key', skip_missing=False)` filter.
pub fn subelements_filter(
    items: &Value,
    path: String,
    skip_missing: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip = kwargs
        .get::<Option<bool>>("skip_missing")?
        .or(skip_missing)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    Ok(Value::from(subelements_of(items, &path, skip)?))
}

/// Shell-style match of one path component (`*`, `?`, `[abc]`).
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some('*'), _) => {
            glob_match(&pattern[1..], name) || (!name.is_empty() && glob_match(pattern, &name[1..]))
        }
        (Some('?'), Some(_)) => glob_match(&pattern[1..], &name[1..]),
        (Some('['), Some(c)) => match pattern.iter().position(|p| *p == ']') {
            Some(end) if end > 1 => {
                let set = &pattern[1..end];
                let (negate, set) = match set.first() {
                    Some('!' | '^') => (true, &set[1..]),
                    _ => (false, set),
                };
                (set.contains(c) != negate) && glob_match(&pattern[end + 1..], &name[1..])
            }
            _ => *c == '[' && glob_match(&pattern[1..], &name[1..]),
        },
        (Some(p), Some(c)) => p == c && glob_match(&pattern[1..], &name[1..]),
        _ => false,
    }
}

/// `with_fileglob`: files matching a pattern in its last component; relative
/// patterns are searched like the `file` lookup.
pub fn fileglob(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for term in terms {
        let pattern = py_str(term)?;
        for candidate in super::lookups::search_path(state, &pattern, "files") {
            let dir = candidate
                .parent()
                .map(|d| d.to_path_buf())
                .unwrap_or_default();
            let name_pat: Vec<char> = candidate
                .file_name()
                .map(|n| n.to_string_lossy().chars().collect())
                .unwrap_or_default();
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut found: Vec<String> = entries
                .flatten()
                .filter(|e| e.path().is_file())
                .filter(|e| {
                    glob_match(
                        &name_pat,
                        &e.file_name().to_string_lossy().chars().collect::<Vec<_>>(),
                    )
                })
                .map(|e| e.path().to_string_lossy().into_owned())
                .collect();
            if !found.is_empty() {
                found.sort();
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err, render_with};
    use super::*;

    #[test]
    fn sequence_forms() {
        // Ansible docs: with_sequence examples.
        assert_eq!(
            render("{{ query('sequence', 'start=0 end=4 stride=2 format=testuser%02x') }}"),
            "['testuser00', 'testuser02', 'testuser04']"
        );
        assert_eq!(
            render("{{ query('sequence', 'count=3') }}"),
            "['1', '2', '3']"
        );
        assert_eq!(
            render("{{ query('sequence', '4-8/2:host%02d') }}"),
            "['host04', 'host06', 'host08']"
        );
        assert_eq!(
            render("{{ query('sequence', 'start=4 end=16 stride=4') }}"),
            "['4', '8', '12', '16']"
        );
        assert_eq!(
            render("{{ query('sequence', 'start=3 end=1 stride=-1') }}"),
            "['3', '2', '1']"
        );
        assert_eq!(render("{{ query('sequence', 'count=0') }}"), "[]");
        assert!(render_err("{{ query('sequence', 'start=5 end=1') }}").contains("backwards"));
        assert_eq!(printf_int("%-4d|%4d|%%|%o", 8).unwrap(), "8   |   8|%|10");
    }

    #[test]
    fn nested_together_indexed() {
        assert_eq!(
            render("{{ query('nested', ['a', 'b'], [1, 2]) }}"),
            "[['a', 1], ['a', 2], ['b', 1], ['b', 2]]"
        );
        assert_eq!(
            render("{{ query('together', ['a', 'b', 'c'], [1, 2]) }}"),
            "[['a', 1], ['b', 2], ['c', None]]"
        );
        assert_eq!(
            render("{{ query('indexed_items', ['a', 'b']) }}"),
            "[[0, 'a'], [1, 'b']]"
        );
    }

    #[test]
    fn subelements_lookup_and_filter() {
        let vars = serde_json::json!({"people": [
            {"name": "alice", "groups": ["wheel", "docker"]},
            {"name": "bob", "groups": ["users"]},
            {"name": "carol"}
        ]});
        let out = render_with(
            "{{ query('subelements', people, 'groups', {'skip_missing': True}) | map('last') | list }}",
            &vars,
        );
        assert_eq!(out, "['wheel', 'docker', 'users']");
        let out = render_with(
            "{{ people | subelements('groups', skip_missing=True) | map('first') | map(attribute='name') | list }}",
            &vars,
        );
        assert_eq!(out, "['alice', 'alice', 'bob']");
        let err = super::super::render_tests::render_err_with(
            "{{ people | subelements('groups') }}",
            &vars,
        );
        assert!(err.contains("could not find 'groups'"), "{err}");
    }

    #[test]
    fn fileglob_matches_last_component() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files/conf.d")).unwrap();
        for f in ["a.conf", "b.conf", "c.txt"] {
            std::fs::write(dir.path().join("files/conf.d").join(f), "").unwrap();
        }
        let vars = serde_json::json!({"playbook_dir": dir.path()});
        let out = render_with(
            "{{ query('fileglob', 'conf.d/*.conf') | map('basename') | list }}",
            &vars,
        );
        assert_eq!(out, "['a.conf', 'b.conf']");
        let out = render_with(
            "{{ query('fileglob', 'conf.d/[!a]*') | map('basename') | list }}",
            &vars,
        );
        assert_eq!(out, "['b.conf', 'c.txt']");
        assert_eq!(
            render_with("{{ query('fileglob', 'nothing/*') }}", &vars),
            "[]"
        );
    }
}
