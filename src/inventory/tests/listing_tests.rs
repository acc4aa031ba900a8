use serde_json::json;

use super::*;
use crate::inventory::cli::{graph, json_list, to_json_text, yaml_list};

#[test]
fn list_leaves_out_empty_groups_but_all_still_names_ungrouped() {
    let inv = ini("[web]\nw1\n[empty]\n");
    assert_eq!(
        json_list(&inv),
        json!({"all": {"children": ["ungrouped", "web", "empty"]}, "web": {"hosts": ["w1"]}, "_meta": {"hostvars": {}}})
    );
}

#[test]
fn yaml_list_shows_host_vars_at_the_first_appearance_only() {
    let inv = ini("[a]\nh1 x=1\n[b]\nh1\n");
    assert_eq!(
        yaml_list(&inv),
        json!({"all": {"children": {"ungrouped": {}, "a": {"hosts": {"h1": {"x": 1}}}, "b": {"hosts": {"h1": {}}}}}})
    );
}

#[test]
fn json_text_is_sorted_with_four_space_indent() {
    assert_eq!(
        to_json_text(&json!({"b": [1], "a": {"d": {}, "c": []}})),
        "{\n    \"a\": {\n        \"c\": [],\n        \"d\": {}\n    },\n    \"b\": [\n        1\n    ]\n}"
    );
}

#[test]
fn graph_with_vars_shows_host_and_group_variables() {
    let fx = Fx::new();
    fx.file(
        "hosts",
        "[web]\nw1 port=80 tags=\"['a', 'b']\"\n[web:vars]\nansible_group_priority=2\n",
    );
    fx.file("group_vars/web.yml", "role: front\n");
    let inv = fx.load(&["hosts"]).unwrap();
    let text = graph(&inv, "web", true).unwrap();
    assert_eq!(
        text,
        "@web:\n  |--w1\n  |  |--{port = 80}\n  |  |--{role = front}\n  |  |--{tags = ['a', 'b']}\n  |--{ansible_group_priority = 2}\n  |--{role = front}"
    );
}

#[test]
fn connection_variables_are_plain_variables() {
    let inv = ini(concat!(
        "[web]\n",
        "w1 ansible_host=10.0.0.1 ansible_port=2222 ansible_user=deploy ansible_ssh_private_key_file=~/.ssh/id_ed25519 ",
        "ansible_ssh_common_args='-o ProxyJump=\"jump@bastion:22\"' ansible_become=True ansible_python_interpreter=/usr/bin/python3\n",
        "[web:vars]\n",
        "ansible_ssh_extra_args='-o StrictHostKeyChecking=no'\n",
        "ansible_become_user=root\n",
        "ansible_connection=ssh\n",
    ));
    assert_eq!(
        Value::Object(inv.host_vars("w1")),
        json!({
            "ansible_ssh_extra_args": "-o StrictHostKeyChecking=no",
            "ansible_become_user": "root",
            "ansible_connection": "ssh",
            "ansible_host": "10.0.0.1",
            "ansible_port": 2222,
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": "~/.ssh/id_ed25519",
            "ansible_ssh_common_args": "-o ProxyJump=\"jump@bastion:22\"",
            "ansible_become": true,
            "ansible_python_interpreter": "/usr/bin/python3"
        })
    );
}
