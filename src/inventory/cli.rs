//! `condaplay inventory`: what `ansible-inventory` prints for --list,
//! --graph and --host, byte for byte where it can be.

use std::path::PathBuf;

use serde_json::{Map, Value};

use super::data::ALL;
use super::{Inventory, InventoryError, LoadOptions, Vars};
use crate::output::Printer;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["list", "graph", "host"])))]
pub struct InventoryArgs {
    /// Inventory file or directory (repeatable); a comma-separated host list also works.
    #[arg(short = 'i', long = "inventory", required = true, value_name = "SRC")]
    pub inventory: Vec<String>,
    /// Print the whole inventory as JSON (`{"_meta": {"hostvars": ...}, "all": ...}`).
    #[arg(long)]
    pub list: bool,
    /// Print the group tree, from `all` or from GROUP.
    #[arg(long)]
    pub graph: bool,
    /// Print the variables of one host as JSON.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// With --list: YAML instead of JSON.
    #[arg(short = 'y', long)]
    pub yaml: bool,
    /// With --graph: show variables too.
    #[arg(long)]
    pub vars: bool,
    /// The playbook's directory: its group_vars/ and host_vars/ apply too.
    #[arg(long = "playbook-dir", value_name = "DIR")]
    pub playbook_dir: Option<PathBuf>,
    /// The group to start --graph at.
    #[arg(value_name = "GROUP")]
    pub group: Option<String>,
}

pub fn run(args: InventoryArgs, p: &Printer) -> Result<i32, InventoryError> {
    let opts = LoadOptions {
        sources: &args.inventory,
        playbook_dir: args.playbook_dir.as_deref(),
        age_loader: None,
    };
    let inv = Inventory::load(&opts)?;
    for w in inv.warnings() {
        p.warn(w);
    }
    let text = if let Some(pattern) = &args.host {
        let (hosts, warnings) = inv.select(pattern)?;
        for w in &warnings {
            p.warn(w);
        }
        let [host] = &hosts[..] else {
            return Err(InventoryError::Usage(format!(
                "You must pass a single valid host to --host parameter ('{pattern}' matches {} hosts)",
                hosts.len()
            )));
        };
        to_json_text(&Value::Object(inv.host_vars(host)))
    } else if args.graph {
        let group = args.group.as_deref().unwrap_or("all");
        graph(&inv, group, args.vars)?
    } else if args.yaml {
        crate::yaml::to_string(&sorted(&yaml_list(&inv)))?
    } else {
        to_json_text(&json_list(&inv))
    };
    p.data(&text);
    Ok(0)
}

/// `json.dumps(x, sort_keys=True, indent=4)`.
pub(crate) fn to_json_text(v: &Value) -> String {
    let v = sorted(v);
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    // Serializing a Value into memory cannot fail.
    let _ = serde::Serialize::serialize(&v, &mut ser);
    String::from_utf8(buf).unwrap_or_default()
}

