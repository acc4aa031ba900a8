//! Ansible inventories, read exactly as Ansible reads them: INI and YAML
//! files, directories of them, `h1,h2,` host lists, host ranges, the
//! implicit `all` and `ungrouped` groups, `group_vars/` and `host_vars/`
//! next to the inventory and the playbook, host patterns, and Ansible's
//! variable precedence between all of those.
//!
//! Nothing here connects or templates: values are returned as written.
//!
//! Ansible's behaviour wins where intuition differs: INI values are Python
//! literals in host lines and `[g:vars]` alike (`true` stays a string,
//! `True` is a boolean); group vars from inventory files sit below
//! `group_vars/all`; pattern unions keep pattern order (`db:web` gives db
//! hosts first); a host in no group has `group_names == ["ungrouped"]`.

mod address;
mod cli;
mod data;
mod error;
mod ini;
mod literal;
mod pattern;
mod pyshlex;
mod range;
mod sources;
mod vars_dirs;
mod yaml_format;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use cli::{InventoryArgs, run};
pub use error::InventoryError;

use data::{ALL, Data};
use vars_dirs::{Reader, VarsDir};

pub type Vars = serde_json::Map<String, serde_json::Value>;

/// Decrypts `.age` vars files (group_vars/all/secrets.yml.age); supplied by
/// the caller (the vault module). Every string it returns is treated as a
/// secret (see [`Inventory::secrets`]).
pub type AgeLoader<'a> = &'a dyn Fn(&Path) -> Result<Vars, String>;

pub struct LoadOptions<'a> {
    /// `-i` arguments: files, directories or `h1,h2,` host lists.
    pub sources: &'a [String],
    /// The playbook's directory: its group_vars/ and host_vars/ apply too.
    pub playbook_dir: Option<&'a Path>,
    pub age_loader: Option<AgeLoader<'a>>,
}

/// A loaded inventory with every vars file already read.
#[derive(Debug)]
pub struct Inventory {
    data: Data,
    /// For each path source in order (host lists have none): its vars dir in `dirs`.
    source_dirs: Vec<usize>,
    dirs: Vec<VarsDir>,
    playbook: Option<VarsDir>,
    warnings: Vec<String>,
    secrets: Vec<String>,
}

impl Inventory {
    pub fn load(opts: &LoadOptions) -> Result<Inventory, InventoryError> {
        let mut data = Data::new();
        for source in opts.sources {
            sources::load(&mut data, source)?;
        }
        data.reconcile();

        let mut reader = Reader {
            age: opts.age_loader,
            secrets: Vec::new(),
            warnings: Vec::new(),
        };
        let group_names = || data.groups.iter().map(|g| g.name.as_str());
        let host_names = || data.hosts.iter().map(|h| h.name.as_str());
        let mut dir_paths: Vec<PathBuf> = Vec::new();
        let mut dirs = Vec::new();
        let mut source_dirs = Vec::new();
        for source in opts.sources {
            if sources::is_host_list(source) {
                continue;
            }
            let dir = vars_base(Path::new(source));
            let i = match dir_paths.iter().position(|d| *d == dir) {
                Some(i) => i,
                None => {
                    dirs.push(reader.load_dir(&dir, group_names(), host_names())?);
                    dir_paths.push(dir);
                    dir_paths.len() - 1
                }
            };
            source_dirs.push(i);
        }
        let playbook = match opts.playbook_dir {
            Some(p) => Some(reader.load_dir(p, group_names(), host_names())?),
            None => None,
        };
        let mut warnings = std::mem::take(&mut data.warnings);
        warnings.append(&mut reader.warnings);
        Ok(Inventory {
            data,
            source_dirs,
            dirs,
            playbook,
            warnings,
            secrets: reader.secrets,
        })
    }

    /// An INI inventory from text alone (no vars directories): for fuzzing
    /// and for tools that hold an inventory in memory.
    pub fn from_ini_str(text: &str, name: &Path) -> Result<Inventory, InventoryError> {
        let mut data = Data::new();
        ini::parse(&mut data, name, text)?;
        data.reconcile();
        let warnings = std::mem::take(&mut data.warnings);
        Ok(Inventory {
            data,
            source_dirs: Vec::new(),
            dirs: Vec::new(),
            playbook: None,
            warnings,
            secrets: Vec::new(),
        })
    }

    /// All host names: the hosts of `all`, in Ansible's order.
    pub fn hosts(&self) -> Vec<&str> {
        self.data
            .group_hosts(ALL)
            .into_iter()
            .map(|h| self.data.hosts[h].name.as_str())
            .collect()
    }

    pub fn has_host(&self, host: &str) -> bool {
        self.data.host(host).is_some()
    }

    /// Things worth a `[WARNING]` found while loading (odd group names,
    /// skipped YAML keys, a host named like a group ...).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every string value read from an encrypted vars file: to be masked.
    pub fn secrets(&self) -> &[String] {
        &self.secrets
    }

