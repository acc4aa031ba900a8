//! Roles in Ansible's layout: tasks, handlers, defaults, vars, files,
//! templates and meta/main.yml dependencies, found in `roles/` next to the playbook.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::task::{Common, Node, TaskCtx, mapping, parse_list};
use super::{PlaybookError, invalid};
use crate::yaml::{self, Kind, Loc};

#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub path: PathBuf,
    pub defaults: Map<String, Value>,
    pub vars: Map<String, Value>,
    /// Parameters given where the role is used (`- role: x` with `foo: 1`).
    pub params: Map<String, Value>,
}

/// The first of `dir/main.yml`, `dir/main.yaml`, `dir/main` (or `NAME.yml`...).
fn find_yaml(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .chain([dir.join(stem)])
        .find(|p| p.is_file())
}

fn load_map(dir: &Path) -> Result<Map<String, Value>, PlaybookError> {
    match find_yaml(dir, "main") {
        Some(p) => {
            let doc = yaml::parse_file(&p)?;
            mapping(&doc, &p.display().to_string())
        }
        None => Ok(Map::new()),
    }
}

fn locate(name: &str, loc: &Loc, ctx: &TaskCtx) -> Result<PathBuf, PlaybookError> {
    let mut tried = Vec::new();
    let mut candidates = vec![ctx.play_dir.join("roles").join(name)];
    if let Some(role) = &ctx.role {
        // A role's dependencies may sit beside it.
        if let Some(parent) = role.path.parent() {
            candidates.push(parent.join(name));
        }
    }
    candidates.push(ctx.play_dir.join(name));
    candidates.push(PathBuf::from("roles").join(name));
    for c in candidates {
        if c.join("tasks").is_dir() || c.join("meta").is_dir() || c.join("handlers").is_dir() {
            return Ok(std::fs::canonicalize(&c).unwrap_or(c));
        }
        tried.push(c.display().to_string());
    }
    Err(invalid(
        loc,
        format!("role {name:?} not found (looked in {})", tried.join(", ")),
    ))
}

/// Loads a role and returns its tasks (dependencies first) as nodes; its
/// handlers go to the play. `dedupe`: a role already used with the same
/// parameters is skipped, as Ansible does for `roles:` and dependencies.
pub fn expand(
    name: &str,
    loc: &Loc,
    params: Map<String, Value>,
    tasks_from: Option<&str>,
    ctx: &mut TaskCtx,
    common: &Common,
) -> Result<Vec<Node>, PlaybookError> {
    expand_inner(name, loc, params, tasks_from, ctx, common, false)
}

pub fn expand_dedupe(
    name: &str,
    loc: &Loc,
    params: Map<String, Value>,
    ctx: &mut TaskCtx,
    common: &Common,
) -> Result<Vec<Node>, PlaybookError> {
    expand_inner(name, loc, params, None, ctx, common, true)
}

fn expand_inner(
    name: &str,
    loc: &Loc,
    params: Map<String, Value>,
    tasks_from: Option<&str>,
    ctx: &mut TaskCtx,
    common: &Common,
    dedupe: bool,
) -> Result<Vec<Node>, PlaybookError> {
    if ctx.depth > 30 {
        return Err(invalid(
            loc,
            format!("role {name:?}: dependencies nest too deeply (a cycle?)"),
        ));
    }
    let path = locate(name, loc, ctx)?;
    let short = path
        .file_name()
        .map_or_else(|| name.to_string(), |n| n.to_string_lossy().into_owned());
    let seen = ctx
        .roles
        .iter()
        .any(|r| r.path == path && r.params == params);
    if dedupe && seen {
        return Ok(Vec::new());
    }
    let role = Arc::new(Role {
        name: short,
        defaults: load_map(&path.join("defaults"))?,
        vars: load_map(&path.join("vars"))?,
        params,
        path: path.clone(),
    });
    let mut nodes = Vec::new();
    if let Some(meta) = find_yaml(&path.join("meta"), "main") {
        let doc = yaml::parse_file(&meta)?;
        if let Some(deps) = doc.get("dependencies") {
            for dep in deps.as_seq().unwrap_or_default() {
                let (dep_name, dep_params, dep_loc) = role_entry(dep)?;
                let mut sub = TaskCtx {
                    dir: path.clone(),
                    play_dir: ctx.play_dir.clone(),
                    role: Some(role.clone()),
                    handlers: ctx.handlers,
                    roles: ctx.roles,
                    depth: ctx.depth + 1,
                };
                nodes.extend(expand_inner(
                    &dep_name, &dep_loc, dep_params, None, &mut sub, common, true,
                )?);
            }
        }
    }
    if !seen {
        ctx.roles.push(role.clone());
        if let Some(h) = find_yaml(&path.join("handlers"), "main") {
            let doc = yaml::parse_file(&h)?;
            let mut hs = Vec::new();
            let mut sub = TaskCtx {
                dir: path.join("handlers"),
                play_dir: ctx.play_dir.clone(),
                role: Some(role.clone()),
                handlers: &mut hs,
                roles: ctx.roles,
                depth: ctx.depth + 1,
            };
            let parsed = parse_list(&doc, &mut sub, common)?;
            ctx.handlers.extend(parsed);
        }
    }
    let stem = tasks_from.map_or("main", |t| {
        t.trim_end_matches(".yml").trim_end_matches(".yaml")
    });
    match find_yaml(&path.join("tasks"), stem) {
        Some(file) => {
            let doc = yaml::parse_file(&file)?;
            let mut sub = TaskCtx {
                dir: path.join("tasks"),
                play_dir: ctx.play_dir.clone(),
                role: Some(role),
                handlers: ctx.handlers,
                roles: ctx.roles,
                depth: ctx.depth + 1,
            };
            nodes.extend(parse_list(&doc, &mut sub, common)?);
        }
        None if tasks_from.is_some() => {
            return Err(invalid(
                loc,
                format!("role {name:?} has no tasks/{stem}.yml"),
            ));
        }
        None => {}
    }
    Ok(nodes)
}

/// One entry of `roles:` or `dependencies:`: a name, or a mapping with
/// `role:`/`name:` and parameters.
pub fn role_entry(v: &yaml::Node) -> Result<(String, Map<String, Value>, Loc), PlaybookError> {
    match &v.kind {
        Kind::Str(s) => Ok((s.clone(), Map::new(), v.loc.clone())),
        Kind::Map(entries) => {
            let mut name = None;
            let mut params = Map::new();
            for (k, val) in entries {
                match k.name.as_str() {
                    "role" | "name" => name = val.as_str().map(str::to_string),
                    "vars" => {
                        if let Value::Object(m) = val.to_json() {
                            params.extend(m);
                        }
                    }
                    // Keywords, not parameters.
                    "when" | "tags" | "become" | "become_user" | "environment" | "no_log"
                    | "ignore_errors" | "delegate_to" | "check_mode" => {}
                    other => {
                        params.insert(other.to_string(), val.to_json());
                    }
                }
            }
            let name =
                name.ok_or_else(|| invalid(&v.loc, "a role entry needs `role:` (or `name:`)"))?;
            Ok((name, params, v.loc.clone()))
        }
        _ => Err(invalid(
            &v.loc,
            format!(
                "a role entry must be a name or a mapping, found {}",
                v.type_name()
            ),
        )),
    }
}
