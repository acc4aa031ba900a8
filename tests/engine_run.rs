//! The engine end to end: the real binary, real sshd hosts, real files.

mod support;

use support::{Recap, Test};

const SITE: &str = r#"
- name: converge
  hosts: web
  gather_facts: true
  vars:
    greeting: hello
  tasks:
    - name: a directory
      file:
        path: "{{ scratch }}/app"
        state: directory
        mode: "0755"
    - name: a config file
      copy:
        dest: "{{ scratch }}/app/app.conf"
        content: "greeting={{ greeting }} on {{ inventory_hostname }} ({{ ansible_facts.os_family }})\n"
        mode: 0640
      notify: reload app
    - name: files in a loop
      ansible.builtin.file:
        path: "{{ scratch }}/app/{{ item }}"
        state: touch
      loop: [a, b]
      when: false
    - name: a guarded command
      command: touch {{ scratch }}/app/marker creates={{ scratch }}/app/marker
    - name: read it back
      command: cat {{ scratch }}/app/app.conf
      register: conf
      changed_when: false
    - name: check it
      assert:
        that:
          - "'greeting=hello' in conf.stdout"
          - conf.rc == 0
  handlers:
    - name: reload app
      shell: echo reloaded >> {{ scratch }}/app/handler.log
"#;

#[test]
fn converges_then_reports_no_change() {
    let t = Test::new().hosts(2).playbook(SITE);
    let first = t.run(&[]);
    first.assert_exit(0);
    // dir, copy, command, handler on each of two hosts.
    first.assert_changed(8);
    assert_eq!(first.host("web1").skipped, 1);
    let conf = support::playbook::read(&t.scratch(0).join("app/app.conf"));
    assert_eq!(conf, "greeting=hello on web1 (Debian)\n");
    assert_eq!(
        support::playbook::read(&t.scratch(1).join("app/handler.log")),
        "reloaded\n"
    );
    let second = t.run(&[]);
    second.assert_exit(0).assert_changed(0);
    assert_eq!(
        second.host("web2"),
        Recap {
            ok: 6,
            changed: 0,
            skipped: 1,
            ..Recap::default()
        }
    );
    // The handler did not run again.
    assert_eq!(
        support::playbook::read(&t.scratch(1).join("app/handler.log")),
        "reloaded\n"
    );
}

#[test]
fn check_mode_changes_nothing() {
    let t = Test::new().hosts(1).playbook(SITE);
    let run = t.run(&["--check", "--diff"]);
    run.assert_exit(2); // `cat` is skipped in check mode, so the assert fails: like Ansible.
    assert!(
        !t.scratch(0).join("app").exists(),
        "check mode created files\n{}",
        run.stdout
    );
    run.assert_stdout_contains("+greeting=hello on web1 (Debian)");
}

#[test]
fn failed_and_unreachable_hosts_are_reported_and_exit_codes_follow_ansible() {
    let mut t = Test::new().hosts(3).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - command: "false"
      when: inventory_hostname == 'web2'
    - command: "true"
"#,
    );
    t.hosts[2].stop();
    let run = t.run(&[]);
    run.assert_exit(2);
    assert_eq!(
        run.host("web1"),
        Recap {
            ok: 1,
            changed: 1,
            skipped: 1,
            ..Recap::default()
        }
    );
    assert_eq!(
        run.host("web2"),
        Recap {
            failed: 1,
            ..Recap::default()
        }
    );
    // Skipped by `when` without connecting, then unreachable: as Ansible counts.
    assert_eq!(
        run.host("web3"),
        Recap {
            unreachable: 1,
            skipped: 1,
            ..Recap::default()
        }
    );
    let retry = support::playbook::read(&t.path("site.retry"));
    assert_eq!(retry, "web2\nweb3\n");
    // Rerun only the failed hosts: web2 fails again, web3 is still down.
    let again = t.run(&["--limit", "@site.retry"]);
    assert!(!again.recap.contains_key("web1"), "{}", again.stdout);
}

#[test]
fn unreachable_only_exits_4() {
    let mut t = Test::new()
        .hosts(1)
        .playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: 'true'\n");
    t.hosts[0].stop();
    t.run(&[]).assert_exit(4);
}

