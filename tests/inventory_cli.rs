//! `condaplay inventory` run as a real process, compared with what
//! `ansible-inventory` prints for the same inventory.

use std::path::Path;
use std::process::{Command, Output};

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// An inventory with ungrouped hosts, a range, a port, nested groups and group_vars.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "inv/hosts",
        "jump ansible_host=203.0.113.7\n[web]\nweb[1:2] http_port=80\n[db]\ndb1:2222\n[prod:children]\nweb\ndb\n[prod:vars]\nenv=prod\n",
    );
    write(
        dir.path(),
        "inv/group_vars/all.yml",
        "ntp: time.example.com\n",
    );
    write(dir.path(), "play/group_vars/web.yml", "app: shop\n");
    dir
}

fn condaplay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_condaplay"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run condaplay")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_prints_ansible_inventory_json() {
    let dir = fixture();
    let hosts = dir.path().join("inv/hosts");
    let out = condaplay(&["inventory", "-i", hosts.to_str().unwrap(), "--list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = r#"{
    "_meta": {
        "hostvars": {
            "db1": {
                "ansible_port": 2222,
                "env": "prod",
                "ntp": "time.example.com"
            },
            "jump": {
                "ansible_host": "203.0.113.7",
                "ntp": "time.example.com"
            },
            "web1": {
                "env": "prod",
                "http_port": 80,
                "ntp": "time.example.com"
            },
            "web2": {
                "env": "prod",
                "http_port": 80,
                "ntp": "time.example.com"
            }
        }
    },
    "all": {
        "children": [
            "ungrouped",
            "prod"
        ]
    },
    "db": {
        "hosts": [
            "db1"
        ]
    },
    "prod": {
        "children": [
            "web",
            "db"
        ]
    },
    "ungrouped": {
        "hosts": [
            "jump"
        ]
    },
    "web": {
        "hosts": [
            "web1",
            "web2"
        ]
    }
}
"#;
    assert_eq!(stdout(&out), expected);
}

#[test]
fn graph_prints_the_group_tree() {
    let dir = fixture();
    let hosts = dir.path().join("inv/hosts");
    let out = condaplay(&["inventory", "-i", hosts.to_str().unwrap(), "--graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "\
@all:
  |--@ungrouped:
  |  |--jump
  |--@prod:
  |  |--@web:
  |  |  |--web1
  |  |  |--web2
  |  |--@db:
  |  |  |--db1
";
    assert_eq!(stdout(&out), expected);

    let out = condaplay(&[
        "inventory",
        "-i",
        hosts.to_str().unwrap(),
        "--graph",
        "prod",
    ]);
    assert_eq!(
        stdout(&out),
        "@prod:\n  |--@web:\n  |  |--web1\n  |  |--web2\n  |--@db:\n  |  |--db1\n"
    );

    let out = condaplay(&[
        "inventory",
        "-i",
        hosts.to_str().unwrap(),
        "--graph",
        "nosuch",
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("Pattern must be valid group name when using --graph"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn host_prints_one_hosts_variables_with_playbook_dir_vars() {
    let dir = fixture();
    let hosts = dir.path().join("inv/hosts");
    let play = dir.path().join("play");
    let out = condaplay(&[
        "inventory",
        "-i",
        hosts.to_str().unwrap(),
        "--playbook-dir",
        play.to_str().unwrap(),
        "--host",
        "web2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = "{\n    \"app\": \"shop\",\n    \"env\": \"prod\",\n    \"http_port\": 80,\n    \"ntp\": \"time.example.com\"\n}\n";
    assert_eq!(stdout(&out), expected);

    let out = condaplay(&[
        "inventory",
        "-i",
        hosts.to_str().unwrap(),
        "--host",
        "nobody",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(
        err.contains("[WARNING]: Could not match supplied host pattern, ignoring: nobody"),
        "{err}"
    );
    assert!(
        err.contains("ERROR: You must pass a single valid host to --host parameter"),
        "{err}"
    );
}

#[test]
fn list_as_yaml_nests_groups_like_a_yaml_inventory() {
    let dir = fixture();
    let hosts = dir.path().join("inv/hosts");
    let out = condaplay(&["inventory", "-i", hosts.to_str().unwrap(), "--list", "-y"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("all:\n  children:\n    prod:\n      children:\n        db:\n          hosts:\n            db1:\n"), "{text}");
    assert!(
        text.contains("\n              ansible_port: 2222\n"),
        "{text}"
    );
    assert!(
        text.contains("\n    ungrouped:\n      hosts:\n        jump:\n"),
        "{text}"
    );
}

#[test]
fn a_host_list_source_works_without_files() {
    let out = condaplay(&["inventory", "-i", "a,b:2200,", "--graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "@all:\n  |--@ungrouped:\n  |  |--a\n  |  |--b\n"
    );
}

#[test]
fn a_malformed_inventory_exits_4_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "hosts", "[web]\nweb1\n[web:typo]\nx\n");
    let hosts = dir.path().join("hosts");
    let out = condaplay(&["inventory", "-i", hosts.to_str().unwrap(), "--list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let want = format!(
        "ERROR: {}:3: Section [web:typo] has unknown type: typo",
        hosts.display()
    );
    assert!(err.contains(&want), "{err}");

    write(dir.path(), "bad.yml", "all:\n  hosts:\n    - web1\n");
    let bad = dir.path().join("bad.yml");
    let out = condaplay(&["inventory", "-i", bad.to_str().unwrap(), "--list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains(&format!("{}:3:5: Invalid \"hosts\" entry", bad.display())),
        "{}",
        stderr(&out)
    );

    let out = condaplay(&["inventory", "-i", "/nonexistent/inventory", "--list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("/nonexistent/inventory: no such file or directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_action_is_required() {
    let out = condaplay(&["inventory", "-i", "a,"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "a usage error, like ansible-inventory without --list/--graph/--host"
    );
}
