//! Text and file modules (template, lineinfile, blockinfile, replace, stat,
//! slurp) against real sshd hosts: changed the first time, ok the second,
//! untouched in check mode, with diffs and clear errors.

mod support;

use std::path::Path;

use support::playbook::read;
use support::{Host, Test};

fn write(p: &Path, s: &str) {
    std::fs::write(p, s).unwrap();
}

/// The error a module run ends with (planning errors never reach the host).
fn error_of(h: &Host, name: &str, args: &str) -> String {
    use condaplay::exec::adhoc::{AdhocOptions, run_module};
    let value = condaplay::yaml::to_json(args, Path::new("test-args")).unwrap();
    match h
        .rt
        .block_on(run_module(&h.conn, name, &value, &AdhocOptions::default()))
    {
        Ok(o) if o.failed => o.msg.unwrap_or_default(),
        Ok(o) => panic!("{name} did not fail: {o:?}"),
        Err(e) => e.to_string(),
    }
}

fn mode_of(h: &Host, p: &Path) -> String {
    h.sh(&format!("stat -c %a {}", p.display()))
        .trim()
        .to_string()
}

// ---------------------------------------------------------------- template

#[test]
fn template_renders_once_with_mode_check_and_diff() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let src = dir.join("app.conf.j2");
    write(
        &src,
        "# {{ ansible_managed }}\n{% for p in [80, 443] %}\nlisten {{ p }}\n{% endfor %}\nsrc={{ template_path | basename }}\n",
    );
    let dest = dir.join("app.conf");
    let args = format!(
        "src: {}\ndest: {}\nmode: '0640'",
        src.display(),
        dest.display()
    );
    let expected = "# Ansible managed\nlisten 80\nlisten 443\nsrc=app.conf.j2\n";
    let c = h.check("template", &args);
    assert!(c.changed && !c.failed, "{c:?}");
    assert!(!dest.exists(), "check mode wrote the file");
    assert_eq!(c.diffs[0].before, "");
    assert_eq!(c.diffs[0].after, expected);
    let o = h.module("template", &args);
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(read(&dest), expected);
    assert_eq!(mode_of(&h, &dest), "640");
    let o = h.module("template", &args);
    assert!(!o.changed && !o.failed, "{o:?}");
    // A changed template shows the old and new text.
    write(&src, "listen 8080\n");
    let c = h.check("template", &args);
    assert!(c.changed);
    assert_eq!(c.diffs[0].before, expected);
    assert_eq!(c.diffs[0].after, "listen 8080\n");
    assert_eq!(read(&dest), expected, "check mode changed the file");
}

#[test]
fn template_whitespace_and_newline_options() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let src = dir.join("t.j2");
    write(&src, "a\n  {% if true %}\nb\n  {% endif %}\nc\n");
    let dest = dir.join("out");
    let run = |extra: &str| {
        let o = h.module(
            "template",
            &format!("src: {}\ndest: {}\n{extra}", src.display(), dest.display()),
        );
        assert!(!o.failed, "{o:?}");
        read(&dest)
    };
    // Ansible's defaults: trim_blocks on, lstrip_blocks off.
    assert_eq!(run(""), "a\n  b\n  c\n");
    assert_eq!(run("lstrip_blocks: true"), "a\nb\nc\n");
    assert_eq!(run("trim_blocks: false"), "a\n  \nb\n  \nc\n");
    assert_eq!(run("newline_sequence: '\\r\\n'"), "a\r\n  b\r\n  c\r\n");
}

#[test]
fn template_errors_name_the_file_and_line() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let src = dir.join("broken.j2");
    write(&src, "one\ntwo\n{{ no_such_var }}\n");
    let args = format!("src: {}\ndest: {}", src.display(), dir.join("x").display());
    let msg = error_of(&h, "template", &args);
    assert!(msg.contains("broken.j2") && msg.contains("line 3"), "{msg}");
    assert!(msg.contains("no_such_var"), "{msg}");
    assert!(!dir.join("x").exists());
    let msg = error_of(
        &h,
        "template",
        &format!("src: {}/missing.j2\ndest: /tmp/x", dir.display()),
    );
    assert!(msg.contains("missing.j2"), "{msg}");
}

#[test]
fn template_from_a_role_and_the_playbook_dir_with_vars() {
    let t = Test::new()
        .hosts(1)
        .file(
            "roles/web/templates/site.j2",
            "server {{ inventory_hostname }} port={{ port }} item={{ item }}\n",
        )
        .file("templates/top.j2", "top {{ port }}\n")
        .file(
            "roles/web/tasks/main.yml",
            "- template:\n    src: site.j2\n    dest: \"{{ scratch }}/site-{{ item }}\"\n  loop: [a, b]\n",
        )
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  vars:
    port: 8080
  roles:
    - web
  tasks:
    - template:
        src: top.j2
        dest: "{{ scratch }}/top"
        backup: true
"#,
        );
    t.run(&[]).assert_exit(0).assert_changed(2);
    let d = t.scratch(0);
    assert_eq!(read(&d.join("site-a")), "server web1 port=8080 item=a\n");
    assert_eq!(read(&d.join("site-b")), "server web1 port=8080 item=b\n");
    assert_eq!(read(&d.join("top")), "top 8080\n");
    t.run(&[]).assert_exit(0).assert_changed(0);
    // A changed variable rewrites the file, keeping a backup of the old one.
    t.run(&["-e", "port=9090", "--diff"])
        .assert_exit(0)
        .assert_changed(2)
        .assert_stdout_contains("+top 9090");
    assert_eq!(read(&d.join("top")), "top 9090\n");
    let backups: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("top.") && n.ends_with('~'))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(read(&d.join(&backups[0])), "top 8080\n");
}

#[test]
fn template_with_a_vault_secret_stays_masked_in_diffs() {
    const SECRET: &str = "tmpl-S3cret-value-42";
    let t = Test::new()
        .hosts(1)
        .file("db.conf.j2", "user=app\npass={{ DB_PASS }}\n")
        .playbook(
            r#"
- hosts: web
  gather_facts: false
  vars_files:
    - vault/secrets.env.age
  tasks:
    - template:
        src: db.conf.j2
        dest: "{{ scratch }}/db.conf"
        mode: "0600"
"#,
        );
    let id = t.path("id.txt");
    let out = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&id)
        .output()
        .expect("age-keygen (apt-get install age)");
    assert!(out.status.success());
    let text = read(&id);
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    std::fs::create_dir_all(t.path("vault")).unwrap();
    write(&t.path("vault/recipients.txt"), &format!("{public}\n"));
    write(&t.path("vault/secrets.env"), &format!("DB_PASS={SECRET}\n"));
    let id = id.to_str().unwrap();
    t.condaplay(&["vault", "encrypt", "--identity", id, "vault/secrets.env"])
        .assert_exit(0);
    t.run(&["--identity", id, "--diff"])
        .assert_exit(0)
        .assert_changed(1)
        .assert_stdout_contains("+user=app")
        .assert_nowhere(SECRET);
    assert_eq!(
        read(&t.scratch(0).join("db.conf")),
        format!("user=app\npass={SECRET}\n")
    );
    t.run(&["--identity", id, "--diff"])
        .assert_exit(0)
        .assert_changed(0);
}
