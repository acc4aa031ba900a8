//! Host keys are checked strictly: unknown keys are refused with their
//! fingerprint and the way to pin them; `condaplay trust` pins; a changed key
//! is refused loudly. Nothing runs on a refused host.

mod support;

use support::Test;

const PB: &str =
    "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {{ scratch }}/ran\n";

#[test]
fn unknown_host_key_is_refused_then_trusted() {
    let t = Test::new().hosts(1).playbook(PB);
    std::fs::write(&t.hosts[0].known_hosts, "").unwrap();
    let run = t.run(&[]);
    run.assert_exit(4)
        .assert_stdout_contains("is not known")
        .assert_stdout_contains("SHA256:")
        .assert_stdout_contains("condaplay trust web1");
    assert!(!t.scratch(0).join("ran").exists());
    let trust = t.condaplay(&["trust", "web1", "-i", "inventory.ini", "--yes"]);
    trust.assert_exit(0).assert_stdout_contains("pinned");
    t.run(&[]).assert_exit(0).assert_changed(1);
    assert!(t.scratch(0).join("ran").exists());
}

#[test]
fn changed_host_key_is_refused_loudly() {
    let t = Test::new().hosts(2).playbook(PB);
    // Pin web1's address with web2's key: as if web1's key had changed.
    let other = std::fs::read_to_string(&t.hosts[1].known_hosts).unwrap();
    let key = other.split_once(' ').unwrap().1;
    std::fs::write(
        &t.hosts[0].known_hosts,
        format!("[{}]:{} {key}", t.hosts[0].addr, t.hosts[0].port),
    )
    .unwrap();
    let run = t.run(&["--limit", "web1"]);
    run.assert_exit(4).assert_stdout_contains("has CHANGED");
    assert!(!t.scratch(0).join("ran").exists());
}