#[test]
fn block_rescue_always_and_ignore_errors() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: no
  tasks:
    - block:
        - command: "false"
        - debug: msg=never
      rescue:
        - set_fact:
            rescued_it: yes
      always:
        - shell: echo always > {{ scratch }}/always
    - command: "false"
      ignore_errors: true
    - assert:
        that: rescued_it | bool
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(0);
    assert_eq!(
        run.host("web1"),
        Recap {
            ok: 4,
            changed: 2,
            rescued: 1,
            ignored: 1,
            ..Recap::default()
        }
    );
    assert!(t.scratch(0).join("always").exists());
}

#[test]
fn unknown_module_is_an_error_before_anything_runs() {
    let t = Test::new()
        .hosts(1)
        .playbook("- hosts: all\n  tasks:\n    - name: bad one\n      copyy:\n        dest: /x\n");
    let run = t.run(&[]);
    run.assert_exit(4)
        .assert_stderr_contains("site.yml:4:7")
        .assert_stderr_contains("bad one");
    assert!(run.recap.is_empty());
}

#[test]
fn json_output_is_one_document() {
    let t = Test::new().hosts(1).playbook(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: hi\n      debug: msg=hello\n",
    );
    let run = t.run(&["--output", "json"]);
    run.assert_exit(0);
    let doc: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["stats"]["web1"]["ok"], 1);
    assert_eq!(doc["plays"][0]["tasks"][0]["hosts"]["web1"]["msg"], "hello");
}

#[test]
fn magic_variables_describe_the_play_and_its_batch() {
    // groups, play_hosts and friends are built once per batch and shared by
    // every host's context; each host still sees its own batch.
    let t = Test::new().hosts(2).inventory_extra("[db]\nweb2\n").playbook(
        r#"
- name: magic
  hosts: web
  gather_facts: false
  serial: 1
  tasks:
    - copy:
        dest: "{{ scratch }}/magic"
        content: |
          groups.web={{ groups.web | join(',') }} groups.db={{ groups.db | join(',') }}
          play_hosts={{ play_hosts | join(',') }} batch={{ ansible_play_batch | join(',') }}
          all={{ ansible_play_hosts_all | join(',') }} check={{ ansible_check_mode }}
          play={{ ansible_play_name }} dir={{ playbook_dir is defined }} omit={{ 'x' if omit else '' }}
          groups_of_me={{ group_names | join(',') }}
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(2);
    let web2 = support::playbook::read(&t.scratch(1).join("magic"));
    assert_eq!(
        web2,
        "groups.web=web1,web2 groups.db=web2\nplay_hosts=web2 batch=web2\n\
all=web1,web2 check=False\nplay=magic dir=True omit=x\ngroups_of_me=db,web\n"
    );
    let web1 = support::playbook::read(&t.scratch(0).join("magic"));
    assert!(web1.contains("play_hosts=web1 batch=web1\n"), "{web1}");
    assert!(web1.contains("groups_of_me=web\n"), "{web1}");
}

#[test]
fn a_task_skipped_by_when_registers_ansibles_skipped_result() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  vars:
    flag: false
  tasks:
    - command: echo first
      register: one
      changed_when: false
    # A skipped task still registers: the earlier value is replaced.
    - command: echo second
      when: flag
      register: one
    - command: echo {{ item }}
      loop: [a, b]
      when: item == 'z'
      register: all_skipped
    - command: echo {{ item }}
      loop: [a, b]
      when: item == 'b'
      register: some_skipped
      changed_when: false
    - command: echo never
      loop: []
      register: empty
    - copy:
        dest: "{{ scratch }}/registered.json"
        content: "{{ {'one': one, 'all': all_skipped, 'some': some_skipped, 'empty': empty} | to_json }}"
"#,
    );
    t.run(&[]).assert_exit(0);
    let doc: serde_json::Value = serde_json::from_str(&support::playbook::read(
        &t.scratch(0).join("registered.json"),
    ))
    .unwrap();
    let skipped = |cond: &str| {
        serde_json::json!({
            "changed": false,
            "skipped": true,
            "skip_reason": "Conditional result was False",
            "false_condition": cond,
        })
    };
    assert_eq!(doc["one"], skipped("flag"));
    let item = |v: &str| {
        let mut r = skipped("item == 'z'");
        r["item"] = v.into();
        r["ansible_loop_var"] = "item".into();
        r
    };
    assert_eq!(
        doc["all"],
        serde_json::json!({
            "changed": false,
            "skipped": true,
            "msg": "All items skipped",
            "results": [item("a"), item("b")],
        })
    );
    assert_eq!(doc["some"]["results"][0]["skipped"], true);
    assert_eq!(doc["some"]["results"][0]["false_condition"], "item == 'b'");
    assert_eq!(doc["some"]["results"][1]["stdout"], "b");
    // Ansible sets `skipped` on every looped result: false when an item ran.
    assert_eq!(doc["some"]["skipped"], false, "{}", doc["some"]);
    assert_eq!(
        doc["empty"],
        serde_json::json!({
            "changed": false,
            "skipped": true,
            "skipped_reason": "No items in the list",
            "results": [],
        })
    );
}

