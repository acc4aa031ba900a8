//! The long-lived task shell over real SSH: one shell per host and become
//! user, tasks isolated from each other, output that cannot end a unit early,
//! and a shell that cleans up after itself.

mod support;

use condaplay::connection::{Become, ExecOutput};
use support::{Host, Recap, Test};

fn exec(h: &Host, program: &str) -> ExecOutput {
    h.rt.block_on(h.conn.exec(program.as_bytes(), None))
        .expect("the program runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

#[test]
fn tasks_share_one_shell_but_no_state() {
    let h = Host::start();
    let first = exec(&h, "echo $CP_BASE");
    let base = text(&first.stdout);
    assert!(base.contains(".condaplay."), "{base:?}");
    // cd, variables and exit stay inside the task's subshell.
    let out = exec(&h, "cd /; X=1; export Y=2; touch \"$CP_TMP/left\"; exit 3");
    assert_eq!(out.status, Some(3));
    let out = exec(
        &h,
        "pwd; echo ${X-unset} ${Y-unset}; ls -A \"$CP_TMP\"; echo $CP_BASE",
    );
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    assert_ne!(lines[0], "/", "cd leaked into the next task");
    assert_eq!(lines[1], "unset unset");
    // CP_TMP was emptied after the task that left a file, and the same shell runs on.
    assert_eq!(lines[2], base, "CP_TMP not emptied: {lines:?}");
    assert_eq!(out.status, Some(0));
}

#[test]
fn stdin_is_empty_and_stderr_and_status_come_back_per_task() {
    let h = Host::start();
    let out = exec(&h, "cat; echo read-nothing; echo oops >&2; exit 127");
    assert_eq!(text(&out.stdout), "read-nothing");
    assert_eq!(text(&out.stderr), "oops");
    // 127 is an exit status like any other, not a lost connection.
    assert_eq!(out.status, Some(127));
    let out = exec(&h, "echo next");
    assert_eq!(text(&out.stdout), "next");
    assert!(out.stderr.is_empty());
}

#[test]
fn output_cannot_forge_the_end_of_a_task() {
    let h = Host::start();
    let out = exec(
        &h,
        r"printf '\036cp.end\000 0\000\036cp.end\000x 0\000'; echo after; exit 4",
    );
    assert!(text(&out.stdout).ends_with("after"), "{:?}", out.stdout);
    assert_eq!(out.status, Some(4));
}

#[test]
fn a_syntax_error_fails_its_task_only() {
    let h = Host::start();
    let base = text(&exec(&h, "echo $CP_BASE").stdout);
    let out = exec(&h, "if then fi");
    assert_ne!(out.status, Some(0));
    assert!(
        text(&out.stderr).contains("rror"),
        "{:?}",
        text(&out.stderr)
    );
    // Same shell (same private directory) still serves.
    assert_eq!(text(&exec(&h, "echo $CP_BASE").stdout), base);
}

#[test]
fn become_users_get_shells_of_their_own() {
    let h = Host::start();
    let nobody = Become {
        user: "nobody".into(),
        password: None,
    };
    let as_nobody =
        h.rt.block_on(h.conn.exec(b"id -un", Some(&nobody)))
            .unwrap();
    assert_eq!(text(&as_nobody.stdout), "nobody");
    assert_eq!(text(&exec(&h, "id -un").stdout), "root");
    let again =
        h.rt.block_on(h.conn.exec(b"id -un", Some(&nobody)))
            .unwrap();
    assert_eq!(text(&again.stdout), "nobody");
}

#[test]
fn closing_removes_the_shells_private_directories() {
    let h = Host::start();
    let base = text(&exec(&h, "echo $CP_BASE").stdout);
    // The loopback host shares this file system.
    assert!(std::path::Path::new(&base).is_dir());
    let Host { conn, rt, .. } = h;
    rt.block_on(conn.close());
    assert!(
        !std::path::Path::new(&base).exists(),
        "{base} left on the host"
    );
}

#[test]
fn a_shell_that_cannot_start_fails_the_task_not_the_host() {
    // sudo refuses an unknown user: the task fails, the host stays reachable
    // and its next task runs.
    let t = Test::new().hosts(1).playbook(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: id -un\n      become: true\n      become_user: no-such-user-cp\n      ignore_errors: true\n    - file:\n        path: \"{{ scratch }}/after\"\n        state: touch\n",
    );
    let run = t.run(&[]);
    run.assert_stdout_contains("unknown user").assert_recap(
        "web1",
        Recap {
            ok: 2,
            changed: 1,
            ignored: 1,
            ..Recap::default()
        },
    );
    assert!(t.scratch(0).join("after").exists());
}

/// Consecutive tasks that need no decision on the controller run in one
/// round trip: the second one runs before the controller has reported the
/// first. A registered task waits for the controller, and sees every header.
#[test]
fn consecutive_tasks_travel_together_until_a_controller_decision() {
    let t = Test::new().hosts(1);
    let out = t.path("out.txt");
    let t = t.playbook(&format!(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: first\n      file:\n        path: \"{{{{ scratch }}}}/a\"\n        state: touch\n    - name: second\n      shell: grep -c '^TASK' {out} > {{{{ scratch }}}}/seen-by-second || true\n    - name: third\n      shell: grep -c '^TASK' {out} > {{{{ scratch }}}}/seen-by-third || true\n      register: third\n",
        out = out.display()
    ));
    let file = std::fs::File::create(&out).unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_condaplay"))
        .args(["run", "site.yml", "-i", "inventory.ini"])
        .current_dir(t.dir.path())
        .env("NO_COLOR", "1")
        .stdout(file)
        .status()
        .unwrap();
    let printed = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "{printed}");
    let seen = |f: &str| {
        support::playbook::read(&t.scratch(0).join(f))
            .trim()
            .to_string()
    };
    assert_eq!(seen("seen-by-second"), "0", "{printed}");
    assert_eq!(seen("seen-by-third"), "3", "{printed}");
    // Reported task by task, in order, as if run one by one.
    let first = printed.find("TASK [first]").unwrap();
    let second = printed.find("TASK [second]").unwrap();
    assert!(first < second && printed[first..second].contains("changed: [web1]"));
}

/// In a batch, a failing task stops that host's later tasks and no other
/// host's; with ignore_errors the host goes on.
#[test]
fn a_failure_inside_a_batch_stops_only_its_host() {
    let t = Test::new().hosts(2).playbook(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: fails on web1\n      command: \"{{ 'false' if inventory_hostname == 'web1' else 'true' }}\"\n    - name: after\n      file:\n        path: \"{{ scratch }}/after\"\n        state: touch\n    - name: ignored failure\n      command: \"false\"\n      ignore_errors: true\n    - name: after ignored\n      file:\n        path: \"{{ scratch }}/after-ignored\"\n        state: touch\n",
    );
    let run = t.run(&[]);
    run.assert_exit(2);
    run.assert_recap(
        "web1",
        Recap {
            failed: 1,
            ..Recap::default()
        },
    );
    run.assert_recap(
        "web2",
        Recap {
            ok: 4,
            changed: 4,
            ignored: 1,
            ..Recap::default()
        },
    );
    assert!(!t.scratch(0).join("after").exists());
    assert!(t.scratch(1).join("after").exists());
    assert!(t.scratch(1).join("after-ignored").exists());
}
