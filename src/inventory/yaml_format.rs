//! YAML (and JSON) inventories: a mapping of groups, each with optional
//! `hosts`, `vars` and `children`, as Ansible's yaml plugin reads them.
//!
//! ```yaml
//! all:
//!   vars: {ntp: time.example.com}
//!   children:
//!     web:
//!       hosts:
//!         web[01:03]:
//!         db1: {ansible_host: 10.0.0.5}
//! ```

use crate::yaml::{Kind, Node};

use super::InventoryError;
use super::address;
use super::data::Data;

pub(crate) fn parse(data: &mut Data, doc: &Node) -> Result<(), InventoryError> {
    let Some(groups) = doc.as_map() else {
        let msg = if doc.is_null() {
            "Parsed empty YAML file: a YAML inventory is a mapping of groups (all: {hosts: ..., children: ...})".to_string()
        } else {
            format!(
                "YAML inventory has invalid structure, it should be a mapping of groups, got {}",
                doc.type_name()
            )
        };
        return Err(InventoryError::at_loc(&doc.loc, msg));
    };
    if let Some(p) = doc.get("plugin") {
        return Err(InventoryError::at_loc(
            &p.loc,
            "this is an inventory plugin configuration (plugin:), not a YAML inventory; plugins are not supported",
        ));
    }
    for (key, node) in groups {
        parse_group(data, &key.name, node)?;
    }
    Ok(())
}

fn parse_group(data: &mut Data, name: &str, node: &Node) -> Result<Option<usize>, InventoryError> {
    let entries = match &node.kind {
        Kind::Null => &[][..],
        Kind::Map(m) => &m[..],
        _ => {
            data.warnings.push(format!(
                "{}: Skipping '{name}' as this is not a valid group definition (expected a mapping with hosts, vars or children, got {})",
                node.loc,
                node.type_name()
            ));
            return Ok(None);
        }
    };
    let g = data.add_group(name);
    for (key, value) in entries {
        let section = key.name.as_str();
        if !matches!(section, "hosts" | "vars" | "children") {
            data.warnings.push(format!(
                "{}: Skipping unexpected key ({section}) in group ({name}), only \"vars\", \"children\" and \"hosts\" are valid",
                key.loc
            ));
            continue;
        }
        // A bare string is shorthand for a one-entry mapping (`hosts: web1`).
        let single;
        let items: &[(crate::yaml::Key, Node)] = match &value.kind {
            Kind::Null => continue,
            Kind::Map(m) => m,
            Kind::Str(s) => {
                single = [(
                    crate::yaml::Key {
                        name: s.clone(),
                        loc: value.loc.clone(),
                    },
                    Node {
                        loc: value.loc.clone(),
                        kind: Kind::Null,
                    },
                )];
                &single
            }
            _ => {
                return Err(InventoryError::at_loc(
                    &value.loc,
                    format!(
                        "Invalid \"{section}\" entry for \"{name}\" group, requires a dictionary, found {} instead",
                        value.type_name()
                    ),
                ));
            }
        };
        match section {
            "vars" => {
                for (k, v) in items {
                    data.set_group_var(g, &k.name, v.to_json())
                        .map_err(|m| InventoryError::at_loc(&v.loc, m))?;
                }
            }
            "children" => {
                for (k, v) in items {
                    if let Some(child) = parse_group(data, &k.name, v)? {
                        data.add_child(g, child)
                            .map_err(|m| InventoryError::at_loc(&k.loc, m))?;
                    }
                }
            }
            _ => {
                for (k, v) in items {
                    let (names, port) = address::expand_hostpattern(&k.name)
                        .map_err(|m| InventoryError::at_loc(&k.loc, m))?;
                    let vars = match &v.kind {
                        Kind::Null => &[][..],
                        Kind::Map(m) => &m[..],
                        _ => {
                            return Err(InventoryError::at_loc(
                                &v.loc,
                                format!(
                                    "Invalid data for host '{}': expected a mapping of host variables, got {}",
                                    k.name,
                                    v.type_name()
                                ),
                            ));
                        }
                    };
                    for host in names {
                        let h = data
                            .add_host(&host, Some(g), port)
                            .map_err(|m| InventoryError::at_loc(&k.loc, m))?;
                        for (vk, vv) in vars {
                            data.set_host_var(h, &vk.name, vv.to_json());
                        }
                    }
                }
            }
        }
    }
    Ok(Some(g))
}
