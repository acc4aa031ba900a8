//! `group_vars/` and `host_vars/` directories, as Ansible's host_group_vars
//! plugin finds them: for an entity NAME the first of `NAME` (file or
//! directory), `NAME.yml`, `NAME.yaml`, `NAME.json` that exists; a directory
//! contributes all its files (sorted, recursively, hidden and `~` backups
//! skipped, only no extension or .yml/.yaml/.json). Files ending in `.age`
//! are decrypted by the caller's loader.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{AgeLoader, InventoryError, Vars};

/// The variables found under one base directory, per group and per host.
#[derive(Debug, Default)]
pub(crate) struct VarsDir {
    pub groups: HashMap<String, Vars>,
    pub hosts: HashMap<String, Vars>,
}

/// Reads vars files once; remembers secrets from encrypted ones.
pub(crate) struct Reader<'a> {
    pub age: Option<AgeLoader<'a>>,
    pub secrets: Vec<String>,
    pub warnings: Vec<String>,
}

impl Reader<'_> {
    pub fn load_dir<'n>(
        &mut self,
        base: &Path,
        groups: impl Iterator<Item = &'n str>,
        hosts: impl Iterator<Item = &'n str>,
    ) -> Result<VarsDir, InventoryError> {
        let mut out = VarsDir::default();
        for name in groups {
            if let Some(v) = self.entity(&base.join("group_vars"), name)? {
                out.groups.insert(name.to_string(), v);
            }
        }
        for name in hosts {
            if let Some(v) = self.entity(&base.join("host_vars"), name)? {
                out.hosts.insert(name.to_string(), v);
            }
        }
        Ok(out)
    }

    /// The merged variables of one group or host, `None` when no file names it.
    fn entity(&mut self, dir: &Path, name: &str) -> Result<Option<Vars>, InventoryError> {
        // Names like "/chroot/path" would escape the directory; Ansible skips them too.
        if name.starts_with('/') || !dir.exists() {
            return Ok(None);
        }
        if !dir.is_dir() {
            let w = format!(
                "Found {} that is not a directory, skipping: {}",
                dir_kind(dir),
                dir.display()
            );
            if !self.warnings.contains(&w) {
                self.warnings.push(w);
            }
            return Ok(None);
        }
        let files = find_vars_files(dir, name)?;
        if files.is_empty() {
            return Ok(None);
        }
        let mut vars = Vars::new();
        for f in files {
            for (k, v) in self.load_file(&f)? {
                vars.insert(k, v);
            }
        }
        Ok(Some(vars))
    }

    fn load_file(&mut self, path: &Path) -> Result<Vars, InventoryError> {
        if path.extension().is_some_and(|e| e == "age") {
            let Some(age) = self.age else {
                return Err(InventoryError::Encrypted(path.to_path_buf()));
            };
            let vars = age(path).map_err(|msg| InventoryError::Decrypt {
                path: path.to_path_buf(),
                msg,
            })?;
            for v in vars.values() {
                collect_strings(v, &mut self.secrets);
            }
            return Ok(vars);
        }
        let doc = crate::yaml::parse_file(path)?;
        match doc.to_json() {
            Value::Null => Ok(Vars::new()),
            Value::Object(m) => Ok(m),
            _ => Err(InventoryError::at_loc(
                &doc.loc,
                format!(
                    "a vars file must be a mapping of variable names to values, got {}",
                    doc.type_name()
                ),
            )),
        }
    }
}

fn dir_kind(dir: &Path) -> &str {
    dir.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("vars directory")
}

const EXTS: [&str; 3] = ["yml", "yaml", "json"];

fn find_vars_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
    let candidates = [
        "",
        ".yml",
        ".yaml",
        ".json",
        ".age",
        ".yml.age",
        ".yaml.age",
        ".json.age",
    ];
    for suffix in candidates {
        let p = dir.join(format!("{name}{suffix}"));
        if p.is_dir() {
            let mut found = Vec::new();
            dir_files(&p, &mut found)?;
            return Ok(found);
        }
        if p.exists() {
            return Ok(vec![p]);
        }
    }
    Ok(Vec::new())
}

fn dir_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let read = std::fs::read_dir(dir).map_err(|source| InventoryError::Read {
        path: dir.into(),
        source,
    })?;
    let mut names = Vec::new();
    for e in read {
        names.push(
            e.map_err(|source| InventoryError::Read {
                path: dir.into(),
                source,
            })?
            .file_name(),
        );
    }
    names.sort();
    for name in names {
        let text = name.to_string_lossy();
        if text.starts_with('.') || text.ends_with('~') {
            continue;
        }
        let p = dir.join(&name);
        let ext = p.extension().and_then(|e| e.to_str());
        if p.is_dir() {
            if ext.is_none() {
                dir_files(&p, found)?;
            }
        } else if ext.is_none_or(|e| EXTS.contains(&e) || e == "age") {
            found.push(p);
        }
    }
    Ok(())
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !out.contains(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}