/// The same value with every mapping's keys sorted.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// ansible-inventory --list: each group's direct hosts and children (groups
/// with neither are left out), and every host's variables under _meta.
pub(crate) fn json_list(inv: &Inventory) -> Value {
    let d = &inv.data;
    let mut out = Map::new();
    let mut seen = std::collections::HashSet::new();
    fn format_group(
        inv: &Inventory,
        g: usize,
        seen: &mut std::collections::HashSet<usize>,
        out: &mut Map<String, Value>,
    ) {
        let d = &inv.data;
        let group = &d.groups[g];
        let mut entry = Map::new();
        if g != ALL && !group.hosts.is_empty() {
            let hosts = group
                .hosts
                .iter()
                .map(|&h| Value::from(d.hosts[h].name.clone()))
                .collect();
            entry.insert("hosts".into(), Value::Array(hosts));
        }
        let children: Vec<Value> = group
            .children
            .iter()
            .map(|&c| Value::from(d.groups[c].name.clone()))
            .collect();
        if !children.is_empty() {
            entry.insert("children".into(), Value::Array(children));
        }
        if !entry.is_empty() {
            out.insert(group.name.clone(), Value::Object(entry));
        }
        for &c in &group.children {
            if seen.insert(c) {
                format_group(inv, c, seen, out);
            }
        }
    }
    format_group(inv, ALL, &mut seen, &mut out);
    let mut hostvars = Map::new();
    for h in d.group_hosts(ALL) {
        let name = &d.hosts[h].name;
        let vars = inv.host_vars(name);
        if !vars.is_empty() {
            hostvars.insert(name.clone(), Value::Object(vars));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    out.insert("_meta".into(), Value::Object(meta));
    Value::Object(out)
}

/// ansible-inventory --list --yaml: nested like a YAML inventory, each
/// host's variables shown at its first appearance only.
pub(crate) fn yaml_list(inv: &Inventory) -> Value {
    fn format_group(inv: &Inventory, g: usize, seen: &mut Vec<usize>) -> Map<String, Value> {
        let d = &inv.data;
        let group = &d.groups[g];
        let mut entry = Map::new();
        let mut children = Map::new();
        for &c in &group.children {
            if c != ALL {
                children.extend(format_group(inv, c, seen));
            }
        }
        if !children.is_empty() {
            entry.insert("children".into(), Value::Object(children));
        }
        if g != ALL {
            let mut hosts = Map::new();
            for &h in &group.hosts {
                let mut vars = Vars::new();
                if !seen.contains(&h) {
                    seen.push(h);
                    vars = inv.host_vars(&d.hosts[h].name);
                }
                hosts.insert(d.hosts[h].name.clone(), Value::Object(vars));
            }
            if !hosts.is_empty() {
                entry.insert("hosts".into(), Value::Object(hosts));
            }
        }
        let mut out = Map::new();
        out.insert(group.name.clone(), Value::Object(entry));
        out
    }
    Value::Object(format_group(inv, ALL, &mut Vec::new()))
}

/// ansible-inventory --graph: `@group:` lines, children first, then hosts,
/// indented with `  |` per level.
pub(crate) fn graph(
    inv: &Inventory,
    group: &str,
    show_vars: bool,
) -> Result<String, InventoryError> {
    let d = &inv.data;
    let Some(g) = d.group(group) else {
        return Err(InventoryError::Usage(format!(
            "Pattern must be valid group name when using --graph (no group '{group}')"
        )));
    };
    fn name_at(name: &str, depth: usize) -> String {
        if depth == 0 {
            name.to_string()
        } else {
            format!("{}--{name}", "  |".repeat(depth))
        }
    }
    fn vars_at(vars: &Vars, depth: usize, out: &mut Vec<String>) {
        let mut keys: Vec<&String> = vars.keys().collect();
        keys.sort();
        for k in keys {
            out.push(name_at(
                &format!("{{{k} = {}}}", python_repr(&vars[k])),
                depth,
            ));
        }
    }
    fn walk(inv: &Inventory, g: usize, depth: usize, show_vars: bool, out: &mut Vec<String>) {
        let d = &inv.data;
        let group = &d.groups[g];
        out.push(name_at(&format!("@{}:", group.name), depth));
        for &c in &group.children {
            walk(inv, c, depth + 1, show_vars, out);
        }
        if g != ALL {
            for &h in &group.hosts {
                out.push(name_at(&d.hosts[h].name, depth + 1));
                if show_vars {
                    vars_at(&inv.host_vars(&d.hosts[h].name), depth + 2, out);
                }
            }
        }
        if show_vars {
            vars_at(&inv.group_display_vars(g), depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(inv, g, 0, show_vars, &mut out);
    Ok(out.join("\n"))
}

/// Roughly how Python prints a value in `{k = v}` lines of --graph --vars.
fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(inner_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("'{k}': {}", inner_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn inner_repr(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => python_repr(other),
    }
}
