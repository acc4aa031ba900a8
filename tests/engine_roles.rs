//! Roles, includes, handlers, tags, loops, serial and variable precedence, run
//! against real sshd hosts.

mod support;

use support::playbook::read;
use support::{Recap, Test};

fn role_tree(t: Test) -> Test {
    t.file("roles/base/defaults/main.yml", "motd: from defaults\nport: 80\n")
        .file("roles/base/vars/main.yml", "role_var: from role vars\n")
        .file("roles/base/meta/main.yml", "dependencies:\n  - role: common\n")
        .file("roles/common/tasks/main.yml", "- name: common marker\n  copy:\n    dest: \"{{ scratch }}/common\"\n    content: common\n")
        .file(
            "roles/base/tasks/main.yml",
            r#"
- name: motd from a template
  template:
    src: motd.j2
    dest: "{{ scratch }}/motd"
  notify: motd changed
- import_tasks: extra.yml
"#,
        )
        .file("roles/base/tasks/extra.yml", "- name: extra file\n  copy:\n    src: payload.txt\n    dest: \"{{ scratch }}/payload\"\n  tags: [payload]\n")
        .file("roles/base/files/payload.txt", "payload from files/\n")
        .file("roles/base/templates/motd.j2", "{{ motd }} port={{ port }} {{ role_var }} {{ role_name }}\n")
        .file("roles/base/handlers/main.yml", "- name: restart motd\n  listen: motd changed\n  shell: echo handled >> {{ scratch }}/handled\n")
}

#[test]
fn roles_with_dependencies_templates_files_and_handlers_converge() {
    let t = role_tree(Test::new().hosts(1)).playbook(
        "- hosts: web\n  gather_facts: false\n  roles:\n    - role: base\n      port: 8080\n",
    );
    let run = t.run(&[]);
    run.assert_exit(0);
    let dir = t.scratch(0);
    assert_eq!(read(&dir.join("common")), "common");
    // Role parameters beat role defaults.
    assert_eq!(
        read(&dir.join("motd")),
        "from defaults port=8080 from role vars base\n"
    );
    assert_eq!(read(&dir.join("payload")), "payload from files/\n");
    assert_eq!(read(&dir.join("handled")), "handled\n");
    t.run(&[]).assert_exit(0).assert_changed(0);
}

#[test]
fn tags_select_and_skip_tasks() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - shell: echo a > {{ scratch }}/a
      tags: [a]
    - shell: echo b > {{ scratch }}/b
      tags: b
    - shell: echo always > {{ scratch }}/always
      tags: always
    - shell: echo never > {{ scratch }}/never
      tags: never
"#,
    );
    t.run(&["--tags", "b"]).assert_exit(0).assert_changed(2);
    let dir = t.scratch(0);
    assert!(
        !dir.join("a").exists()
            && dir.join("b").exists()
            && dir.join("always").exists()
            && !dir.join("never").exists()
    );
    t.run(&["--skip-tags", "always,b"])
        .assert_exit(0)
        .assert_changed(1);
    assert!(dir.join("a").exists());
}

#[test]
fn loops_register_results_and_loop_control() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  vars:
    names: [x, y, z]
  tasks:
    - name: make files
      file:
        path: "{{ scratch }}/{{ f.name }}"
        state: touch
      loop: [{name: f-x}, {name: f-y}]
      loop_control:
        loop_var: f
        label: "{{ f.name }}"
    - command: echo {{ item }}
      with_items: "{{ names }}"
      register: echoed
      changed_when: false
    - assert:
        that:
          - echoed.results | length == 3
          - echoed.results[1].stdout == 'y'
          - echoed.results[2].item == 'z'
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(0);
    run.assert_stdout_contains("(item=f-x)");
    assert!(t.scratch(0).join("f-y").exists());
}

#[test]
fn extra_vars_win_over_everything() {
    let t = Test::new()
        .hosts(1)
        .inventory_extra("[web:vars]\ncolour=from-inventory\n")
        .file("vars.yml", "size: from-file\n")
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  vars:
    colour: from-play
  vars_files: [vars.yml]
  tasks:
    - copy:
        dest: "{{ scratch }}/out"
        content: "{{ colour }} {{ size }}"
      vars:
        size: from-task
"#,
        );
    t.run(&["-e", "colour=from-cli"]).assert_exit(0);
    assert_eq!(read(&t.scratch(0).join("out")), "from-cli from-task");
    t.run(&["-e", "@vars.yml"]).assert_exit(0);
    assert_eq!(read(&t.scratch(0).join("out")), "from-play from-file");
}

