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
            "server {{ inventory_hostname }} port={{ port }} item={{ item }}\n{% include 'part.j2' %}",
        )
        .file("roles/web/templates/part.j2", "part of {{ item }}\n")
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
    assert_eq!(
        read(&d.join("site-a")),
        "server web1 port=8080 item=a\npart of a\n"
    );
    assert_eq!(
        read(&d.join("site-b")),
        "server web1 port=8080 item=b\npart of b\n"
    );
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

// ---------------------------------------------------------------- lineinfile

/// Runs lineinfile on `f` (holding `before`) and returns the outcome and text.
fn lif(h: &Host, f: &Path, before: &str, args: &str) -> (condaplay::modules::Outcome, String) {
    write(f, before);
    let o = h.module("lineinfile", &format!("path: {}\n{args}", f.display()));
    assert!(!o.failed, "{o:?}");
    (o, read(f))
}

#[test]
fn lineinfile_replaces_the_last_match_then_is_idempotent() {
    let h = Host::start();
    let f = h.sshd.scratch().join("sshd_config");
    write(&f, "# Port 1\nPort 22\nX 1\nPort 23\n");
    let args = format!(
        "path: {}\nregexp: '^Port\\s+\\d+$'\nline: Port 2222\nmode: '0600'",
        f.display()
    );
    let c = h.check("lineinfile", &args);
    assert!(c.changed, "{c:?}");
    assert_eq!(
        read(&f),
        "# Port 1\nPort 22\nX 1\nPort 23\n",
        "check mode wrote"
    );
    assert_eq!(c.diffs[0].after, "# Port 1\nPort 22\nX 1\nPort 2222\n");
    let o = h.module("lineinfile", &args);
    assert!(
        o.changed && o.msg.as_deref() == Some("line replaced"),
        "{o:?}"
    );
    assert_eq!(read(&f), "# Port 1\nPort 22\nX 1\nPort 2222\n");
    assert_eq!(mode_of(&h, &f), "600");
    let o = h.module("lineinfile", &args);
    assert!(!o.changed && !o.failed, "{o:?}");
    // firstmatch picks the first one instead.
    let (_, t) = lif(
        &h,
        &f,
        "Port 22\nPort 23\n",
        "regexp: '^Port'\nline: Port 1\nfirstmatch: true",
    );
    assert_eq!(t, "Port 1\nPort 23\n");
}

#[test]
fn lineinfile_inserts_where_asked() {
    let h = Host::start();
    let f = h.sshd.scratch().join("f");
    let base = "a\n[main]\nb\n[main]\nc\n";
    let (o, t) = lif(&h, &f, base, "line: new");
    assert_eq!(o.msg.as_deref(), Some("line added"));
    assert_eq!(t, format!("{base}new\n"));
    let (_, t) = lif(&h, &f, base, "line: new\ninsertafter: '^\\[main\\]'");
    assert_eq!(t, "a\n[main]\nb\n[main]\nnew\nc\n", "after the last match");
    let (_, t) = lif(
        &h,
        &f,
        base,
        "line: new\ninsertafter: '^\\[main\\]'\nfirstmatch: yes",
    );
    assert_eq!(t, "a\n[main]\nnew\nb\n[main]\nc\n");
    let (_, t) = lif(&h, &f, base, "line: new\ninsertbefore: '^\\[main\\]'");
    assert_eq!(t, "a\n[main]\nb\nnew\n[main]\nc\n");
    let (_, t) = lif(&h, &f, base, "line: new\ninsertbefore: BOF");
    assert_eq!(t, format!("new\n{base}"));
    let (_, t) = lif(&h, &f, base, "line: new\ninsertafter: '^nomatch'");
    assert_eq!(t, format!("{base}new\n"), "no anchor match: end of file");
    // No final newline: one is added before the new line.
    let (_, t) = lif(&h, &f, "x\ny", "line: z");
    assert_eq!(t, "x\ny\nz\n");
    // Already there (even when the regexp does not match): nothing changes,
    // and a last line without a newline is kept as it was.
    let (o, t) = lif(&h, &f, "x\nz", "line: z\nregexp: '^nomatch'");
    assert!(!o.changed, "{o:?}");
    assert_eq!(t, "x\nz");
    // The line right after the anchor is already the line.
    let (o, _) = lif(
        &h,
        &f,
        "[main]\nnew\n",
        "line: new\ninsertafter: '^\\[main\\]'",
    );
    assert!(!o.changed, "{o:?}");
}

