use serde_json::json;

use super::*;

/// Nine layers, lowest first; variable `upto_K` is set in layers 1..=K, so
/// each must show the value of layer K if (and only if) the order is right.
#[test]
fn precedence_follows_ansibles_default_order() {
    let fx = Fx::new();
    let upto = |layer: usize| -> Vec<(String, String)> {
        (layer..=9)
            .map(|k| (format!("upto_{k}"), format!("L{layer}")))
            .collect()
    };
    let yaml = |layer: usize| {
        upto(layer)
            .iter()
            .map(|(k, v)| format!("{k}: {v}\n"))
            .collect::<String>()
    };
    let ini_vars = |layer: usize| {
        upto(layer)
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
    };
    let inline = upto(7)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    fx.file(
        "inv/hosts",
        &format!(
            "[web]\nh1 {inline}\n[all:vars]\n{}[web:vars]\n{}",
            ini_vars(1),
            ini_vars(2)
        ),
    );
    fx.file("inv/group_vars/all.yml", &yaml(3));
    fx.file("play/group_vars/all.yml", &yaml(4));
    fx.file("inv/group_vars/web.yml", &yaml(5));
    fx.file("play/group_vars/web.yml", &yaml(6));
    fx.file("inv/host_vars/h1.yml", &yaml(8));
    fx.file("play/host_vars/h1.yml", &yaml(9));
    let inv = fx
        .load_with(&["inv/hosts"], Some(&fx.path("play")), None)
        .unwrap();
    let v = inv.host_vars("h1");
    for k in 1..=9 {
        assert_eq!(
            var(&v, &format!("upto_{k}")),
            &json!(format!("L{k}")),
            "layer {k}"
        );
    }
}

#[test]
fn group_order_is_depth_then_priority_then_name() {
    let fx = Fx::new();
    fx.file(
        "hosts",
        "[parent:children]\nchild\n[child]\nh1\n[aaa]\nh1\n[zzz]\nh1\n[parent:vars]\nx=parent\n[child:vars]\nx=child\n",
    );
    fx.file("group_vars/aaa.yml", "y: aaa\nz: aaa\n");
    fx.file("group_vars/zzz.yml", "y: zzz\n");
    fx.file("group_vars/parent.yml", "z: parent\n");
    let inv = fx.load(&["hosts"]).unwrap();
    let v = inv.host_vars("h1");
    assert_eq!(
        var(&v, "x"),
        &json!("child"),
        "a child group beats its parent"
    );
    assert_eq!(
        var(&v, "y"),
        &json!("zzz"),
        "same depth and priority: later name wins"
    );
    assert_eq!(
        var(&v, "z"),
        &json!("parent"),
        "same depth: 'parent' sorts after 'aaa' and wins"
    );

    fx.file(
        "hosts",
        "[aaa]\nh1\n[zzz]\nh1\n[aaa:vars]\nansible_group_priority=10\n",
    );
    let inv = fx.load(&["hosts"]).unwrap();
    assert_eq!(
        var(&inv.host_vars("h1"), "y"),
        &json!("aaa"),
        "a higher ansible_group_priority wins"
    );
}

#[test]
fn group_priority_in_group_vars_files_is_just_a_variable() {
    let fx = Fx::new();
    fx.file("hosts", "[aaa]\nh1\n[zzz]\nh1\n");
    fx.file("group_vars/aaa.yml", "ansible_group_priority: 10\ny: aaa\n");
    fx.file("group_vars/zzz.yml", "y: zzz\n");
    let inv = fx.load(&["hosts"]).unwrap();
    let v = inv.host_vars("h1");
    assert_eq!(var(&v, "y"), &json!("zzz"));
    assert_eq!(var(&v, "ansible_group_priority"), &json!(10));
}

#[test]
fn inventory_file_group_vars_lose_to_group_vars_all() {
    // Ansible's documented surprise: [web:vars] sits below group_vars/all.
    let fx = Fx::new();
    fx.file("hosts", "[web]\nh1\n[web:vars]\nport=1\n");
    fx.file("group_vars/all.yml", "port: 2\n");
    assert_eq!(
        var(&fx.load(&["hosts"]).unwrap().host_vars("h1"), "port"),
        &json!(2)
    );
}

#[test]
fn dictionaries_are_replaced_not_merged() {
    let fx = Fx::new();
    fx.file("hosts", "[web]\nh1\n");
    fx.file("group_vars/all.yml", "conf: {a: 1, b: 2}\n");
    fx.file("group_vars/web.yml", "conf: {a: 3}\n");
    assert_eq!(
        var(&fx.load(&["hosts"]).unwrap().host_vars("h1"), "conf"),
        &json!({"a": 3})
    );
}