#[test]
fn serial_runs_hosts_in_batches_in_order() {
    let t = Test::new().hosts(3).playbook(
        r#"
- hosts: web
  gather_facts: false
  serial: 1
  tasks:
    - shell: date +%s%N > {{ scratch }}/first
    - shell: sleep 0.05; date +%s%N > {{ scratch }}/second
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(6);
    let stamp = |i: usize, f: &str| read(&t.scratch(i).join(f)).trim().parse::<u128>().unwrap();
    // With serial 1, web1 finishes both tasks before web2 starts its first.
    assert!(stamp(0, "second") < stamp(1, "first"));
    assert!(stamp(1, "second") < stamp(2, "first"));
}

#[test]
fn max_fail_percentage_100_continues_after_a_whole_failed_batch() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web
  gather_facts: false
  serial: 1
  max_fail_percentage: 100
  tasks:
    - command: "false"
      when: inventory_hostname == 'web1'
    - shell: touch {{ scratch }}/done
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(2);
    assert_eq!(
        run.host("web1"),
        Recap {
            failed: 1,
            ..Recap::default()
        }
    );
    assert!(
        t.scratch(1).join("done").exists(),
        "the second batch must run\n{}",
        run.stdout
    );
}

#[test]
fn a_whole_failed_batch_stops_the_play_without_max_fail_percentage() {
    let t = Test::new().hosts(2).playbook("- hosts: web\n  gather_facts: false\n  serial: 1\n  tasks:\n    - command: \"false\"\n      when: inventory_hostname == 'web1'\n    - shell: touch {{ scratch }}/done\n");
    let run = t.run(&[]);
    run.assert_exit(2);
    assert!(!t.scratch(1).join("done").exists());
    assert!(!run.recap.contains_key("web2"));
}

#[test]
fn any_errors_fatal_stops_every_host() {
    let t = Test::new().hosts(2).playbook("- hosts: web\n  gather_facts: false\n  any_errors_fatal: true\n  tasks:\n    - command: \"false\"\n      when: inventory_hostname == 'web1'\n    - shell: touch {{ scratch }}/done\n");
    t.run(&[]).assert_exit(2);
    assert!(!t.scratch(1).join("done").exists());
}

#[test]
fn run_once_and_delegate_to_and_set_fact_across_plays() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - shell: echo once >> {{ scratch }}/once
      run_once: true
      register: r
    - set_fact:
        seen: "{{ r.rc }}"
    - shell: echo "from {{ inventory_hostname }}" >> {{ hostvars['web1'].scratch }}/delegated
      delegate_to: web1
- hosts: web2
  gather_facts: false
  tasks:
    - copy:
        dest: "{{ scratch }}/fact"
        content: "{{ seen }} {{ hostvars['web1'].seen }}"
"#,
    );
    t.run(&[]).assert_exit(0);
    assert_eq!(read(&t.scratch(0).join("once")), "once\n");
    assert!(!t.scratch(1).join("once").exists());
    let delegated = read(&t.scratch(0).join("delegated"));
    assert!(
        delegated.contains("from web1") && delegated.contains("from web2"),
        "{delegated}"
    );
    assert_eq!(read(&t.scratch(1).join("fact")), "0 0");
}

#[test]
fn no_log_hides_values_and_environment_reaches_commands() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - shell: echo "$SECRET_VALUE"
      environment:
        SECRET_VALUE: hunter2-very-secret
      register: out
      no_log: true
    - copy:
        dest: "{{ scratch }}/env"
        content: "{{ out.stdout }}"
"#,
    );
    let run = t.run(&["-vv"]);
    run.assert_exit(0).assert_nowhere("hunter2-very-secret");
    assert_eq!(read(&t.scratch(0).join("env")), "hunter2-very-secret");
}

