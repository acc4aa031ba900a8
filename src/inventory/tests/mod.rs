//! Behaviour tests of whole inventories, checked against what Ansible does.

mod dirs_tests;
mod ini_tests;
mod pattern_tests;
mod vars_tests;
mod yaml_tests;

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Inventory, InventoryError, LoadOptions, Vars};

/// A scratch directory holding inventory files.
pub(super) struct Fx {
    dir: tempfile::TempDir,
}

impl Fx {
    pub fn new() -> Fx {
        Fx {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Writes `rel` (creating parent directories) and returns its path.
    pub fn file(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text).expect("write");
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn src(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    pub fn load(&self, sources: &[&str]) -> Result<Inventory, InventoryError> {
        self.load_with(sources, None, None)
    }

    pub fn load_with(
        &self,
        sources: &[&str],
        playbook_dir: Option<&Path>,
        age_loader: Option<super::AgeLoader>,
    ) -> Result<Inventory, InventoryError> {
        let sources: Vec<String> = sources.iter().map(|s| self.src(s)).collect();
        Inventory::load(&LoadOptions {
            sources: &sources,
            playbook_dir,
            age_loader,
        })
    }
}

/// An inventory from one INI file called `hosts`.
pub(super) fn ini(text: &str) -> Inventory {
    let fx = Fx::new();
    fx.file("hosts", text);
    fx.load(&["hosts"]).expect("inventory loads")
}

/// The error message of loading one file `name` with `text`.
pub(super) fn load_err(name: &str, text: &str) -> String {
    let fx = Fx::new();
    fx.file(name, text);
    let err = fx
        .load(&[name])
        .expect_err("inventory must not load")
        .to_string();
    // Paths differ per run; tests compare from the file name on.
    let prefix = fx.dir.path().display().to_string();
    err.replace(&prefix, "")
}

pub(super) fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub(super) fn group_hosts(inv: &Inventory, group: &str) -> Vec<String> {
    match inv.groups().get(group) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => panic!("no group {group}"),
    }
}

pub(super) fn var<'a>(vars: &'a Vars, k: &str) -> &'a Value {
    vars.get(k)
        .unwrap_or_else(|| panic!("no var {k} in {vars:?}"))
}

mod listing_tests;
