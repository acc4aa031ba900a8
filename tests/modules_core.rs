//! Core modules against a real sshd: changed the first time, ok the second,
//! untouched in check mode.

mod support;

use support::Host;

#[test]
fn command_reports_rc_and_output() {
    let h = Host::start();
    let o = h.module("command", "echo hello 'two words'");
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(o.ret["stdout"], "hello two words");
    assert_eq!(o.ret["rc"], 0);
    let o = h.module("command", "cmd: \"false\"");
    assert!(o.failed);
    assert_eq!(o.ret["rc"], 1);
}

#[test]
fn command_creates_guard_skips_second_run() {
    let h = Host::start();
    let f = h.sshd.scratch().join("made");
    let args = format!("cmd: touch {0}\ncreates: {0}", f.display());
    assert!(h.module("command", &args).changed);
    let o = h.module("command", &args);
    assert!(!o.changed && !o.failed, "{o:?}");
}

#[test]
fn shell_uses_a_shell_and_stdin() {
    let h = Host::start();
    let o = h.module(
        "shell",
        "cmd: read x; echo \"got $x\" | tr a-z A-Z\nstdin: secret",
    );
    assert_eq!(o.ret["stdout"], "GOT SECRET");
}

#[test]
fn file_directory_is_idempotent_and_check_mode_touches_nothing() {
    let h = Host::start();
    let d = h.sshd.scratch().join("a/b");
    let args = format!("path: {}\nstate: directory\nmode: '0750'", d.display());
    let c = h.check("file", &args);
    assert!(c.changed);
    assert!(!d.exists(), "check mode created the directory");
    assert!(h.module("file", &args).changed);
    assert_eq!(h.sh(&format!("stat -c %a {}", d.display())).trim(), "750");
    assert!(!h.module("file", &args).changed);
    let absent = format!("path: {}\nstate: absent", d.display());
    assert!(h.module("file", &absent).changed);
    assert!(!d.exists());
    assert!(!h.module("file", &absent).changed);
}

#[test]
fn copy_content_writes_once_with_mode_and_diff() {
    let h = Host::start();
    let f = h.sshd.scratch().join("conf");
    let args = format!(
        "dest: {}\ncontent: \"line one\\n\"\nmode: 0600",
        f.display()
    );
    let c = h.check("copy", &args);
    assert!(c.changed && !f.exists());
    assert_eq!(c.diffs[0].after, "line one\n");
    assert!(h.module("copy", &args).changed);
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "line one\n");
    assert_eq!(h.sh(&format!("stat -c %a {}", f.display())).trim(), "600");
    assert!(!h.module("copy", &args).changed);
    // No temporary file is left next to the destination.
    let leftovers: Vec<_> = std::fs::read_dir(f.parent().unwrap())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".condaplay"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn copy_keeps_owner_and_mode_of_an_existing_file() {
    let h = Host::start();
    let f = h.sshd.scratch().join("kept");
    std::fs::write(&f, "old\n").unwrap();
    h.sh(&format!("chmod 0640 {0}; chown nobody {0}", f.display()));
    assert!(
        h.module("copy", &format!("dest: {}\ncontent: new", f.display()))
            .changed
    );
    assert_eq!(
        h.sh(&format!("stat -c '%a %U' {}", f.display())).trim(),
        "640 nobody"
    );
}

#[test]
fn copy_of_unchanged_content_fixes_attributes_only_and_never_validates() {
    // Unchanged text is compared through a pipe before anything is written;
    // that path must still fix the mode, skip validate (as Ansible: validate
    // runs only for a file about to change) and leave force: false alone.
    let h = Host::start();
    let f = h.sshd.scratch().join("same");
    std::fs::write(&f, "same\n").unwrap();
    h.sh(&format!("chmod 0600 {}", f.display()));
    let args = format!(
        "dest: {}\ncontent: \"same\\n\"\nmode: \"0644\"\nvalidate: \"false %s\"",
        f.display()
    );
    let o = h.module("copy", &args);
    assert!(o.changed && !o.failed, "{:?}", o.msg);
    assert_eq!(h.sh(&format!("stat -c %a {}", f.display())).trim(), "644");
    assert!(!h.module("copy", &args).changed);
    let o = h.module(
        "copy",
        &format!(
            "dest: {}\ncontent: other\nvalidate: \"false %s\"",
            f.display()
        ),
    );
    assert!(o.failed, "a failing validate must refuse new content");
    let o = h.module(
        "copy",
        &format!("dest: {}\ncontent: other\nforce: false", f.display()),
    );
    assert!(!o.changed && !o.failed);
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "same\n");
    // Content over 64 KiB travels as base64 into a scratch file first; an
    // unchanged destination is still not validated.
    let big = h.sshd.scratch().join("big");
    let text = "x".repeat(70 << 10);
    std::fs::write(&big, &text).unwrap();
    let o = h.module(
        "copy",
        &format!(
            "dest: {}\ncontent: {text}\nvalidate: \"false %s\"",
            big.display()
        ),
    );
    assert!(!o.changed && !o.failed, "{:?}", o.msg);
}
#[test]
fn copy_writes_every_byte_as_given_text_or_binary() {
    // Text travels through the shell's printf, binary (NUL bytes, invalid
    // UTF-8) as base64: both must land byte for byte, and stay idempotent.
    let h = Host::start();
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        (
            "text",
            "-e %s %d \\n \\\\ '$(touch /tmp/x)' \"$HOME\" `id` ünïcødé\n\tend"
                .as_bytes()
                .to_vec(),
        ),
        ("nul", b"a\0b\0\n".to_vec()),
        ("latin1", vec![0x63, 0x61, 0x66, 0xe9, 0x0a, 0x81, 0x88]),
    ];
    for (name, data) in cases {
        let src = dir.path().join(name);
        std::fs::write(&src, &data).unwrap();
        let dest = h.sshd.scratch().join(name);
        let args = format!("src: {}\ndest: {}", src.display(), dest.display());
        let o = h.module("copy", &args);
        assert!(o.changed && !o.failed, "{name}: {o:?}");
        assert_eq!(std::fs::read(&dest).unwrap(), data, "{name}");
        assert!(!h.module("copy", &args).changed, "{name}: not idempotent");
    }
}
