//! The inventory graph: groups, hosts and the links between them, built the
//! way Ansible's `InventoryData` builds it (groups `all` and `ungrouped`
//! always exist, top-level groups hang under `all`, hosts in no group land
//! in `ungrouped`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;

use super::Vars;

pub(crate) const ALL: usize = 0;
pub(crate) const UNGROUPED: usize = 1;

#[derive(Debug)]
pub(crate) struct Group {
    pub name: String,
    /// Hosts added directly to this group, in the order they were added.
    pub hosts: Vec<usize>,
    pub children: Vec<usize>,
    pub parents: Vec<usize>,
    /// Variables from inventory files (`[g:vars]`, YAML `vars:`).
    pub vars: Vars,
    /// `ansible_group_priority`: lives here, never in `vars`, like Ansible.
    pub priority: i64,
    /// Longest path from `all`; parents sort before children.
    pub depth: usize,
}

#[derive(Debug)]
pub(crate) struct Host {
    pub name: String,
    /// Variables from inventory files (inline `k=v`, YAML host mappings, `host:port`).
    pub vars: Vars,
    /// Groups the host was added to directly.
    pub groups: Vec<usize>,
    /// The first inventory file that named this host (`inventory_file`).
    pub source: Option<PathBuf>,
}

#[derive(Debug)]
pub(crate) struct Data {
    pub groups: Vec<Group>,
    pub group_ix: HashMap<String, usize>,
    pub hosts: Vec<Host>,
    pub host_ix: HashMap<String, usize>,
    /// The file being parsed, recorded on the hosts it creates.
    pub current_source: Option<PathBuf>,
    pub warnings: Vec<String>,
    warned_group_chars: bool,
}

impl Data {
    pub fn new() -> Data {
        let mut d = Data {
            groups: Vec::new(),
            group_ix: HashMap::new(),
            hosts: Vec::new(),
            host_ix: HashMap::new(),
            current_source: None,
            warnings: Vec::new(),
            warned_group_chars: false,
        };
        d.add_group("all");
        d.add_group("ungrouped");
        // Cannot fail: two fresh groups.
        let _ = d.add_child(ALL, UNGROUPED);
        d
    }

    pub fn group(&self, name: &str) -> Option<usize> {
        self.group_ix.get(name).copied()
    }

    pub fn host(&self, name: &str) -> Option<usize> {
        self.host_ix.get(name).copied()
    }

    /// Adds a group if it is new; returns its index either way.
    pub fn add_group(&mut self, name: &str) -> usize {
        if let Some(i) = self.group(name) {
            return i;
        }
        // Ansible's default (TRANSFORM_INVALID_GROUP_CHARS=never) keeps the
        // name as written and only warns.
        let invalid = name.starts_with(|c: char| c.is_ascii_digit())
            || name.chars().any(|c| !(c.is_alphanumeric() || c == '_'));
        if invalid && !self.warned_group_chars {
            self.warned_group_chars = true;
            self.warnings.push(format!(
                "Invalid characters were found in group names but not replaced (first: '{name}'); group names should be letters, digits and underscores"
            ));
        }
        let i = self.groups.len();
        self.groups.push(Group {
            name: name.to_string(),
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            vars: Vars::new(),
            priority: 1,
            depth: 0,
        });
        self.group_ix.insert(name.to_string(), i);
        i
    }

