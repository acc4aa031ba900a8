//! `{% include %}`, `{% import %}`, `{% from %}` and `{% extends %}` in
//! template files. The shared environment holds no templates, so a file that
//! names others renders in a copy of it with those files added, found like
//! Ansible finds them: next to the template, then in the role's and the
//! playbook's `templates/`. Names must be string literals.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use super::Context;

fn reference() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\{%[-+]?\s*(?:include|import|from|extends)\s+(?:\[\s*)?["']([^"']+)["']"#)
            .unwrap_or_else(|e| unreachable!("constant pattern: {e}"))
    })
}

/// Whether a template names other templates.
pub fn has_references(text: &str) -> bool {
    text.contains("{%") && reference().is_match(text)
}

/// Directories to look for referenced templates in.
pub fn search_dirs(name: &str, ctx: &Context) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(parent) = Path::new(name)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        dirs.push(parent.to_path_buf());
    }
    for var in ["role_path", "playbook_dir"] {
        if let Some(base) = ctx.get(var).and_then(|v| v.as_str().map(PathBuf::from)) {
            dirs.push(base.join("templates"));
            dirs.push(base);
        }
    }
    dirs
}

/// Every template `text` references, directly or through others, as
/// (name, source).
pub fn load_all(text: &str, dirs: &[PathBuf]) -> Result<Vec<(String, String)>, String> {
    let mut loaded: Vec<(String, String)> = Vec::new();
    let mut pending: Vec<String> = names_in(text);
    while let Some(name) = pending.pop() {
        if loaded.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let candidates: Vec<PathBuf> = if Path::new(&name).is_absolute() {
            vec![PathBuf::from(&name)]
        } else {
            dirs.iter().map(|d| d.join(&name)).collect()
        };
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(format!(
                "could not find template '{name}' (tried {})",
                tried.join(", ")
            ));
        };
        let source = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        pending.extend(names_in(&source));
        loaded.push((name, source));
    }
    Ok(loaded)
}

fn names_in(text: &str) -> Vec<String> {
    reference()
        .captures_iter(text)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str().to_string())
        .collect()
}
