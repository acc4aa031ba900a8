use serde_json::json;

use super::*;

const DOC: &str = "\
all:
  vars:
    ntp: time.example.com
  hosts:
    jump:
      ansible_host: 203.0.113.7
  children:
    web:
      hosts:
        web[01:02]:
        web03:2200:
          tier: canary
      vars:
        http_port: 80
    db:
      children:
        pg:
          hosts: pg1
      vars:
        ansible_group_priority: 3
standalone:
  hosts:
    s1: {x: [1, 2]}
";

#[test]
fn groups_hosts_vars_and_children() {
    let fx = Fx::new();
    fx.file("inv.yml", DOC);
    let inv = fx.load(&["inv.yml"]).unwrap();
    assert_eq!(
        inv.group_list(),
        ["all", "ungrouped", "web", "db", "pg", "standalone"]
    );
    assert_eq!(group_hosts(&inv, "web"), ["web01", "web02", "web03"]);
    assert_eq!(group_hosts(&inv, "db"), ["pg1"]);
    assert_eq!(
        group_hosts(&inv, "ungrouped"),
        ["jump"],
        "hosts directly under all are ungrouped too"
    );
    assert_eq!(inv.group_names("pg1"), ["db", "pg"]);
    assert_eq!(
        Value::Object(inv.host_vars("web01")),
        json!({"ntp": "time.example.com", "http_port": 80})
    );
    assert_eq!(
        Value::Object(inv.host_vars("web03")),
        json!({"ntp": "time.example.com", "http_port": 80, "ansible_port": 2200, "tier": "canary"})
    );
    assert_eq!(
        Value::Object(inv.host_vars("jump")),
        json!({"ntp": "time.example.com", "ansible_host": "203.0.113.7"})
    );
    assert_eq!(var(&inv.host_vars("s1"), "x"), &json!([1, 2]));
    assert!(
        !inv.host_vars("pg1").contains_key("ansible_group_priority"),
        "priority is not a variable"
    );
    // A top-level group outside `all:` still hangs under all.
    assert_eq!(inv.group_names("s1"), ["standalone"]);
    assert!(group_hosts(&inv, "all").contains(&"s1".to_string()));
}

#[test]
fn json_inventories_and_yaml_without_extension() {
    let fx = Fx::new();
    fx.file("inv.json", r#"{"web": {"hosts": {"w1": {"a": true}}}}"#);
    fx.file("noext", "db:\n  hosts:\n    d1:\n");
    let inv = fx.load(&["inv.json", "noext"]).unwrap();
    assert_eq!(inv.hosts(), ["w1", "d1"]);
    assert_eq!(var(&inv.host_vars("w1"), "a"), &json!(true));
}

#[test]
fn unexpected_keys_and_non_mapping_groups_warn() {
    let fx = Fx::new();
    fx.file(
        "inv.yml",
        "web:\n  hostz:\n    h1:\n  hosts:\n    h2:\nbad: [1]\n",
    );
    let inv = fx.load(&["inv.yml"]).unwrap();
    assert_eq!(inv.hosts(), ["h2"]);
    let w = inv.warnings().join("\n");
    assert!(
        w.contains("inv.yml:2:3: Skipping unexpected key (hostz) in group (web)"),
        "{w}"
    );
    assert!(
        w.contains("Skipping 'bad' as this is not a valid group definition"),
        "{w}"
    );
}

#[test]
fn a_list_of_hosts_is_an_error_naming_line_and_column() {
    let e = load_err(
        "inv.yml",
        "all:\n  children:\n    web:\n      hosts:\n        - web1\n",
    );
    assert_eq!(
        e,
        "/inv.yml:5:9: Invalid \"hosts\" entry for \"web\" group, requires a dictionary, found a list instead"
    );
}

#[test]
fn host_values_must_be_mappings() {
    let e = load_err("inv.yml", "web:\n  hosts:\n    h1: oops\n");
    assert_eq!(
        e,
        "/inv.yml:3:9: Invalid data for host 'h1': expected a mapping of host variables, got a string"
    );
}

#[test]
fn yaml_syntax_errors_and_empty_or_plugin_files() {
    let e = load_err("inv.yml", "all:\n  hosts: [a\n");
    assert!(e.starts_with("/inv.yml:"), "{e}");
    assert!(e.contains("invalid YAML"), "{e}");
    assert!(load_err("inv.yml", "").contains("Parsed empty YAML file"));
    assert!(load_err("inv.yml", "- a\n").contains("it should be a mapping of groups, got a list"));
    assert!(
        load_err("aws_ec2.yml", "plugin: amazon.aws.aws_ec2\n").contains("not a YAML inventory")
    );
    let e = load_err("inv.yml", "web:\n  hosts:\n    w[1:x]:\n");
    assert!(
        e.starts_with("/inv.yml:3:5: bad host range in 'w[1:x]'"),
        "{e}"
    );
}
