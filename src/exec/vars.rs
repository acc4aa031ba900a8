//! Ansible's variable precedence, assembled for one host and one task.

use serde_json::{Map, Value};

use crate::playbook::{Play, Task};

/// Play-wide layers, computed once per play.
pub struct PlayVars {
    pub role_defaults: Map<String, Value>,
    pub play_vars: Map<String, Value>,
    pub vars_files: Map<String, Value>,
    pub role_vars: Map<String, Value>,
}

impl PlayVars {
    pub fn new(play: &Play, vars_files: Map<String, Value>) -> PlayVars {
        let mut role_defaults = Map::new();
        let mut role_vars = Map::new();
        for r in &play.roles {
            role_defaults.extend(r.defaults.clone());
            role_vars.extend(r.vars.clone());
        }
        PlayVars {
            role_defaults,
            play_vars: play.vars.clone(),
            vars_files,
            role_vars,
        }
    }
}

/// What a host contributes (inventory, facts, set_fact/register).
pub struct HostLayers<'a> {
    pub inventory: &'a Map<String, Value>,
    pub facts: Option<&'a Map<String, Value>>,
    pub host_facts: &'a Map<String, Value>,
}

/// Merges the layers from lowest to highest precedence.
pub fn assemble(
    pv: &PlayVars,
    host: &HostLayers,
    task: Option<&Task>,
    extra: &Map<String, Value>,
) -> Map<String, Value> {
    let mut v = pv.role_defaults.clone();
    if let Some(role) = task.and_then(|t| t.role.as_ref()) {
        v.extend(role.defaults.clone());
    }
    v.extend(host.inventory.clone());
    if let Some(facts) = host.facts {
        for (k, val) in facts {
            v.insert(format!("ansible_{k}"), val.clone());
        }
        v.insert("ansible_facts".into(), Value::Object(facts.clone()));
    }
    v.extend(pv.play_vars.clone());
    v.extend(pv.vars_files.clone());
    v.extend(pv.role_vars.clone());
    if let Some(t) = task {
        if let Some(role) = &t.role {
            v.extend(role.vars.clone());
            v.insert(
                "role_path".into(),
                Value::String(role.path.display().to_string()),
            );
            v.insert("role_name".into(), Value::String(role.name.clone()));
        }
        v.extend(t.common.vars.clone());
    }
    v.extend(host.host_facts.clone());
    if let Some(role) = task.and_then(|t| t.role.as_ref()) {
        v.extend(role.params.clone());
    }
    v.extend(extra.clone());
    v
}
