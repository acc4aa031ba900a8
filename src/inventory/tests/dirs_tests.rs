use serde_json::json;

use super::*;

#[test]
fn a_directory_reads_its_files_in_name_order_and_skips_ansibles_ignore_list() {
    let fx = Fx::new();
    fx.file("inv/10-web.ini", "[web]\nw1\n");
    fx.file("inv/02-db.yml", "db:\n  hosts:\n    d1:\n");
    fx.file("inv/sub/more", "[extra]\nx1\n");
    for ignored in [
        "README.md",
        "notes.txt",
        "old.bak",
        "hosts~",
        "hosts.orig",
        "site.retry",
        "ansible.cfg",
        ".hidden",
    ] {
        fx.file(&format!("inv/{ignored}"), "this would not parse [[[\n");
    }
    fx.file("inv/group_vars/web.yml", "role: web\n");
    fx.file("inv/host_vars/d1.yml", "id: 7\n");
    let inv = fx.load(&["inv"]).unwrap();
    assert_eq!(inv.group_list(), ["all", "ungrouped", "db", "web", "extra"]);
    assert_eq!(inv.hosts(), ["d1", "w1", "x1"]);
    assert_eq!(
        var(&inv.host_vars("w1"), "role"),
        &json!("web"),
        "group_vars inside a directory source apply"
    );
    assert_eq!(var(&inv.host_vars("d1"), "id"), &json!(7));
}

#[test]
fn host_lists_need_a_comma_and_put_hosts_in_ungrouped() {
    let fx = Fx::new();
    let sources = vec!["a.example.com,b:2222, 10.0.0.3,".to_string()];
    let inv = Inventory::load(&LoadOptions {
        sources: &sources,
        playbook_dir: None,
        age_loader: None,
    })
    .unwrap();
    assert_eq!(inv.hosts(), ["a.example.com", "b", "10.0.0.3"]);
    assert_eq!(
        group_hosts(&inv, "ungrouped"),
        ["a.example.com", "b", "10.0.0.3"]
    );
    assert_eq!(var(&inv.host_vars("b"), "ansible_port"), &json!(2222));
    assert_eq!(inv.inventory_file("b"), None);
    let one = vec!["solo,".to_string()];
    let inv = Inventory::load(&LoadOptions {
        sources: &one,
        playbook_dir: None,
        age_loader: None,
    })
    .unwrap();
    assert_eq!(inv.hosts(), ["solo"]);
    let err = fx.load(&["missing"]).unwrap_err().to_string();
    assert!(err.contains("missing: no such file or directory"), "{err}");
}

#[test]
fn several_sources_merge_groups_hosts_and_vars() {
    let fx = Fx::new();
    fx.file("a/hosts", "[web]\nw1 x=1\n[web:vars]\ng=a\n");
    fx.file(
        "b/hosts.yml",
        "web:\n  hosts:\n    w1: {x: 2}\n    w2:\n  vars: {g: b}\n",
    );
    let inv = fx.load(&["a/hosts", "b/hosts.yml"]).unwrap();
    assert_eq!(group_hosts(&inv, "web"), ["w1", "w2"]);
    assert_eq!(
        Value::Object(inv.host_vars("w1")),
        json!({"g": "b", "x": 2}),
        "later sources override earlier ones"
    );
    let file = inv.inventory_file("w1").unwrap();
    assert!(
        file.ends_with("a/hosts"),
        "inventory_file is the first file naming the host: {file:?}"
    );
    let magic = inv.magic_vars("w1");
    assert_eq!(magic["inventory_hostname_short"], json!("w1"));
    assert_eq!(magic["group_names"], json!(["web"]));
    assert!(magic["inventory_dir"].as_str().unwrap().ends_with("/a"));
}

#[test]
fn magic_short_names_cut_at_the_first_dot() {
    let inv = ini("web1.example.com\nlocalhost\n");
    assert_eq!(
        inv.magic_vars("web1.example.com")["inventory_hostname_short"],
        json!("web1")
    );
    assert_eq!(
        inv.magic_vars("localhost")["inventory_hostname_short"],
        json!("localhost")
    );
}