#[test]
fn lineinfile_backrefs_search_string_and_absent() {
    let h = Host::start();
    let f = h.sshd.scratch().join("f");
    let (o, t) = lif(
        &h,
        &f,
        "listen 80 default\n",
        "regexp: '^listen (\\d+) (?P<rest>.*)$'\nline: 'listen \\1 ssl \\g<rest>'\nbackrefs: yes",
    );
    assert!(o.changed);
    assert_eq!(t, "listen 80 ssl default\n");
    // backrefs and no match: nothing is added.
    let (o, t) = lif(
        &h,
        &f,
        "x\n",
        "regexp: '^nope(.*)'\nline: 'a\\1'\nbackrefs: true",
    );
    assert!(!o.changed);
    assert_eq!(t, "x\n");
    let (o, t) = lif(
        &h,
        &f,
        "a.b=1\naxb=2\n",
        "search_string: 'a.b='\nline: a.b=9",
    );
    assert!(o.changed);
    assert_eq!(t, "a.b=9\naxb=2\n", "search_string is literal");
    let (o, t) = lif(
        &h,
        &f,
        "keep\ndrop 1\nkeep\ndrop 2\n",
        "regexp: '^drop'\nstate: absent",
    );
    assert_eq!(o.msg.as_deref(), Some("2 line(s) removed"));
    assert_eq!(o.ret["found"], "2");
    assert_eq!(t, "keep\nkeep\n");
    let (o, _) = lif(&h, &f, "keep\n", "line: drop\nstate: absent");
    assert!(!o.changed);
}

#[test]
fn lineinfile_errors_and_create() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let missing = dir.join("sub/new.conf");
    let o = h.module(
        "lineinfile",
        &format!("path: {}\nline: x", missing.display()),
    );
    assert!(o.failed);
    assert!(o.msg.unwrap().contains("does not exist"), "missing file");
    let args = format!("path: {}\nline: x\ncreate: true", missing.display());
    let c = h.check("lineinfile", &args);
    assert!(c.changed && !missing.exists());
    assert!(h.module("lineinfile", &args).changed);
    assert_eq!(read(&missing), "x\n");
    assert!(!h.module("lineinfile", &args).changed);
    let msg = error_of(
        &h,
        "lineinfile",
        &format!("path: {}\nregexp: '(unclosed'\nline: x", missing.display()),
    );
    assert!(msg.contains("regexp") && msg.contains("(unclosed"), "{msg}");
    let msg = error_of(
        &h,
        "lineinfile",
        &format!(
            "path: {}\ninsertafter: '(?<=x)y'\nline: x",
            missing.display()
        ),
    );
    assert!(msg.contains("insertafter"), "{msg}");
}

#[test]
fn lineinfile_in_a_loop_converges() {
    let t = Test::new().hosts(1).playbook(
        r##"
- hosts: web
  gather_facts: false
  tasks:
    - copy:
        dest: "{{ scratch }}/limits"
        content: "# limits\nnofile 1024\n"
        force: false
    - lineinfile:
        path: "{{ scratch }}/limits"
        regexp: "^{{ item.key }} "
        line: "{{ item.key }} {{ item.value }}"
      loop: "{{ {'nofile': 65536, 'nproc': 4096} | dict2items }}"
"##,
    );
    t.run(&["--diff"]).assert_exit(0).assert_changed(2);
    assert_eq!(
        read(&t.scratch(0).join("limits")),
        "# limits\nnofile 65536\nnproc 4096\n"
    );
    t.run(&[]).assert_exit(0).assert_changed(0);
}

// ---------------------------------------------------------------- stat, slurp, raw