#[test]
fn vars_file_forms_and_which_one_wins() {
    let fx = Fx::new();
    fx.file("hosts", "[a]\nh1\n[b]\nh1\n[c]\nh1\n[d]\nh1\n[e]\nh1\n");
    fx.file("group_vars/a", "from_a: plain\n");
    fx.file("group_vars/b.yaml", "from_b: yaml\n");
    fx.file("group_vars/c.json", "{\"from_c\": \"json\"}");
    // NAME.yml is found before NAME.json: only the first form is read.
    fx.file("group_vars/d.yml", "from_d: yml\n");
    fx.file(
        "group_vars/d.json",
        "{\"from_d\": \"json\", \"only_json\": 1}",
    );
    // A directory: every file, sorted, later files override earlier ones.
    fx.file("group_vars/e/01-base.yml", "e1: base\ne2: base\n");
    fx.file("group_vars/e/02-over.yaml", "e2: over\n");
    fx.file("group_vars/e/sub/03.json", "{\"e3\": \"nested\"}");
    fx.file("group_vars/e/notes.txt", "e4: never\n");
    fx.file("group_vars/e/.hidden.yml", "e5: never\n");
    fx.file("group_vars/e/backup.yml~", "e6: never\n");
    fx.file("group_vars/e/empty.yml", "");
    let v = fx.load(&["hosts"]).unwrap().host_vars("h1");
    assert_eq!(
        Value::Object(v),
        json!({"from_a": "plain", "from_b": "yaml", "from_c": "json", "from_d": "yml", "e1": "base", "e2": "over", "e3": "nested"})
    );
}

#[test]
fn later_inventory_sources_vars_dirs_override_earlier_ones() {
    let fx = Fx::new();
    fx.file("one/hosts", "[web]\nh1\n");
    fx.file("one/group_vars/web.yml", "who: one\n");
    fx.file("two/hosts", "[web]\nh1\n");
    fx.file("two/group_vars/web.yml", "who: two\n");
    let inv = fx.load(&["one/hosts", "two/hosts"]).unwrap();
    assert_eq!(var(&inv.host_vars("h1"), "who"), &json!("two"));
}

#[test]
fn encrypted_vars_files_go_through_the_age_loader() {
    let fx = Fx::new();
    fx.file("hosts", "h1\n");
    fx.file("group_vars/all/main.yml", "user: deploy\n");
    fx.file("group_vars/all/secrets.yml.age", "not really encrypted");
    let loader = |p: &Path| -> Result<Vars, String> {
        assert!(p.ends_with("group_vars/all/secrets.yml.age"));
        let mut m = Vars::new();
        m.insert("db_password".into(), json!("s3cret!"));
        m.insert("tokens".into(), json!(["tok-1"]));
        Ok(m)
    };
    let inv = fx.load_with(&["hosts"], None, Some(&loader)).unwrap();
    assert_eq!(
        Value::Object(inv.host_vars("h1")),
        json!({"user": "deploy", "db_password": "s3cret!", "tokens": ["tok-1"]})
    );
    assert_eq!(inv.secrets(), ["s3cret!", "tok-1"]);

    let err = fx.load(&["hosts"]).unwrap_err().to_string();
    assert!(
        err.starts_with("encrypted vars file ")
            && err.ends_with("group_vars/all/secrets.yml.age needs the vault identity"),
        "{err}"
    );

    let failing = |_: &Path| -> Result<Vars, String> { Err("no identity matches".into()) };
    let err = fx
        .load_with(&["hosts"], None, Some(&failing))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("secrets.yml.age: cannot decrypt: no identity matches"),
        "{err}"
    );
}

#[test]
fn broken_vars_files_name_file_line_and_column() {
    let fx = Fx::new();
    fx.file("hosts", "[web]\nh1\n");
    fx.file("group_vars/web.yml", "a: 1\nb: [unclosed\n");
    let err = fx.load(&["hosts"]).unwrap_err().to_string();
    assert!(err.contains("group_vars/web.yml:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");

    fx.file("group_vars/web.yml", "- a\n- b\n");
    let err = fx.load(&["hosts"]).unwrap_err().to_string();
    assert!(
        err.contains("group_vars/web.yml:1:1: a vars file must be a mapping"),
        "{err}"
    );
}

#[test]
fn playbook_vars_dirs_apply_to_groups_and_hosts() {
    let fx = Fx::new();
    fx.file("inv/hosts", "[web]\nh1\nh2\n");
    fx.file("site/group_vars/web/main.yml", "app: shop\n");
    fx.file("site/host_vars/h2", "app: admin\n");
    let inv = fx
        .load_with(&["inv/hosts"], Some(&fx.path("site")), None)
        .unwrap();
    assert_eq!(var(&inv.host_vars("h1"), "app"), &json!("shop"));
    assert_eq!(var(&inv.host_vars("h2"), "app"), &json!("admin"));
    assert!(inv.host_vars("nobody").is_empty());
}

#[test]
fn vars_for_unknown_groups_are_ignored_and_a_vars_file_in_place_of_the_dir_warns() {
    let fx = Fx::new();
    fx.file("hosts", "h1\n");
    fx.file("group_vars/ghosts.yml", "x: 1\n");
    fx.file("host_vars", "not a directory\n");
    let inv = fx.load(&["hosts"]).unwrap();
    assert!(inv.host_vars("h1").is_empty());
    assert!(
        inv.warnings()
            .iter()
            .any(|w| w.starts_with("Found host_vars that is not a directory")),
        "{:?}",
        inv.warnings()
    );
}