#[test]
fn check_command_validates_without_connecting() {
    let t = Test::new()
        .playbook("- hosts: all\n  tasks:\n    - debug: msg=hi\n")
        .inventory_extra("ghost ansible_host=192.0.2.1\n");
    let run = t.condaplay(&["check", "site.yml", "-i", "inventory.ini"]);
    run.assert_exit(0)
        .assert_stdout_contains("1 play(s), 1 task(s)");
}

#[test]
fn until_retries_until_the_condition_holds() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - shell: echo x >> {{ scratch }}/count; wc -l < {{ scratch }}/count
      register: n
      until: n.stdout | int >= 3
      retries: 5
      delay: 0
    - shell: "false"
      register: never
      until: never.rc == 0
      retries: 2
      delay: 0
      ignore_errors: true
    - assert:
        that: never is failed
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(0)
        .assert_stdout_contains("FAILED - RETRYING");
    assert_eq!(read(&t.scratch(0).join("count")), "x\nx\nx\n");
}

#[test]
fn become_runs_tasks_as_another_user_through_sudo() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      become_user: nobody
      register: who
      changed_when: false
    - copy:
        dest: "{{ scratch }}/who"
        content: "{{ who.stdout }}"
"#,
    );
    t.run(&[]).assert_exit(0);
    assert_eq!(read(&t.scratch(0).join("who")), "nobody");
}

#[test]
fn start_at_task_skips_earlier_tasks() {
    let t = Test::new().hosts(1).playbook(
        "- hosts: web\n  gather_facts: false\n  tasks:\n    - name: one\n      shell: touch {{ scratch }}/one\n    - name: two\n      shell: touch {{ scratch }}/two\n",
    );
    t.run(&["--start-at-task", "two"])
        .assert_exit(0)
        .assert_changed(1);
    assert!(!t.scratch(0).join("one").exists() && t.scratch(0).join("two").exists());
}

#[test]
fn serial_hosts_retries_and_delay_take_templates() {
    let t = Test::new().hosts(3).playbook(
        r#"
- hosts: "{{ target }}"
  gather_facts: false
  serial: "{{ batch }}"
  vars:
    batch: 1
    tries: 4
  tasks:
    - shell: date +%s%N > {{ scratch }}/first
    - shell: sleep 0.05; date +%s%N > {{ scratch }}/second
    - shell: echo x >> {{ scratch }}/count; wc -l < {{ scratch }}/count
      register: n
      until: n.stdout | int >= 3
      retries: "{{ tries }}"
      delay: "{{ 0 }}"
"#,
    );
    t.run(&["-e", "target=web"])
        .assert_exit(0)
        .assert_changed(9);
    let stamp = |i: usize, f: &str| read(&t.scratch(i).join(f)).trim().parse::<u128>().unwrap();
    assert!(stamp(0, "second") < stamp(1, "first"));
    assert!(stamp(1, "second") < stamp(2, "first"));
    assert_eq!(read(&t.scratch(2).join("count")), "x\nx\nx\n");
}

#[test]
fn a_serial_template_that_is_not_a_number_stops_the_playbook_naming_the_play() {
    let t = Test::new().hosts(1).playbook(
        r#"
- hosts: web
  gather_facts: false
  serial: "{{ 'many' }}"
  tasks:
    - shell: touch {{ scratch }}/ran
"#,
    );
    t.run(&[])
        .assert_exit(1)
        .assert_stderr_contains("site.yml:2")
        .assert_stderr_contains("\"many\" is not a positive number");
    assert!(!t.scratch(0).join("ran").exists());
}

#[test]
fn task_names_render_with_play_and_role_variables_like_ansible() {
    let t = Test::new()
        .hosts(1)
        .file("roles/greet/defaults/main.yml", "greeting: hello\n")
        .file(
            "roles/greet/tasks/main.yml",
            "- name: \"{{ greeting }} from the role\"\n  debug: { msg: hi }\n",
        )
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  vars:
    app: appconda
  roles: [greet]
  tasks:
    - name: "deploy {{ app }} {{ version }}"
      debug: { msg: x }
    - name: "on {{ inventory_hostname }}"
      debug: { msg: x }
"#,
        );
    t.run(&["-e", "version=1.4.0"])
        .assert_exit(0)
        .assert_stdout_contains("TASK [greet : hello from the role]")
        .assert_stdout_contains("TASK [deploy appconda 1.4.0]")
        // Host variables are not known to a header: shown as written, as Ansible does.
        .assert_stdout_contains("TASK [on {{ inventory_hostname }}]");
}

