//! Delegation and run_once as Ansible does them: `delegate_to` rendered for
//! each loop item, a run_once task's result applied to the whole batch.

mod support;

use support::playbook::read;
use support::{Recap, Test};

/// Lines of a file, sorted: hosts run in parallel, so their order varies.
fn sorted_lines(p: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = read(p).lines().map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn delegate_to_is_rendered_per_loop_item_and_each_item_runs_on_its_delegate() {
    let t = Test::new()
        .hosts(4)
        .inventory_extra("[lb]\nweb3\nweb4\n")
        .playbook(
            r#"
- hosts: web1:web2
  gather_facts: false
  tasks:
    # $SSH_CONNECTION names the server the shell runs on: proof of where
    # the item ran, not just of which file it wrote.
    - name: drain in every load balancer
      shell: set -- $SSH_CONNECTION; echo "{{ inventory_hostname }} $3:$4" >> {{ hostvars[item].scratch }}/drained
      loop: "{{ groups['lb'] }}"
      delegate_to: "{{ item }}"
      register: drained
    - assert:
        that:
          - drained.results | length == 2
          - drained.results[0].item == 'web3'
          - drained.results[1].item == 'web4'
          - drained.results[1] is changed
          - drained is changed
"#,
        );
    let run = t.run(&[]);
    run.assert_exit(0).assert_changed(2);
    for lb in [2, 3] {
        let at = format!("{}:{}", t.hosts[lb].addr, t.hosts[lb].port);
        assert_eq!(
            sorted_lines(&t.scratch(lb).join("drained")),
            vec![format!("web1 {at}"), format!("web2 {at}")],
            "{}",
            run.stdout
        );
    }
    assert!(!t.scratch(0).join("drained").exists());
    assert!(!t.scratch(1).join("drained").exists());
}

#[test]
fn per_item_delegation_mixes_delegated_and_own_items_and_skips_by_item() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web1
  gather_facts: false
  tasks:
    - shell: set -- $SSH_CONNECTION; echo "{{ item }} {{ idx }} $3:$4" | tee -a {{ hostvars[item].scratch }}/where
      loop: [web2, web1, skipme, web2]
      loop_control:
        index_var: idx
      delegate_to: "{{ item }}"
      when: item != 'skipme'
      register: out
    # Each item's result is its own, though web2's items ran together.
    - assert:
        that:
          - out.results | length == 4
          - out.results[0].stdout.startswith('web2 0 ')
          - out.results[1].stdout.startswith('web1 1 ')
          - out.results[2] is skipped
          - out.results[3].stdout.startswith('web2 3 ')
          - out.results[3].item == 'web2'
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(1);
    let at = |i: usize| format!("{}:{}", t.hosts[i].addr, t.hosts[i].port);
    assert_eq!(
        read(&t.scratch(0).join("where")),
        format!("web1 1 {}\n", at(0))
    );
    assert_eq!(
        read(&t.scratch(1).join("where")),
        format!("web2 0 {0}\nweb2 3 {0}\n", at(1))
    );
}

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

#[test]
fn an_item_failing_on_one_delegate_does_not_stop_the_items_for_the_next() {
    let t = Test::new().hosts(2).playbook(
        r#"
- hosts: web1
  gather_facts: false
  tasks:
    - shell: test {{ item }} = web1 && touch {{ hostvars[item].scratch }}/ran
      loop: [web2, web1]
      delegate_to: "{{ item }}"
      register: out
      ignore_errors: true
    - assert:
        that:
          - out is failed
          - out.results[0] is failed
          - out.results[1] is succeeded
"#,
    );
    let run = t.run(&[]);
    run.assert_exit(0);
    assert_eq!(run.host("web1").ignored, 1, "{}", run.stdout);
    assert!(t.scratch(0).join("ran").exists(), "{}", run.stdout);
}
