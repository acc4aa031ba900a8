//! Safe under faults: cut connections, a killed controller, Ctrl-C, secrets
//! kept out of argument lists, and an exact recap with many broken hosts.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{Recap, Test};

fn spawn_run(t: &Test, args: &[&str]) -> std::process::Child {
    let mut all = vec!["run", "site.yml", "-i", "inventory.ini"];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_condaplay"))
        .args(&all)
        .current_dir(t.dir.path())
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Pids of ssh masters for exactly this address. The pattern is anchored at
/// the end (the master's last word is the address): unanchored, 127.0.9.1
/// also matched the masters of 127.0.9.10..19 that a concurrent test ran.
fn masters_of(addr: &str) -> String {
    let out = Command::new("pgrep")
        .args([
            "-f",
            "--",
            &format!("^ssh -M .* -- {}$", addr.replace('.', "\\.")),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_for(path: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_connection_cut_mid_task_is_unreachable_never_ok() {
    let mut t = Test::new().hosts(1).playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {{ scratch }}/started; sleep 5; touch {{ scratch }}/done\n");
    let child = spawn_run(&t, &[]);
    wait_for(&t.scratch(0).join("started"));
    t.hosts[0].cut();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    let recap = support::playbook::parse_recap(&stdout);
    assert_eq!(
        recap["web1"],
        Recap {
            unreachable: 1,
            ..Recap::default()
        },
        "{stdout}"
    );
    assert!(!stdout.contains("ok: [web1]") && !stdout.contains("changed: [web1]"));
}

#[test]
fn sigint_prints_the_recap_and_closes_master_connections() {
    let t = Test::new().hosts(1).playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: touch {{ scratch }}/started; sleep 30\n");
    let child = spawn_run(&t, &[]);
    wait_for(&t.scratch(0).join("started"));
    // The pattern finds the live master, so its absence below means something.
    assert!(!masters_of(&t.hosts[0].addr).is_empty(), "no master found");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(99), "{stdout}");
    assert!(stdout.contains("PLAY RECAP"), "{stdout}");
    // No ssh master for this host outlives the run.
    std::thread::sleep(Duration::from_millis(300));
    let masters = masters_of(&t.hosts[0].addr);
    assert!(masters.is_empty(), "ssh masters left: {masters}");
}

#[test]
fn killing_the_controller_never_leaves_a_half_written_file() {
    // A 4 MB file replaced again and again: whenever the controller dies,
    // the destination is the old content or the new one, whole.
    let t = Test::new().hosts(1);
    let dest = t.scratch(0).join("big");
    let old = "o".repeat(4 << 20);
    std::fs::write(&dest, &old).unwrap();
    let new = "n".repeat(4 << 20);
    let t = t.file("payload.txt", &new).playbook("- hosts: all\n  gather_facts: false\n  tasks:\n    - copy:\n        src: payload.txt\n        dest: \"{{ scratch }}/big\"\n");
    for delay_ms in [50u64, 150, 300, 600] {
        std::fs::write(&dest, &old).unwrap();
        let mut child = spawn_run(&t, &[]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        std::thread::sleep(Duration::from_millis(300));
        let got = std::fs::read_to_string(&dest).unwrap();
        assert!(
            got == old || got == new,
            "half-written file after a kill at {delay_ms} ms: {} bytes",
            got.len()
        );
    }
    // The ssh masters died with the controller.
    let masters = masters_of(&t.hosts[0].addr);
    assert!(
        masters.is_empty(),
        "ssh masters outlived a killed controller: {masters}"
    );
}

#[test]
fn secrets_never_appear_in_process_argument_lists() {
    const SECRET: &str = "argv-canary-7f3a9c";
    let t = Test::new().hosts(1).playbook(&format!(
        "- hosts: all\n  gather_facts: false\n  vars:\n    pw: {SECRET}\n  tasks:\n    - copy:\n        dest: \"{{{{ scratch }}}}/pw\"\n        content: \"{{{{ pw }}}}\"\n    - shell: sleep 0.3; cat {{{{ scratch }}}}/pw >/dev/null\n      environment:\n        PW: \"{{{{ pw }}}}\"\n    - shell: sleep 0.3\n"
    ));
    let mut child = spawn_run(&t, &[]);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
                if String::from_utf8_lossy(&cmd).contains(SECRET) {
                    seen.push(String::from_utf8_lossy(&cmd).replace('\0', " "));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(seen.is_empty(), "secret seen in argv: {seen:?}");
    assert_eq!(
        std::fs::read_to_string(t.scratch(0).join("pw")).unwrap(),
        SECRET
    );
}

#[test]
fn fifty_hosts_with_a_tenth_unreachable_and_a_tenth_failing_recap_exactly() {
    let mut t = Test::new().hosts(50).playbook(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"{{ 'false' if inventory_hostname in ['web3','web13','web23','web33','web43'] else 'true' }}\"\n    - shell: touch {{ scratch }}/done\n",
    );
    for i in [4, 14, 24, 34, 44] {
        t.hosts[i].stop();
    }
    let run = t.run(&[]);
    run.assert_exit(2);
    assert_eq!(run.recap.len(), 50);
    for i in 1..=50 {
        let name = format!("web{i}");
        let r = run.host(&name);
        let expected = if [5, 15, 25, 35, 45].contains(&i) {
            Recap {
                unreachable: 1,
                ..Recap::default()
            }
        } else if [3, 13, 23, 33, 43].contains(&i) {
            Recap {
                failed: 1,
                ..Recap::default()
            }
        } else {
            Recap {
                ok: 2,
                changed: 2,
                ..Recap::default()
            }
        };
        assert_eq!(r, expected, "{name}");
        assert_eq!(
            t.scratch(i - 1).join("done").exists(),
            expected.changed == 2
        );
    }
}