#[test]
fn include_tasks_with_a_loop_runs_the_file_once_per_item_with_the_item_set() {
    let t = Test::new()
        .hosts(2)
        .file(
            "one.yml",
            r#"
- shell: echo "{{ thing }} {{ idx }} {{ inventory_hostname }}" >> {{ scratch }}/things
# A loop inside the included file has its own `item`.
- shell: echo "{{ thing }}-{{ item }}" >> {{ scratch }}/inner
  loop: [x, y]
"#,
        )
        .file(
            "two.yml",
            "- shell: echo {{ item }} >> {{ scratch }}/plain\n",
        )
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  tasks:
    - include_tasks: one.yml
      loop: "{{ ['a', 'b', 'c', inventory_hostname] }}"
      loop_control:
        loop_var: thing
        index_var: idx
      when: thing != 'b'
    - name: the loop variable does not outlive the include
      assert:
        that: thing is not defined
    - ansible.builtin.include_tasks:
        file: two.yml
      with_items: [p, q]
"#,
        );
    let run = t.run(&[]);
    run.assert_exit(0);
    for (i, host) in ["web1", "web2"].iter().enumerate() {
        assert_eq!(
            read(&t.scratch(i).join("things")),
            format!("a 0 {host}\nc 2 {host}\n{host} 3 {host}\n"),
            "{}",
            run.stdout
        );
        assert_eq!(
            read(&t.scratch(i).join("inner")),
            format!("a-x\na-y\nc-x\nc-y\n{host}-x\n{host}-y\n")
        );
        assert_eq!(read(&t.scratch(i).join("plain")), "p\nq\n");
    }
}

#[test]
fn import_tasks_with_a_loop_is_refused_as_ansible_does() {
    let t = Test::new()
        .file("one.yml", "- debug: msg=hi\n")
        .playbook("- hosts: all\n  tasks:\n    - import_tasks: one.yml\n      loop: [a]\n");
    t.condaplay(&["check", "site.yml", "-i", "inventory.ini"])
        .assert_exit(4)
        .assert_stderr_contains("site.yml:3");
}

#[test]
fn include_role_with_two_tasks_from_runs_both_and_import_role_is_never_deduplicated() {
    let t = Test::new()
        .hosts(1)
        .file(
            "roles/r/tasks/main.yml",
            "- shell: echo main {{ tag | default('-') }} >> {{ scratch }}/log\n",
        )
        .file(
            "roles/r/tasks/first.yml",
            "- shell: echo first >> {{ scratch }}/log\n",
        )
        .file(
            "roles/r/tasks/second.yml",
            "- shell: echo second >> {{ scratch }}/log\n",
        )
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  roles:
    - r
    # The same role with the same parameters: Ansible runs it once.
    - r
    - role: r
      tag: other
  tasks:
    - include_role:
        name: r
        tasks_from: first
    - include_role:
        name: r
        tasks_from: second.yml
    # import_role and include_role run the role again, as in Ansible.
    - import_role:
        name: r
    - include_role:
        name: r
"#,
        );
    let run = t.run(&[]);
    run.assert_exit(0);
    assert_eq!(
        read(&t.scratch(0).join("log")),
        "main -\nmain other\nfirst\nsecond\nmain -\nmain -\n",
        "{}",
        run.stdout
    );
}

#[test]
fn include_role_with_a_loop_runs_the_role_once_per_item() {
    let t = Test::new()
        .hosts(1)
        .file("roles/r/defaults/main.yml", "n: from-defaults\n")
        .file(
            "roles/r/tasks/main.yml",
            "- shell: echo {{ n }} >> {{ scratch }}/log\n",
        )
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  tasks:
    - include_role:
        name: r
      loop: [1, 2]
      loop_control:
        loop_var: n
"#,
        );
    let run = t.run(&[]);
    run.assert_exit(0).assert_changed(2);
    assert_eq!(read(&t.scratch(0).join("log")), "1\n2\n", "{}", run.stdout);
}
