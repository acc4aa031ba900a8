//! Host patterns, evaluated like Ansible's `InventoryManager.get_hosts`:
//! `all`, `*`, names, groups, globs `web*`, regexes `~web\d+`, unions
//! `a:b` / `a,b`, intersections `a:&b`, exclusions `a:!b`, subscripts
//! `g[0]`, `g[-1]`, `g[1:3]`, `g[2:]`.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::data::Data;
use super::{Inventory, InventoryError, address};

static COLON_SPLIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("static regex"));
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("static regex")
});

/// Single patterns of a pattern string. Commas separate when present;
/// otherwise colons do, except inside `[...]` and in addresses (`h:22`, IPv6).
pub(crate) fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if address::parse_address(pattern, true).is_some() {
        vec![pattern.to_string()]
    } else {
        COLON_SPLIT
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Unions first, then `&` intersections, then `!` exclusions; with no
/// union at all the base is `all`.
fn order_patterns(patterns: Vec<String>) -> Vec<String> {
    let (mut regular, mut and, mut not) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns {
        if p.starts_with('!') {
            not.push(p);
        } else if p.starts_with('&') {
            and.push(p);
        } else {
            regular.push(p);
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.into_iter().chain(and).chain(not).collect()
}

/// A compiled single pattern: a shell glob (full match) or, after `~`, a
/// regular expression anchored at the start like Python's `re.match`.
fn matcher(pattern: &str) -> Result<Regex, InventoryError> {
    let source = match pattern.strip_prefix('~') {
        Some(re) => format!("^(?:{re})"),
        None => format!("^(?s:{})\\z", glob_to_regex(pattern)),
    };
    Regex::new(&source)
        .map_err(|_| InventoryError::Pattern(format!("Invalid host list pattern: {pattern}")))
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`.
fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                    continue;
                }
                let stuff: Vec<char> = chars[i..j].to_vec();
                i = j + 1;
                let (negate, body) = match stuff.first() {
                    Some('!') => (true, &stuff[1..]),
                    _ => (false, &stuff[..]),
                };
                if stuff.is_empty() {
                    out.push_str("[^\\s\\S]"); // never matches, as Python's (?!)
                } else if negate && body.is_empty() {
                    out.push('.');
                } else {
                    out.push('[');
                    if negate {
                        out.push('^');
                    }
                    for &b in body {
                        if b == '-' || b.is_alphanumeric() {
                            out.push(b);
                        } else {
                            out.push_str(&regex::escape(&b.to_string()));
                        }
                    }
                    out.push(']');
                }
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Subscript {
    Index(i64),
    /// Inclusive; `None` end means "to the last host".
    Range(usize, Option<usize>),
}

fn split_subscript(pattern: &str) -> (String, Option<Subscript>, Option<String>) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None, None);
    }
    let Some(c) = SUBSCRIPT.captures(pattern) else {
        return (pattern.to_string(), None, None);
    };
    let expr = c[1].to_string();
    if let Some(idx) = c.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (expr, Some(Subscript::Index(i)), None),
            Err(_) => (pattern.to_string(), None, None),
        };
    }
    let start = c[3].parse().unwrap_or(usize::MAX);
    // Python tests `if end:`, so an end of 0 means a single index.
    let sub = match c[5].parse::<usize>() {
        Ok(0) => Subscript::Index(i64::try_from(start).unwrap_or(i64::MAX)),
        Ok(end) => Subscript::Range(start, Some(end)),
        Err(_) => Subscript::Range(start, None),
    };
    let warning = (&c[4] == "-").then(|| {
        "Use [x:y] inclusive subscripts instead of [x-y] which has been removed".to_string()
    });
    (expr, Some(sub), warning)
}

impl Inventory {
    /// Hosts matching an Ansible host pattern, deduplicated, plus warnings
    /// for parts that matched nothing ("Could not match supplied host
    /// pattern, ignoring: X"). Errors: a bad regex, an index out of range.
    pub fn select(&self, pattern: &str) -> Result<(Vec<String>, Vec<String>), InventoryError> {
        let mut warnings = Vec::new();
        let mut hosts: Vec<usize> = Vec::new();
        for p in order_patterns(split_host_pattern(pattern)) {
            // A plain host name needs no matching.
            if let Some(h) = self.data.host(&p) {
                hosts.push(h);
                continue;
            }
            let that = self.match_one(&p, &mut warnings)?;
            if p.starts_with('!') {
                let that: HashSet<usize> = that.into_iter().collect();
                hosts.retain(|h| !that.contains(h));
            } else if p.starts_with('&') {
                let that: HashSet<usize> = that.into_iter().collect();
                hosts.retain(|h| that.contains(h));
            } else {
                let existing: HashSet<usize> = hosts.iter().copied().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        let mut seen = HashSet::new();
        let names = hosts
            .into_iter()
            .filter(|h| seen.insert(*h))
            .map(|h| self.data.hosts[h].name.clone())
            .collect();
        Ok((names, warnings))
    }

    fn match_one(
        &self,
        pattern: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<usize>, InventoryError> {
        let bare = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        let (expr, subscript, warning) = split_subscript(bare);
        warnings.extend(warning);
        let hosts = enumerate(&self.data, &expr, warnings)?;
        apply_subscript(hosts, subscript).ok_or_else(|| {
            InventoryError::Pattern(format!("No hosts matched the subscripted pattern '{bare}'"))
        })
    }
}

/// Hosts of every group whose name matches, then (for globs, regexes or
/// when no group matched) every host whose name matches.
fn enumerate(
    data: &Data,
    expr: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<usize>, InventoryError> {
    if expr.is_empty() {
        return Ok(Vec::new());
    }
    let re = matcher(expr)?;
    let mut results = Vec::new();
    let groups: Vec<usize> = (0..data.groups.len())
        .filter(|&g| re.is_match(&data.groups[g].name))
        .collect();
    for &g in &groups {
        results.extend(data.group_hosts(g));
    }
    if groups.is_empty() || expr.starts_with('~') || expr.contains(['.', '?', '*', '[']) {
        results.extend((0..data.hosts.len()).filter(|&h| re.is_match(&data.hosts[h].name)));
    }
    if results.is_empty() && groups.is_empty() && expr != "all" {
        warnings.push(format!(
            "Could not match supplied host pattern, ignoring: {expr}"
        ));
    }
    Ok(results)
}

fn apply_subscript(hosts: Vec<usize>, subscript: Option<Subscript>) -> Option<Vec<usize>> {
    let Some(sub) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    match sub {
        Subscript::Index(i) => {
            let i = if i < 0 { i + len as i64 } else { i };
            let i = usize::try_from(i).ok().filter(|&i| i < len)?;
            Some(vec![hosts[i]])
        }
        Subscript::Range(start, end) => {
            let end = end.unwrap_or(len - 1).saturating_add(1).min(len);
            let start = start.min(len);
            Some(if start < end {
                hosts[start..end].to_vec()
            } else {
                Vec::new()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_patterns() {
        assert_eq!(
            split_host_pattern("a,b[1], c[2:3] , d"),
            ["a", "b[1]", "c[2:3]", "d"]
        );
        assert_eq!(split_host_pattern("web:&prod:!db"), ["web", "&prod", "!db"]);
        assert_eq!(split_host_pattern("g[1:2]:h"), ["g[1:2]", "h"]);
        assert_eq!(split_host_pattern("web[1:3]"), ["web[1:3]"]);
        assert_eq!(split_host_pattern("h1:22"), ["h1:22"]);
        assert_eq!(split_host_pattern("fe80::1"), ["fe80::1"]);
        assert_eq!(split_host_pattern(""), Vec::<String>::new());
    }

    #[test]
    fn ordering_puts_intersections_and_exclusions_last() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(order_patterns(v(&["!a", "&b", "c"])), v(&["c", "&b", "!a"]));
        assert_eq!(order_patterns(v(&["!a"])), v(&["all", "!a"]));
    }

    #[test]
    fn globs_translate_like_fnmatch() {
        let m = |g: &str, s: &str| matcher(g).unwrap().is_match(s);
        assert!(m("web*", "web01"));
        assert!(!m("web*", "xweb"));
        assert!(m("w?b", "web"));
        assert!(m("db[12]", "db2"));
        assert!(!m("db[!12]", "db2"));
        assert!(m("db[!12]", "db3"));
        assert!(m("a.b", "a.b"));
        assert!(!m("a.b", "axb"));
        assert!(m("x[", "x["));
        assert!(
            m("~web\\d", "web1-extra"),
            "regexes anchor at the start only"
        );
        assert!(!m("~web\\d", "my-web1"));
        assert!(matcher("~(").is_err());
    }

    #[test]
    fn subscripts() {
        assert_eq!(split_subscript("g[0]").1, Some(Subscript::Index(0)));
        assert_eq!(split_subscript("g[-1]").1, Some(Subscript::Index(-1)));
        assert_eq!(
            split_subscript("g[1:3]").1,
            Some(Subscript::Range(1, Some(3)))
        );
        assert_eq!(split_subscript("g[2:]").1, Some(Subscript::Range(2, None)));
        assert_eq!(split_subscript("g[0:0]").1, Some(Subscript::Index(0)));
        assert!(split_subscript("g[1-2]").2.is_some());
        assert_eq!(split_subscript("~g[1]").1, None);
        let h = vec![10, 11, 12, 13];
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Range(1, Some(2)))),
            Some(vec![11, 12])
        );
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Range(2, None))),
            Some(vec![12, 13])
        );
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Range(3, Some(9)))),
            Some(vec![13])
        );
        assert_eq!(
            apply_subscript(h.clone(), Some(Subscript::Index(-1))),
            Some(vec![13])
        );
        assert_eq!(apply_subscript(h.clone(), Some(Subscript::Index(4))), None);
    }
}