    /// Inventory-level variables of a host, merged in Ansible's default
    /// order (lowest first; later layers replace whole values, no deep merge):
    /// inventory-file vars of `all`, then of the host's other groups; the
    /// `group_vars/all` next to each inventory source, then next to the
    /// playbook; `group_vars/GROUP` next to each source, then next to the
    /// playbook; the host's inventory-file vars; `host_vars/HOST` next to each
    /// source, then next to the playbook. Groups apply parents before
    /// children (depth), then by `ansible_group_priority`, then by name.
    pub fn host_vars(&self, host: &str) -> Vars {
        let mut out = Vars::new();
        let Some(h) = self.data.host(host) else {
            return out;
        };
        let groups = self.data.sorted_host_groups(h);
        let group_name = |g: usize| self.data.groups[g].name.as_str();
        let per_source = || self.source_dirs.iter().map(|&d| &self.dirs[d]);

        merge(&mut out, Some(&self.data.groups[ALL].vars));
        for &g in &groups {
            merge(&mut out, Some(&self.data.groups[g].vars));
        }
        for d in per_source() {
            merge(&mut out, d.groups.get("all"));
        }
        if let Some(p) = &self.playbook {
            merge(&mut out, p.groups.get("all"));
        }
        for d in per_source() {
            for &g in &groups {
                merge(&mut out, d.groups.get(group_name(g)));
            }
        }
        if let Some(p) = &self.playbook {
            for &g in &groups {
                merge(&mut out, p.groups.get(group_name(g)));
            }
        }
        merge(&mut out, Some(&self.data.hosts[h].vars));
        for d in per_source() {
            merge(&mut out, d.hosts.get(host));
        }
        if let Some(p) = &self.playbook {
            merge(&mut out, p.hosts.get(host));
        }
        out
    }

    /// `group_names`: the host's groups (transitively), sorted, without
    /// `all`. Like Ansible, a host in no group has `["ungrouped"]`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let Some(h) = self.data.host(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .data
            .host_groups(h)
            .into_iter()
            .filter(|&g| g != ALL)
            .map(|g| self.data.groups[g].name.clone())
            .collect();
        names.sort();
        names
    }

    /// The `groups` magic variable: every group (with `all` and
    /// `ungrouped`) -> its hosts, including those of child groups.
    pub fn groups(&self) -> Vars {
        self.data
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| {
                let hosts = self
                    .data
                    .group_hosts(g)
                    .into_iter()
                    .map(|h| Value::from(self.data.hosts[h].name.clone()));
                (group.name.clone(), Value::Array(hosts.collect()))
            })
            .collect()
    }

    /// A group's own variables as `ansible-inventory --graph --vars` shows
    /// them: inventory-file vars, then group_vars/ next to each source and
    /// the playbook, plus a non-default `ansible_group_priority`.
    pub(crate) fn group_display_vars(&self, g: usize) -> Vars {
        let group = &self.data.groups[g];
        let mut out = group.vars.clone();
        for &d in &self.source_dirs {
            merge(&mut out, self.dirs[d].groups.get(&group.name));
        }
        if let Some(p) = &self.playbook {
            merge(&mut out, p.groups.get(&group.name));
        }
        if group.priority != 1 {
            out.insert("ansible_group_priority".into(), Value::from(group.priority));
        }
        out
    }

    /// Group names in the order they were first seen (`all`, `ungrouped` first).
    pub fn group_list(&self) -> Vec<&str> {
        self.data.groups.iter().map(|g| g.name.as_str()).collect()
    }

    /// The inventory file that first named the host (None for `h1,h2,` lists).
    pub fn inventory_file(&self, host: &str) -> Option<PathBuf> {
        let h = self.data.host(host)?;
        let src = self.data.hosts[h].source.as_ref()?;
        Some(std::path::absolute(src).unwrap_or_else(|_| src.clone()))
    }

    /// The per-host magic variables Ansible derives from the inventory:
    /// inventory_hostname, inventory_hostname_short, group_names,
    /// inventory_file, inventory_dir.
    pub fn magic_vars(&self, host: &str) -> Vars {
        let mut m = Vars::new();
        m.insert("inventory_hostname".into(), Value::from(host));
        let short = if address::is_ip(host) {
            host
        } else {
            host.split('.').next().unwrap_or(host)
        };
        m.insert("inventory_hostname_short".into(), Value::from(short));
        m.insert("group_names".into(), Value::from(self.group_names(host)));
        let file = self.inventory_file(host);
        let dir = file
            .as_ref()
            .and_then(|f| f.parent())
            .map(|d| Value::from(d.display().to_string()));
        m.insert(
            "inventory_file".into(),
            file.map_or(Value::Null, |f| Value::from(f.display().to_string())),
        );
        m.insert("inventory_dir".into(), dir.unwrap_or(Value::Null));
        m
    }
}

/// Where group_vars/ and host_vars/ of a source live: the directory itself
/// for a directory source, the file's directory for a file.
fn vars_base(source: &Path) -> PathBuf {
    if source.is_dir() {
        source.to_path_buf()
    } else {
        match source.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

fn merge(into: &mut Vars, layer: Option<&Vars>) {
    if let Some(layer) = layer {
        for (k, v) in layer {
            into.insert(k.clone(), v.clone());
        }
    }
}