    /// Adds a host (if new) and puts it in `group`. A port given with the
    /// host (`h:2222`) becomes `ansible_port`, only when the host is new,
    /// as in Ansible.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<usize>,
        port: Option<u64>,
    ) -> Result<usize, String> {
        if name.is_empty() {
            return Err("invalid empty host name".into());
        }
        let h = match self.host(name) {
            Some(h) => h,
            None => {
                let h = self.hosts.len();
                let mut vars = Vars::new();
                if let Some(port) = port {
                    vars.insert("ansible_port".into(), Value::from(port));
                }
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars,
                    groups: Vec::new(),
                    source: self.current_source.clone(),
                });
                self.host_ix.insert(name.to_string(), h);
                h
            }
        };
        if let Some(g) = group {
            self.put_host(g, h);
        }
        Ok(h)
    }

    fn put_host(&mut self, g: usize, h: usize) {
        if !self.groups[g].hosts.contains(&h) {
            self.groups[g].hosts.push(h);
            self.hosts[h].groups.push(g);
        }
    }

    pub fn set_host_var(&mut self, h: usize, key: &str, value: Value) {
        self.hosts[h].vars.insert(key.to_string(), value);
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority.
    pub fn set_group_var(&mut self, g: usize, key: &str, value: Value) -> Result<(), String> {
        if key == "ansible_group_priority" {
            self.groups[g].priority = python_int(&value).ok_or_else(|| {
                format!(
                    "ansible_group_priority of group '{}' must be an integer, got {value}",
                    self.groups[g].name
                )
            })?;
        } else {
            self.groups[g].vars.insert(key.to_string(), value);
        }
        Ok(())
    }

    /// Makes `child` a child group of `parent`, refusing loops.
    pub fn add_child(&mut self, parent: usize, child: usize) -> Result<(), String> {
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        if parent == child || self.ancestors(parent).contains(&child) {
            return Err(format!(
                "Adding group '{}' as child to '{}' creates a recursive dependency loop.",
                self.groups[child].name, self.groups[parent].name
            ));
        }
        self.groups[parent].children.push(child);
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// All groups above `g` (not `g` itself).
    pub fn ancestors(&self, g: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut todo: Vec<usize> = self.groups[g].parents.clone();
        while let Some(p) = todo.pop() {
            if seen.insert(p) {
                todo.extend(&self.groups[p].parents);
            }
        }
        seen
    }

    /// Every group a host belongs to, directly or through a child group.
    pub fn host_groups(&self, h: usize) -> HashSet<usize> {
        let mut all = HashSet::new();
        for &g in &self.hosts[h].groups {
            all.insert(g);
            all.extend(self.ancestors(g));
        }
        all
    }

    /// `g` and its descendants, breadth first: the order Ansible walks them.
    pub fn descendants(&self, g: usize) -> Vec<usize> {
        let mut ordered = vec![g];
        ordered.extend(&self.groups[g].children);
        let mut seen: HashSet<usize> = ordered.iter().copied().collect();
        let mut frontier = ordered.clone();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for f in frontier {
                for &c in &self.groups[f].children {
                    if seen.insert(c) {
                        ordered.push(c);
                        next.push(c);
                    }
                }
            }
            frontier = next;
        }
        ordered
    }

    /// The hosts of a group and of all its descendants, without repeats.
    pub fn group_hosts(&self, g: usize) -> Vec<usize> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for d in self.descendants(g) {
            for &h in &self.groups[d].hosts {
                if seen.insert(h) {
                    out.push(h);
                }
            }
        }
        out
    }

    /// What Ansible's `reconcile_inventory` does once every source is read:
    /// parentless groups go under `all`, hosts that belong to a real group
    /// leave `ungrouped`, hosts in no group join it; then depths.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                // Cannot loop: `g` has no parents, so `all` is not below it.
                let _ = self.add_child(ALL, g);
            }
        }
        for h in 0..self.hosts.len() {
            let mine = self.host_groups(h);
            if mine.contains(&UNGROUPED) {
                if mine.iter().any(|&g| g != ALL && g != UNGROUPED) {
                    self.groups[UNGROUPED].hosts.retain(|&x| x != h);
                    self.hosts[h].groups.retain(|&g| g != UNGROUPED);
                }
            } else if mine.iter().all(|&g| g == ALL) {
                self.put_host(UNGROUPED, h);
            }
        }
        let mut names: Vec<&str> = self
            .groups
            .iter()
            .filter(|g| self.host_ix.contains_key(&g.name))
            .map(|g| g.name.as_str())
            .collect();
        names.sort_unstable();
        let conflicts: Vec<String> = names
            .iter()
            .map(|n| format!("Found both group and host with same name: {n}"))
            .collect();
        self.warnings.extend(conflicts);
        self.compute_depths();
    }

    fn compute_depths(&mut self) {
        fn depth(d: &Data, g: usize, memo: &mut Vec<Option<usize>>) -> usize {
            if let Some(v) = memo[g] {
                return v;
            }
            let v = d.groups[g]
                .parents
                .iter()
                .map(|&p| depth(d, p, memo) + 1)
                .max()
                .unwrap_or(0);
            memo[g] = Some(v);
            v
        }
        let mut memo = vec![None; self.groups.len()];
        for g in 0..self.groups.len() {
            let v = depth(self, g, &mut memo);
            self.groups[g].depth = v;
        }
    }

    /// A host's groups (without `all`) in the order their variables apply:
    /// by depth, then `ansible_group_priority`, then name.
    pub fn sorted_host_groups(&self, h: usize) -> Vec<usize> {
        let mut gs: Vec<usize> = self
            .host_groups(h)
            .into_iter()
            .filter(|&g| g != ALL)
            .collect();
        gs.sort_by(|&a, &b| {
            let (ga, gb) = (&self.groups[a], &self.groups[b]);
            (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
        });
        gs
    }
}

/// Python's `int(value)`: integers, booleans, truncated floats and decimal strings.
pub(crate) fn python_int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => parse_python_int(s.trim()),
        _ => None,
    }
}

/// A decimal integer as Python's `int()` reads it: optional sign, digits
/// with single underscores between them.
pub(crate) fn parse_python_int(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return None;
    }
    let n: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -n } else { n })
}
