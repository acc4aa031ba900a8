use serde_json::json;

use super::*;

#[test]
fn hosts_before_any_section_are_ungrouped_and_all_holds_everything() {
    let inv = ini("lone\n[web]\nweb1\n");
    assert_eq!(inv.hosts(), ["lone", "web1"]);
    assert_eq!(group_hosts(&inv, "ungrouped"), ["lone"]);
    assert_eq!(group_hosts(&inv, "all"), ["lone", "web1"]);
    assert_eq!(inv.group_list(), ["all", "ungrouped", "web"]);
    assert_eq!(
        inv.group_names("lone"),
        ["ungrouped"],
        "Ansible gives ungrouped hosts group_names == ['ungrouped']"
    );
    assert_eq!(inv.group_names("web1"), ["web"]);
}

#[test]
fn a_host_listed_at_the_top_and_in_a_group_leaves_ungrouped() {
    let inv = ini("h1\nh2\n[web]\nh1\n");
    assert_eq!(group_hosts(&inv, "ungrouped"), ["h2"]);
    assert_eq!(inv.group_names("h1"), ["web"]);
}

#[test]
fn inline_host_values_are_python_literals_after_shell_unquoting() {
    let inv = ini(
        "h1 n=1 t=True lower=true s='a b' q=\"1\" f=1.5 l=\"[1, 'x']\" d=\"{'k': None}\" o=0644 e= # comment\n",
    );
    let v = inv.host_vars("h1");
    assert_eq!(
        Value::Object(v),
        json!({"n": 1, "t": true, "lower": "true", "s": "a b", "q": 1, "f": 1.5, "l": [1, "x"], "d": {"k": null}, "o": "0644", "e": ""})
    );
}

#[test]
fn group_vars_sections_keep_quotes_and_take_the_whole_rest_of_the_line() {
    let inv = ini(concat!(
        "[web]\nh1\n[web:vars]\n",
        "a = 'x y'\n",
        "b=\"1\"\n",
        "c=FALSE\n",
        "d=42\n",
        "e=k=v and more\n",
        "f=\n",
        "g=False\n",
        "h=/usr/bin/python3\n",
    ));
    assert_eq!(
        Value::Object(inv.host_vars("h1")),
        json!({"a": "x y", "b": "1", "c": "FALSE", "d": 42, "e": "k=v and more", "f": "", "g": false, "h": "/usr/bin/python3"})
    );
}

#[test]
fn host_port_shorthand_sets_ansible_port_once() {
    let inv =
        ini("[a]\ndb1:2222 ansible_user=root\n[b]\ndb1:3333\n10.0.0.1:22\n[c]\n[fe80::1]:2200\n");
    let v = inv.host_vars("db1");
    assert_eq!(
        var(&v, "ansible_port"),
        &json!(2222),
        "the port of a host's first mention sticks, as in Ansible"
    );
    assert_eq!(var(&v, "ansible_user"), &json!("root"));
    assert_eq!(var(&inv.host_vars("10.0.0.1"), "ansible_port"), &json!(22));
    assert_eq!(var(&inv.host_vars("fe80::1"), "ansible_port"), &json!(2200));
    assert_eq!(inv.group_names("db1"), ["a", "b"]);
}

#[test]
fn ranges_expand_in_host_lines_with_shared_vars() {
    let inv = ini("[web]\nweb[01:03]:2200 tier=front\ndb-[a:c]\nn[1:9:4]\n");
    assert_eq!(
        group_hosts(&inv, "web"),
        [
            "web01", "web02", "web03", "db-a", "db-b", "db-c", "n1", "n5", "n9"
        ]
    );
    let v = inv.host_vars("web02");
    assert_eq!(
        Value::Object(v),
        json!({"ansible_port": 2200, "tier": "front"})
    );
}

#[test]
fn repeated_sections_add_up() {
    let inv = ini(
        "[web]\nh1\n[web:vars]\na=1\n[db]\nd1\n[web]\nh2\n[web:vars]\nb=2\na=3\n[p:children]\nweb\n[p:children]\ndb\n",
    );
    assert_eq!(group_hosts(&inv, "web"), ["h1", "h2"]);
    assert_eq!(Value::Object(inv.host_vars("h2")), json!({"a": 3, "b": 2}));
    assert_eq!(group_hosts(&inv, "p"), ["h1", "h2", "d1"]);
}

#[test]
fn children_may_be_named_before_they_are_declared() {
    let inv = ini("[prod:children]\nweb\ndb\n[all_servers:children]\nprod\n[web]\nw1\n[db]\nd1\n");
    assert_eq!(group_hosts(&inv, "all_servers"), ["w1", "d1"]);
    assert_eq!(inv.group_names("w1"), ["all_servers", "prod", "web"]);
    let all = inv.groups();
    assert_eq!(
        all.keys().collect::<Vec<_>>(),
        ["all", "ungrouped", "prod", "all_servers", "web", "db"]
    );
}

#[test]
fn comments_with_hash_and_semicolon_and_blank_lines() {
    let inv = ini("# top\n; also\n\n[web]  # trailing\n  h1   # spaces around\n;h2\n#h3\n");
    assert_eq!(inv.hosts(), ["h1"]);
}