#[test]
fn facts_travel_with_the_first_tasks_that_do_not_need_them() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web
  tasks:
    - name: a directory
      file:
        path: "{{ scratch }}/f"
        state: directory
    - name: a file
      copy:
        dest: "{{ scratch }}/f/plain"
        content: "no facts here\n"
    - name: the family
      copy:
        dest: "{{ scratch }}/f/family"
        content: "{{ ansible_facts.os_family }} {{ ansible_hostname | length > 0 }}\n"
    - name: after it
      file:
        path: "{{ scratch }}/f/plain"
        mode: "0600"
"#,
    );
    let run = t.run(&["-vvv"]);
    run.assert_exit(0).assert_recap(
        "web1",
        Recap {
            ok: 5,
            changed: 4,
            ..Recap::default()
        },
    );
    // Facts, then the two tasks that do not read them: one round trip.
    run.assert_stderr_contains("<web1> 1 round trip: Gathering Facts, a directory, a file\n");
    run.assert_stderr_contains("<web2> 1 round trip: Gathering Facts, a directory, a file\n");
    // The task that reads them is planned once they are there.
    run.assert_stderr_contains("<web1> 1 round trip: the family, after it\n");
    let family = support::playbook::read(&t.scratch(0).join("f/family"));
    assert_eq!(family, "Debian True\n");
    // The recap's task order is Ansible's: facts first.
    let out = &run.stdout;
    let facts_at = out.find("TASK [Gathering Facts]").expect("facts task");
    assert!(facts_at < out.find("TASK [a directory]").expect("first task"));
}

#[test]
fn a_first_task_that_reads_facts_waits_for_them() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  tasks:
    - name: only on Debian
      file:
        path: "{{ scratch }}/deb"
        state: directory
      when: ansible_os_family == 'Debian'
"#,
    );
    let run = t.run(&["-vvv"]);
    run.assert_exit(0).assert_changed(1);
    run.assert_stderr_contains("<web1> 1 round trip: Gathering Facts\n");
    run.assert_stderr_contains("<web1> 1 round trip: only on Debian\n");
    assert!(t.scratch(0).join("deb").is_dir());
}

#[test]
fn plays_reuse_the_warm_connection_of_the_play_before() {
    // The same TCP connection (SSH_CONNECTION names the client's port) serves
    // both plays: no second handshake.
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - shell: echo "$SSH_CONNECTION" >> {{ scratch }}/conn
- hosts: all
  gather_facts: false
  tasks:
    - shell: echo "$SSH_CONNECTION" >> {{ scratch }}/conn
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(2);
    let seen = support::playbook::read(&t.scratch(0).join("conn"));
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines.len(), 2, "{seen}");
    assert!(!lines[0].is_empty());
    assert_eq!(lines[0], lines[1], "a new connection for the second play");
}

#[test]
fn a_play_whose_hosts_all_failed_ends_the_playbook() {
    // Ansible stops at a play where every host failed: later plays (here,
    // on hosts that did not fail) do not run.
    let t = Test::new()
        .hosts(2)
        .inventory_extra("[first]\nweb1\n[second]\nweb2\n")
        .playbook(
            r#"
- hosts: first
  gather_facts: false
  tasks:
    - fail:
        msg: refused
- hosts: second
  gather_facts: false
  tasks:
    - file:
        path: "{{ scratch }}/ran"
        state: touch
"#,
        );
    let run = t.run(&[]);
    run.assert_exit(2)
        .assert_stdout_contains("NO MORE HOSTS LEFT");
    assert!(!t.scratch(1).join("ran").exists(), "the second play ran");
}

#[test]
fn meta_end_play_ends_only_its_play() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - meta: end_play
    - file:
        path: "{{ scratch }}/not"
        state: touch
- hosts: web
  gather_facts: false
  tasks:
    - file:
        path: "{{ scratch }}/next"
        state: touch
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(1);
    assert!(!t.scratch(0).join("not").exists());
    assert!(t.scratch(0).join("next").exists());
}