#[test]
fn stat_reports_files_links_and_absence() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let f = dir.join("data");
    write(&f, "hello\n");
    h.sh(&format!(
        "chmod 0640 {0}; ln -s data {1}",
        f.display(),
        dir.join("link").display()
    ));
    let o = h.module("stat", &format!("path: {}", f.display()));
    assert!(!o.changed && !o.failed, "{o:?}");
    let s = &o.ret["stat"];
    assert_eq!(s["exists"], true);
    assert_eq!(s["isreg"], true);
    assert_eq!(s["isdir"], false);
    assert_eq!(s["mode"], "0640");
    assert_eq!(s["size"], 6);
    assert_eq!(s["uid"], 0);
    assert_eq!(s["pw_name"], "root");
    assert_eq!(s["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
    assert!(s["mtime"].as_f64().unwrap() > 1.0e9);
    let o = h.module(
        "stat",
        &format!("path: {}\nchecksum_algorithm: sha256", f.display()),
    );
    assert_eq!(
        o.ret["stat"]["checksum"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    let link = dir.join("link");
    let o = h.module("stat", &format!("path: {}", link.display()));
    assert_eq!(o.ret["stat"]["islnk"], true);
    assert_eq!(o.ret["stat"]["lnk_target"], "data");
    assert!(o.ret["stat"].get("checksum").is_none());
    let o = h.module("stat", &format!("path: {}\nfollow: true", link.display()));
    assert_eq!(o.ret["stat"]["islnk"], false);
    assert_eq!(o.ret["stat"]["isreg"], true);
    let o = h.module("stat", &format!("path: {}", dir.join("nope").display()));
    assert!(!o.failed);
    assert_eq!(o.ret["stat"], serde_json::json!({"exists": false}));
    let o = h.module("stat", &format!("path: {}", dir.display()));
    assert_eq!(o.ret["stat"]["isdir"], true);
}

#[test]
fn slurp_returns_base64_and_fails_on_missing_files() {
    let h = Host::start();
    let f = h.sshd.scratch().join("bin");
    std::fs::write(&f, b"a\x00b\xffc\n").unwrap();
    let o = h.module("slurp", &format!("src: {}", f.display()));
    assert!(!o.failed && !o.changed, "{o:?}");
    assert_eq!(o.ret["content"], "YQBi/2MK");
    assert_eq!(o.ret["encoding"], "base64");
    let o = h.module(
        "slurp",
        &format!("path: {}/missing", f.parent().unwrap().display()),
    );
    assert!(o.failed && o.msg.unwrap().contains("file not found"));
}

#[test]
fn raw_runs_the_line_as_is_and_is_always_changed() {
    let h = Host::start();
    let o = h.module("raw", "echo $((1 + 2)) && echo err >&2");
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(o.ret["stdout"], "3");
    assert_eq!(o.ret["stderr"], "err");
    assert_eq!(o.ret["rc"], 0);
    let o = h.module("raw", "exit 3");
    assert!(o.failed);
    assert_eq!(o.ret["rc"], 3);
    let o = h.module(
        "raw",
        "_raw_params: 'echo ${BASH_VERSION:+bash}'\nexecutable: /bin/bash",
    );
    assert_eq!(o.ret["stdout"], "bash");
    let f = h.sshd.scratch().join("touched");
    let o = h.check("raw", &format!("touch {}", f.display()));
    assert!(o.skipped && !f.exists(), "{o:?}");
}

// ---------------------------------------------------------------- blockinfile

#[test]
fn blockinfile_inserts_updates_and_removes_a_block() {
    let h = Host::start();
    let f = h.sshd.scratch().join("hosts");
    write(&f, "127.0.0.1 localhost\n# end\n");
    let args = |block: &str| {
        format!(
            "path: {}\nblock: |\n{}\ninsertbefore: '^# end'\nmode: '0600'",
            f.display(),
            block
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    let a = args("10.0.0.1 db\n10.0.0.2 cache");
    let c = h.check("blockinfile", &a);
    assert!(c.changed);
    assert_eq!(read(&f), "127.0.0.1 localhost\n# end\n", "check mode wrote");
    let want = "127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.1 db\n10.0.0.2 cache\n# END ANSIBLE MANAGED BLOCK\n# end\n";
    assert_eq!(c.diffs[0].after, want);
    let o = h.module("blockinfile", &a);
    assert!(
        o.changed && o.msg.as_deref() == Some("Block inserted"),
        "{o:?}"
    );
    assert_eq!(read(&f), want);
    assert_eq!(mode_of(&h, &f), "600");
    assert!(!h.module("blockinfile", &a).changed);
    // A new block replaces the old one where it is.
    let o = h.module("blockinfile", &args("10.0.0.3 web"));
    assert!(o.changed);
    assert_eq!(
        read(&f),
        "127.0.0.1 localhost\n# BEGIN ANSIBLE MANAGED BLOCK\n10.0.0.3 web\n# END ANSIBLE MANAGED BLOCK\n# end\n"
    );
    let absent = format!("path: {}\nstate: absent", f.display());
    let o = h.module("blockinfile", &absent);
    assert!(o.changed && o.msg.as_deref() == Some("Block removed"));
    assert_eq!(read(&f), "127.0.0.1 localhost\n# end\n");
    assert!(!h.module("blockinfile", &absent).changed);
}

#[test]
fn blockinfile_custom_markers_placement_and_create() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let f = dir.join("conf");
    write(&f, "[a]\nx=1\n[b]\ny=2");
    let o = h.module(
        "blockinfile",
        &format!(
            "path: {}\nmarker: '; {{mark}} managed'\nmarker_begin: start\nmarker_end: stop\nblock: z=3\ninsertafter: '^\\['",
            f.display()
        ),
    );
    assert!(o.changed, "{o:?}");
    assert_eq!(
        read(&f),
        "[a]\nx=1\n[b]\n; start managed\nz=3\n; stop managed\ny=2"
    );
    let o = h.module(
        "blockinfile",
        &format!("path: {}\nblock: top\ninsertbefore: BOF", f.display()),
    );
    assert!(o.changed);
    assert!(
        read(&f)
            .starts_with("# BEGIN ANSIBLE MANAGED BLOCK\ntop\n# END ANSIBLE MANAGED BLOCK\n[a]\n")
    );
    // Blank lines around a block in the middle, added once.
    write(&f, "a\nb\n");
    let a = format!(
        "path: {}\nblock: x\ninsertafter: '^a$'\nmarker: '#{{mark}}'\nprepend_newline: true\nappend_newline: true",
        f.display()
    );
    assert!(h.module("blockinfile", &a).changed);
    assert_eq!(read(&f), "a\n\n#BEGIN\nx\n#END\n\nb\n");
    assert!(!h.module("blockinfile", &a).changed);
    let missing = dir.join("new/file");
    let o = h.module(
        "blockinfile",
        &format!("path: {}\nblock: b", missing.display()),
    );
    assert!(o.failed && o.msg.unwrap().contains("does not exist"));
    let a = format!("path: {}\nblock: b\ncreate: true", missing.display());
    let o = h.module("blockinfile", &a);
    assert!(
        o.changed && o.msg.as_deref() == Some("File created"),
        "{o:?}"
    );
    assert_eq!(
        read(&missing),
        "# BEGIN ANSIBLE MANAGED BLOCK\nb\n# END ANSIBLE MANAGED BLOCK\n"
    );
    assert!(!h.module("blockinfile", &a).changed);
    let msg = error_of(
        &h,
        "blockinfile",
        &format!("path: {}\nblock: b\ninsertafter: '[x'", f.display()),
    );
    assert!(msg.contains("insertafter"), "{msg}");
}

// ---------------------------------------------------------------- replace

#[test]
fn replace_substitutes_every_match_with_groups() {
    let h = Host::start();
    let f = h.sshd.scratch().join("conf");
    write(&f, "host = a.example\nport=80\nhost=b.example\n");
    let args = format!(
        "path: {}\nregexp: '^host\\s*=\\s*(\\w+)\\.example$'\nreplace: 'host = \\1.internal'\nbackup: true",
        f.display()
    );
    let c = h.check("replace", &args);
    assert!(c.changed);
    assert_eq!(read(&f), "host = a.example\nport=80\nhost=b.example\n");
    assert_eq!(
        c.diffs[0].after,
        "host = a.internal\nport=80\nhost = b.internal\n"
    );
    let o = h.module("replace", &args);
    assert!(o.changed, "{o:?}");
    assert_eq!(o.msg.as_deref(), Some("2 replacements made"));
    assert_eq!(read(&f), "host = a.internal\nport=80\nhost = b.internal\n");
    assert!(o.ret.contains_key("backup_file"), "{o:?}");
    assert!(!h.module("replace", &args).changed);
    // A single line without a final newline, and `.` never crossing lines.
    write(&f, "a1\nb2");
    let o = h.module(
        "replace",
        &format!(
            "path: {}\nregexp: '(\\d)$'\nreplace: '<\\g<1>>'",
            f.display()
        ),
    );
    assert!(o.changed);
    assert_eq!(read(&f), "a<1>\nb<2>");
    write(&f, "x\ny\n");
    let o = h.module(
        "replace",
        &format!("path: {}\nregexp: 'x.y'\nreplace: Z", f.display()),
    );
    assert!(!o.changed, "dot crossed a newline");
    let o = h.module(
        "replace",
        &format!("path: {}\nregexp: 'x\\ny'\nreplace: Z", f.display()),
    );
    assert!(o.changed);
    assert_eq!(read(&f), "Z\n");
}

#[test]
fn replace_between_after_and_before() {
    let h = Host::start();
    let f = h.sshd.scratch().join("conf");
    let text = "opt=1\n[main]\nopt=2\nopt=3\n[other]\nopt=4\n";
    let run = |extra: &str| {
        write(&f, text);
        let o = h.module(
            "replace",
            &format!(
                "path: {}\nregexp: '^opt=\\d'\nreplace: opt=X\n{extra}",
                f.display()
            ),
        );
        assert!(!o.failed, "{o:?}");
        read(&f)
    };
    assert_eq!(
        run("after: '\\[main\\]'\nbefore: '\\[other\\]'"),
        "opt=1\n[main]\nopt=X\nopt=X\n[other]\nopt=4\n"
    );
    assert_eq!(
        run("after: '\\[other\\]'"),
        "opt=1\n[main]\nopt=2\nopt=3\n[other]\nopt=X\n"
    );
    assert_eq!(
        run("before: '\\[main\\]'"),
        "opt=X\n[main]\nopt=2\nopt=3\n[other]\nopt=4\n"
    );
    assert_eq!(run("after: nomatch"), text);
}

#[test]
fn replace_errors_name_the_argument() {
    let h = Host::start();
    let f = h.sshd.scratch().join("conf");
    write(&f, "x\n");
    let msg = error_of(
        &h,
        "replace",
        &format!("path: {}\nregexp: 'a[b'", f.display()),
    );
    assert!(msg.contains("argument regexp"), "{msg}");
    let msg = error_of(
        &h,
        "replace",
        &format!("path: {}\nregexp: '\"(.*?)\"'", f.display()),
    );
    assert!(msg.contains("lazy"), "{msg}");
    let msg = error_of(
        &h,
        "replace",
        &format!("path: {}\nregexp: '(a)'\nreplace: '\\3'", f.display()),
    );
    assert!(msg.contains("argument replace"), "{msg}");
    let o = h.module("replace", &format!("path: {}.nope\nregexp: x", f.display()));
    assert!(o.failed && o.msg.unwrap().contains("does not exist"));
}

#[test]
fn lineinfile_validate_and_backup() {
    let h = Host::start();
    let f = h.sshd.scratch().join("conf");
    write(&f, "a=1\n");
    // A validator that rejects the candidate leaves the file alone.
    let o = h.module(
        "lineinfile",
        &format!(
            "path: {}\nline: bad=1\nvalidate: '! grep -q bad %s'",
            f.display()
        ),
    );
    assert!(
        o.failed && o.msg.as_deref() == Some("failed to validate"),
        "{o:?}"
    );
    assert_eq!(read(&f), "a=1\n");
    let o = h.module(
        "lineinfile",
        &format!(
            "path: {}\nline: b=2\nvalidate: 'grep -q b=2 %s'\nbackup: yes",
            f.display()
        ),
    );
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(read(&f), "a=1\nb=2\n");
    let bak = o.ret["backup"].as_str().unwrap().to_string();
    assert_eq!(o.ret["backup_file"], o.ret["backup"]);
    assert_eq!(read(Path::new(&bak)), "a=1\n");
    let msg = error_of(
        &h,
        "lineinfile",
        &format!("path: {}\nline: x\nvalidate: 'true'", f.display()),
    );
    assert!(msg.contains("%s"), "{msg}");
}