#[test]
fn odd_group_names_warn_and_host_group_clashes_warn() {
    let inv = ini("[web-servers]\nh1\n[h1]\nother\n");
    assert!(
        inv.warnings()
            .iter()
            .any(|w| w.contains("Invalid characters were found in group names")),
        "{:?}",
        inv.warnings()
    );
    assert!(
        inv.warnings()
            .iter()
            .any(|w| w == "Found both group and host with same name: h1")
    );
}

#[test]
fn unknown_section_type_names_file_and_line() {
    let e = load_err("hosts", "[web]\nh1\n[web:hostz]\n");
    assert_eq!(
        e,
        "/hosts:3: Section [web:hostz] has unknown type: hostz (expected [web], [web:children] or [web:vars])"
    );
}

#[test]
fn section_with_spaces_is_an_invalid_section_entry() {
    let e = load_err("hosts", "h0\n[web servers]\n");
    assert!(
        e.starts_with("/hosts:2: Invalid section entry: '[web servers]'"),
        "{e}"
    );
}

#[test]
fn children_section_naming_a_host_is_an_error_with_a_hint() {
    let e = load_err("hosts", "[web]\nh1\n[prod:children]\nweb\nh1\n");
    assert_eq!(
        e,
        "/hosts:5: Section [prod:children] includes undefined group 'h1'. ('h1' is a host: list it under [prod], not [prod:children])"
    );
    let e = load_err("hosts", "[prod:children]\nnope\n");
    assert_eq!(
        e,
        "/hosts:2: Section [prod:children] includes undefined group 'nope'. (declare it with [nope])"
    );
}

#[test]
fn vars_for_an_undeclared_group_is_an_error() {
    let e = load_err("hosts", "[web]\nh1\n\n[db:vars]\nx=1\n");
    assert_eq!(
        e,
        "/hosts:4: Section [db:vars] not valid for undefined group 'db'."
    );
    // Declared later in the file: fine.
    let inv = ini("[db:vars]\nx=1\n[db]\nd1\n");
    assert_eq!(var(&inv.host_vars("d1"), "x"), &json!(1));
}

#[test]
fn malformed_lines_name_their_line() {
    assert_eq!(
        load_err("hosts", "[web:vars]\n"),
        "/hosts:1: Section [web:vars] not valid for undefined group 'web'."
    );
    assert_eq!(
        load_err("hosts", "[web]\nh1\n[web:vars]\njustakey\n"),
        "/hosts:4: Expected key=value, got: justakey"
    );
    assert_eq!(
        load_err("hosts", "[web]\nh1 novalue\n"),
        "/hosts:2: Expected key=value host variable assignment, got: novalue"
    );
    assert_eq!(
        load_err("hosts", "[web]\nh1 x='open\n"),
        "/hosts:2: Error parsing host definition 'h1 x='open': No closing quotation"
    );
    assert_eq!(
        load_err("hosts", "[a:children]\nb c\n"),
        "/hosts:2: Expected group name, got: b c"
    );
    assert!(
        load_err("hosts", "[web]\nh1:\n")
            .starts_with("/hosts:2: Invalid host pattern 'h1:' supplied, ending in ':'")
    );
    assert!(
        load_err("hosts", "h1\n---\n").contains("'---' is normally a sign this is a YAML file")
    );
}

#[test]
fn bad_ranges_name_file_and_line() {
    assert_eq!(
        load_err("hosts", "[web]\nok1\nweb[01:100]\n"),
        "/hosts:3: bad host range in 'web[01:100]': host range must specify equal-length begin and end formats"
    );
    assert_eq!(
        load_err("hosts", "[web]\nweb[1:x]\n"),
        "/hosts:2: bad host range in 'web[1:x]': 'x' is neither a number nor a letter"
    );
    assert!(
        load_err("hosts", "[web]\nweb[3]\n").starts_with("/hosts:2: bad host range in 'web[3]'")
    );
    assert!(load_err("hosts", "[web]\nweb[c:a]\n").contains("begin <= end"));
}

#[test]
fn group_loops_are_refused() {
    let e = load_err("hosts", "[a:children]\nb\n[b:children]\na\n");
    assert_eq!(
        e,
        "/hosts:4: Adding group 'a' as child to 'b' creates a recursive dependency loop."
    );
    let e = load_err("hosts", "[a:children]\na\n");
    assert!(e.contains("recursive dependency loop"), "{e}");
}

#[test]
fn group_priority_must_be_an_integer() {
    let e = load_err(
        "hosts",
        "[web]\nh1\n[web:vars]\nansible_group_priority=high\n",
    );
    assert!(
        e.starts_with("/hosts:4: ansible_group_priority of group 'web' must be an integer"),
        "{e}"
    );
}

#[test]
fn ini_host_line_with_colon_space_in_a_value_is_not_taken_for_yaml() {
    // `d="{'k': 1}"` makes the whole line a valid YAML mapping; an extension-less
    // file is YAML only when it is a mapping of groups.
    let inv = ini("h1 d=\"{'k': 1}\"\n");
    assert_eq!(inv.hosts(), ["h1"]);
    assert_eq!(var(&inv.host_vars("h1"), "d"), &json!({"k": 1}));
}

#[test]
fn pending_children_resolve_through_several_levels() {
    let inv = ini("[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nh1\n");
    assert_eq!(inv.group_names("h1"), ["leaf", "mid", "top"]);
    assert_eq!(inv.group_list(), ["all", "ungrouped", "top", "mid", "leaf"]);
}
