//! INI inventories, read line by line like Ansible's ini plugin: the lines
//! before the first section are hosts of `ungrouped`; `[g]` lists hosts,
//! `[g:children]` child groups, `[g:vars]` one `key=value` per line.
//! A section may appear several times: its contents add up.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::InventoryError;
use super::data::{Data, UNGROUPED};
use super::{address, literal, pyshlex};

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("static regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("static regex"));

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group named before it was declared: `[g:vars]` for a group not (yet)
/// declared, or a child in `[p:children]` not (yet) declared.
struct Pending {
    name: String,
    line: usize,
    state: State,
    parents: Vec<usize>,
}

pub(crate) fn parse(data: &mut Data, path: &Path, text: &str) -> Result<(), InventoryError> {
    let mut pending: Vec<Pending> = Vec::new();
    let mut group = UNGROUPED;
    let mut state = State::Hosts;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let err = |msg: String| InventoryError::at(path, lineno, msg);
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(c) = SECTION.captures(line) {
            let name = &c[1];
            state = match c.get(2).map(|m| m.as_str()) {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(err(format!(
                        "Section [{name}:{other}] has unknown type: {other} (expected [{name}], [{name}:children] or [{name}:vars])"
                    )));
                }
            };
            if data.group(name).is_none()
                && state == State::Vars
                && !pending.iter().any(|p| p.name == name)
            {
                pending.push(Pending {
                    name: name.to_string(),
                    line: lineno,
                    state,
                    parents: Vec::new(),
                });
            }
            group = data.add_group(name);
            if state != State::Vars {
                resolve_pending(data, &mut pending, name).map_err(err)?;
            }
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            return Err(err(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
            )));
        }
        match state {
            State::Hosts => host_line(data, group, line).map_err(err)?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(err(format!("Expected key=value, got: {line}")));
                };
                data.set_group_var(group, k.trim(), literal::parse_value(v.trim()))
                    .map_err(err)?;
            }
            State::Children => {
                let Some(c) = GROUP_NAME.captures(line) else {
                    return Err(err(format!("Expected group name, got: {line}")));
                };
                let child = &c[1];
                match data.group(child) {
                    Some(ch) => data.add_child(group, ch).map_err(err)?,
                    None => match pending.iter_mut().find(|p| p.name == child) {
                        Some(p) => p.parents.push(group),
                        None => pending.push(Pending {
                            name: child.to_string(),
                            line: lineno,
                            state,
                            parents: vec![group],
                        }),
                    },
                }
            }
        }
    }
    if let Some(p) = pending.first() {
        let msg = match p.state {
            State::Vars => format!(
                "Section [{0}:vars] not valid for undefined group '{0}'.",
                p.name
            ),
            _ => {
                let parent = p
                    .parents
                    .last()
                    .map_or("", |&g| data.groups[g].name.as_str());
                let hint = if data.host(&p.name).is_some() {
                    format!(
                        " ('{0}' is a host: list it under [{parent}], not [{parent}:children])",
                        p.name
                    )
                } else {
                    format!(" (declare it with [{}])", p.name)
                };
                format!(
                    "Section [{parent}:children] includes undefined group '{}'.{hint}",
                    p.name
                )
            }
        };
        return Err(InventoryError::at(path, p.line, msg));
    }
    Ok(())
}

/// A group declared at last: links it under the parents that named it early.
fn resolve_pending(data: &mut Data, pending: &mut Vec<Pending>, name: &str) -> Result<(), String> {
    let Some(pos) = pending.iter().position(|p| p.name == name) else {
        return Ok(());
    };
    let p = pending.remove(pos);
    if p.state == State::Children {
        let child = data.add_group(name);
        for parent in p.parents {
            data.add_child(parent, child)?;
            let parent_name = data.groups[parent].name.clone();
            if pending
                .iter()
                .any(|q| q.name == parent_name && q.state == State::Children)
            {
                resolve_pending(data, pending, &parent_name)?;
            }
        }
    }
    Ok(())
}

/// `host[:port] [key=value ...]`: values are Python literals after shell-like
/// unquoting, so `x="1"` is the number 1 and `x='a b'` the string `a b`.
fn host_line(data: &mut Data, group: usize, line: &str) -> Result<(), String> {
    let tokens =
        pyshlex::split(line).map_err(|e| format!("Error parsing host definition '{line}': {e}"))?;
    let Some(first) = tokens.first() else {
        return Err(format!("Expected a host name, got: {line}"));
    };
    let (names, port) = address::expand_hostpattern(first)?;
    if first.trim().ends_with(':') && port.is_none() {
        return Err(format!(
            "Invalid host pattern '{first}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
        ));
    }
    if names.iter().any(|n| n.trim() == "---") {
        return Err(format!(
            "Invalid host pattern '{first}' supplied, '---' is normally a sign this is a YAML file."
        ));
    }
    let mut vars = Vec::new();
    for t in &tokens[1..] {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "Expected key=value host variable assignment, got: {t}"
            ));
        };
        vars.push((k.to_string(), literal::parse_value(v)));
    }
    for name in names {
        let h = data.add_host(&name, Some(group), port)?;
        for (k, v) in &vars {
            data.set_host_var(h, k, v.clone());
        }
    }
    Ok(())
}
