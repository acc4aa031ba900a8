//! Delegation and run_once as Ansible does them: `delegate_to` rendered for
//! each loop item, a run_once task's result applied to the whole batch.

mod support;

use support::playbook::read;
use support::{Recap, Test};

#[test]
fn run_once_applies_its_registered_result_and_facts_to_every_host_of_the_batch() {
    let t = Test::new().hosts(3).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - command: echo {{ inventory_hostname }}
      run_once: true
      register: picked
    - set_fact:
        leader: "{{ inventory_hostname }}"
      run_once: true
    - copy:
        dest: "{{ scratch }}/seen"
        content: "{{ picked.stdout }} {{ leader }}"
"#,
    );
    t.run(&[]).assert_exit(0);
    for i in 0..3 {
        assert_eq!(read(&t.scratch(i).join("seen")), "web1 web1");
    }
}

#[test]
fn a_failed_run_once_task_fails_every_host_of_the_batch() {
    let t = Test::new().hosts(3).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - command: "false"
      run_once: true
    - shell: touch {{ scratch }}/after
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(2);
    for i in 0..3 {
        assert!(
            !t.scratch(i).join("after").exists(),
            "web{} went on after the run_once task failed\n{}",
            i + 1,
            run.stdout
        );
    }
    // Like Ansible, the failure is counted on the host that ran the task.
    assert_eq!(
        run.host("web1"),
        Recap {
            failed: 1,
            ..Recap::default()
        }
    );
}

#[test]
fn a_failed_run_once_task_sends_every_host_to_rescue() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - block:
        - command: "false"
          run_once: true
        - shell: touch {{ scratch }}/not-reached
      rescue:
        - shell: touch {{ scratch }}/rescued
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(0);
    for i in 0..2 {
        assert!(t.scratch(i).join("rescued").exists(), "{}", run.stdout);
        assert!(!t.scratch(i).join("not-reached").exists());
        assert_eq!(run.host(&format!("web{}", i + 1)).rescued, 1);
    }
}

#[test]
fn a_failed_run_once_task_with_ignore_errors_fails_no_host() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - command: "false"
      run_once: true
      ignore_errors: true
    - shell: touch {{ scratch }}/after
"#,
    );
    t.run(&[]).assert_exit(0);
    assert!(t.scratch(0).join("after").exists() && t.scratch(1).join("after").exists());
}
