//! Inventory sources: a file (INI or YAML), a directory of them, or a
//! comma-separated host list (`h1,h2,`), dispatched as Ansible does.

use std::path::Path;

use super::InventoryError;
use super::data::{Data, UNGROUPED};
use super::{address, ini, yaml_format};

/// Names Ansible skips in an inventory directory: hidden files, vars
/// directories and backup/doc/config extensions (INVENTORY_IGNORE_EXTS).
fn ignored(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

/// Is this source a host list rather than a path?
pub(crate) fn is_host_list(source: &str) -> bool {
    source.contains(',') && !Path::new(source).exists()
}

pub(crate) fn load(data: &mut Data, source: &str) -> Result<(), InventoryError> {
    if is_host_list(source) {
        host_list(data, source)
    } else {
        let path = Path::new(source);
        if !path.exists() {
            return Err(InventoryError::NoSource(source.to_string()));
        }
        load_path(data, path)
    }
}

fn load_path(data: &mut Data, path: &Path) -> Result<(), InventoryError> {
    if path.is_dir() {
        let read = std::fs::read_dir(path).map_err(|source| InventoryError::Read {
            path: path.into(),
            source,
        })?;
        let mut names = Vec::new();
        for entry in read {
            let entry = entry.map_err(|source| InventoryError::Read {
                path: path.into(),
                source,
            })?;
            names.push(entry.file_name());
        }
        names.sort();
        for name in names {
            if !ignored(&name.to_string_lossy()) {
                load_path(data, &path.join(name))?;
            }
        }
        Ok(())
    } else {
        let bytes = std::fs::read(path).map_err(|source| InventoryError::Read {
            path: path.into(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            InventoryError::at(
                path,
                0,
                "not UTF-8 text; an inventory is an INI or YAML text file",
            )
        })?;
        data.current_source = Some(path.to_path_buf());
        let result = parse_text(data, path, &text);
        data.current_source = None;
        result
    }
}

/// YAML for `.yml`, `.yaml` and `.json`; otherwise YAML only when the text
/// is a YAML mapping of groups (every value a mapping or empty), else INI:
/// an INI host line with `: ` in a value can parse as a YAML mapping too.
fn parse_text(data: &mut Data, path: &Path, text: &str) -> Result<(), InventoryError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "yml" | "yaml" | "json") {
        let doc = crate::yaml::parse_str(text, path)?;
        return yaml_format::parse(data, &doc);
    }
    if let Ok(doc) = crate::yaml::parse_str(text, path) {
        let groups = doc
            .as_map()
            .is_some_and(|m| m.iter().all(|(_, v)| v.is_null() || v.as_map().is_some()));
        if groups {
            return yaml_format::parse(data, &doc);
        }
    }
    ini::parse(data, path, text)
}

/// `h1,h2:2222,10.0.0.1`: hosts of `ungrouped`, no ranges (as Ansible's host_list).
fn host_list(data: &mut Data, source: &str) -> Result<(), InventoryError> {
    for item in source.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, port) =
            address::parse_address(item, false).unwrap_or_else(|| (item.to_string(), None));
        if data.host(&name).is_none() {
            data.add_host(&name, Some(UNGROUPED), port)
                .map_err(InventoryError::Usage)?;
        }
    }
    Ok(())
}
