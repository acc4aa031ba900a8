//! Ansible inventories (a minimal INI reader while the full one is written).

use std::path::Path;

use serde_json::{Map, Value};

pub type Vars = Map<String, Value>;
pub type AgeLoader<'a> = &'a dyn Fn(&Path) -> Result<Vars, String>;

pub struct LoadOptions<'a> {
    pub sources: &'a [String],
    pub playbook_dir: Option<&'a Path>,
    pub age_loader: Option<AgeLoader<'a>>,
}

#[derive(Debug, clap::Args)]
pub struct InventoryArgs {}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{0}")]
    Bad(String),
}

pub fn run(_args: InventoryArgs, _p: &crate::output::Printer) -> Result<i32, InventoryError> {
    Ok(0)
}

#[derive(Default)]
pub struct Inventory {
    hosts: Vec<(String, Vars)>,
    groups: Vec<(String, Vec<String>)>,
}

impl Inventory {
    pub fn load(opts: &LoadOptions) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory::default();
        for src in opts.sources {
            let text = std::fs::read_to_string(src)
                .map_err(|e| InventoryError::Bad(format!("{src}: {e}")))?;
            let mut group = String::from("ungrouped");
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some(g) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                    group = g.to_string();
                    continue;
                }
                let words = shlex::split(line).unwrap_or_default();
                let name = words[0].clone();
                let mut vars = Vars::new();
                for w in &words[1..] {
                    if let Some((k, v)) = w.split_once('=') {
                        vars.insert(k.into(), Value::String(v.into()));
                    }
                }
                if !inv.hosts.iter().any(|(h, _)| *h == name) {
                    inv.hosts.push((name.clone(), vars));
                }
                match inv.groups.iter_mut().find(|(g, _)| *g == group) {
                    Some((_, hs)) => hs.push(name),
                    None => inv.groups.push((group.clone(), vec![name])),
                }
            }
        }
        Ok(inv)
    }

    pub fn hosts(&self) -> Vec<&str> {
        self.hosts.iter().map(|(h, _)| h.as_str()).collect()
    }

    pub fn select(&self, pattern: &str) -> Result<(Vec<String>, Vec<String>), InventoryError> {
        let mut out: Vec<String> = Vec::new();
        for part in pattern.split([':', ',']) {
            let (neg, p) = match part.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, part),
            };
            let matched: Vec<String> = if p == "all" || p == "*" {
                self.hosts.iter().map(|(h, _)| h.clone()).collect()
            } else if let Some((_, hs)) = self.groups.iter().find(|(g, _)| g == p) {
                hs.clone()
            } else {
                self.hosts
                    .iter()
                    .filter(|(h, _)| h == p)
                    .map(|(h, _)| h.clone())
                    .collect()
            };
            if neg {
                out.retain(|h| !matched.contains(h));
            } else {
                for h in matched {
                    if !out.contains(&h) {
                        out.push(h);
                    }
                }
            }
        }
        Ok((out, Vec::new()))
    }

    pub fn host_vars(&self, host: &str) -> Vars {
        self.hosts
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .groups
            .iter()
            .filter(|(g, hs)| g != "ungrouped" && hs.iter().any(|h| h == host))
            .map(|(g, _)| g.clone())
            .collect();
        v.sort();
        v
    }

    pub fn groups(&self) -> Vars {
        let mut m = Vars::new();
        m.insert(
            "all".into(),
            self.hosts
                .iter()
                .map(|(h, _)| Value::String(h.clone()))
                .collect(),
        );
        for (g, hs) in &self.groups {
            m.insert(
                g.clone(),
                hs.iter().map(|h| Value::String(h.clone())).collect(),
            );
        }
        m
    }
}
