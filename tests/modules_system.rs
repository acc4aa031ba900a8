//! System modules that can act on files in a scratch directory, against a
//! real sshd over real SSH: authorized_key, known_hosts, ssh_keypair, and the
//! file side of sysctl. Changed the first time, unchanged the second,
//! nothing touched in check mode.

mod support;

use std::fs;

use support::Host;

fn keygen(dir: &std::path::Path, name: &str, kind: &str) -> String {
    let p = dir.join(name);
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C", name, "-f"])
        .arg(&p)
        .status()
        .unwrap();
    assert!(st.success());
    fs::read_to_string(dir.join(format!("{name}.pub")))
        .unwrap()
        .trim()
        .to_string()
}

/// A module run whose plan may be refused on the controller: the error text.
fn refused(h: &Host, name: &str, args: &str) -> String {
    let value = condaplay::yaml::to_json(args, std::path::Path::new("test-args")).unwrap();
    let opts = condaplay::exec::adhoc::AdhocOptions::default();
    match h.rt.block_on(condaplay::exec::adhoc::run_module(
        &h.conn, name, &value, &opts,
    )) {
        Ok(o) => panic!("{name} was not refused: {o:?}"),
        Err(e) => e.to_string(),
    }
}

fn blob(line: &str) -> &str {
    line.split_whitespace().nth(1).unwrap()
}

#[test]
fn authorized_key_adds_once_updates_options_in_place_and_removes() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let keys = tempfile::tempdir().unwrap();
    let k1 = keygen(keys.path(), "one", "ed25519");
    let k2 = keygen(keys.path(), "two", "ed25519");
    let f = dir.join("ssh/authorized_keys");
    fs::create_dir_all(f.parent().unwrap()).unwrap();
    fs::write(&f, format!("# managed by hand\n{k2}\n")).unwrap();
    let args = format!("user: root\npath: {}\nkey: \"{k1}\"", f.display());

    let c = h.check("authorized_key", &args);
    assert!(c.changed && !c.failed, "{c:?}");
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        format!("# managed by hand\n{k2}\n")
    );
    assert!(c.diffs[0].after.contains(blob(&k1)));

    let o = h.module("authorized_key", &args);
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(o.ret["keyfile"], f.display().to_string());
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        format!("# managed by hand\n{k2}\n{k1}\n")
    );
    assert_eq!(h.sh(&format!("stat -c %a {}", f.display())).trim(), "600");
    assert!(!h.module("authorized_key", &args).changed);

    // New options replace the line where it stands, never a second copy.
    let opts = format!("{args}\nkey_options: 'no-pty,command=\"echo a b\"'");
    assert!(h.module("authorized_key", &opts).changed);
    let text = fs::read_to_string(&f).unwrap();
    assert_eq!(text.matches(blob(&k1)).count(), 1, "{text}");
    assert_eq!(
        text.lines().nth(2).unwrap(),
        format!("no-pty,command=\"echo a b\" {k1}")
    );
    assert!(!h.module("authorized_key", &opts).changed);

    // A duplicate written by hand is folded into one line.
    fs::write(&f, format!("{k1}\n{k2}\n{k1}\n")).unwrap();
    assert!(h.module("authorized_key", &args).changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), format!("{k1}\n{k2}\n"));

    // Exclusive keeps only the keys given.
    let excl = format!("{args}\nexclusive: yes");
    assert!(h.module("authorized_key", &excl).changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), format!("{k1}\n"));
    assert!(!h.module("authorized_key", &excl).changed);

    let absent = format!("{args}\nstate: absent");
    assert!(h.module("authorized_key", &absent).changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), "");
    assert!(!h.module("authorized_key", &absent).changed);
}

#[test]
fn authorized_key_several_lines_and_failures() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let keys = tempfile::tempdir().unwrap();
    let k1 = keygen(keys.path(), "one", "ed25519");
    let k2 = keygen(keys.path(), "two", "rsa");
    let f = dir.join("new/.ssh/authorized_keys");
    let args = format!(
        "user: root\npath: {}\nkey: |\n  {k1}\n  {k2}\n  {k1}\n",
        f.display()
    );
    let o = h.module("authorized_key", &args);
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(fs::read_to_string(&f).unwrap(), format!("{k1}\n{k2}\n"));
    // manage_dir made the directory private.
    assert_eq!(
        h.sh(&format!("stat -c %a {}", f.parent().unwrap().display()))
            .trim(),
        "700"
    );
    assert!(!h.module("authorized_key", &args).changed);

    let e = refused(
        &h,
        "authorized_key",
        &format!("user: root\npath: {}\nkey: ssh-rsa notakey", f.display()),
    );
    assert!(e.contains("invalid key"), "{e}");
    let o = h.module(
        "authorized_key",
        &format!("user: nosuchuser_cp\npath: {}\nkey: \"{k1}\"", f.display()),
    );
    assert!(o.failed && o.msg.unwrap().contains("Failed to lookup user"));
}

#[test]
fn known_hosts_replaces_a_key_of_the_same_type() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let keys = tempfile::tempdir().unwrap();
    let a = keygen(keys.path(), "a", "ed25519");
    let b = keygen(keys.path(), "b", "ed25519");
    let r = keygen(keys.path(), "r", "rsa");
    let line = |host: &str, k: &str| {
        let mut p = k.split_whitespace();
        format!("{host} {} {}", p.next().unwrap(), p.next().unwrap())
    };
    let f = dir.join("kh/known_hosts");
    let other = line("other.example", &a);
    let args = |k: &str| {
        format!(
            "name: web1.example\npath: {}\nkey: \"{}\"",
            f.display(),
            line("web1.example", k)
        )
    };

    let c = h.check("known_hosts", &args(&a));
    assert!(c.changed && !f.exists(), "{c:?}");
    assert!(h.module("known_hosts", &args(&a)).changed);
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        format!("{}\n", line("web1.example", &a))
    );
    assert!(!h.module("known_hosts", &args(&a)).changed);

    // Another host's entry and an RSA key of the same host stay.
    fs::write(
        &f,
        format!(
            "{other}\n{}\n{}\n",
            line("web1.example", &a),
            line("web1.example", &r)
        ),
    )
    .unwrap();
    let o = h.module("known_hosts", &args(&b));
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        format!(
            "{other}\n{}\n{}\n",
            line("web1.example", &b),
            line("web1.example", &r)
        )
    );
    assert!(!h.module("known_hosts", &args(&b)).changed);

    // Hashed: written hashed, found again by ssh-keygen, not duplicated.
    let hashed = format!("{}\nhash_host: yes", args(&a));
    assert!(h.module("known_hosts", &hashed).changed);
    let text = fs::read_to_string(&f).unwrap();
    assert!(text.lines().nth(1).unwrap().starts_with("|1|"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(!h.module("known_hosts", &hashed).changed);

    let absent = format!("name: web1.example\npath: {}\nstate: absent", f.display());
    assert!(h.module("known_hosts", &absent).changed);
    assert_eq!(fs::read_to_string(&f).unwrap(), format!("{other}\n"));
    assert!(!h.module("known_hosts", &absent).changed);

    let e = refused(
        &h,
        "known_hosts",
        &format!(
            "name: web2.example\npath: {}\nkey: \"{}\"",
            f.display(),
            line("web1.example", &a)
        ),
    );
    assert!(e.contains("does not match"), "{e}");
}

#[test]
fn ssh_keypair_is_made_once() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let p = dir.join("id_test");
    let args = format!("path: {}\ncomment: deploy@test", p.display());

    let c = h.check("ssh_keypair", &args);
    assert!(c.changed && !p.exists(), "{c:?}");

    let o = h.module("ssh_keypair", &args);
    assert!(o.changed && !o.failed, "{o:?}");
    let public = fs::read_to_string(dir.join("id_test.pub")).unwrap();
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    assert!(public.trim_end().ends_with(" deploy@test"));
    assert_eq!(o.ret["public_key"], public.rsplit_once(' ').unwrap().0);
    assert_eq!(o.ret["type"], "ed25519");
    assert_eq!(o.ret["filename"], p.display().to_string());
    assert!(
        o.ret["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    assert_eq!(h.sh(&format!("stat -c %a {}", p.display())).trim(), "600");
    let private = fs::read(&p).unwrap();

    let o = h.module("ssh_keypair", &args);
    assert!(!o.changed && !o.failed, "{o:?}");
    assert_eq!(fs::read(&p).unwrap(), private, "the key was regenerated");

    // A new comment changes the comment, not the key.
    let o = h.module(
        "ssh_keypair",
        &format!("path: {}\ncomment: other", p.display()),
    );
    assert!(o.changed);
    let public2 = fs::read_to_string(dir.join("id_test.pub")).unwrap();
    assert_eq!(blob(&public2), blob(&public));
    assert!(public2.trim_end().ends_with(" other"));

    // A lost public half is written again from the private key.
    fs::remove_file(dir.join("id_test.pub")).unwrap();
    let o = h.module("ssh_keypair", &format!("path: {}", p.display()));
    assert!(o.changed);
    assert_eq!(
        blob(&fs::read_to_string(dir.join("id_test.pub")).unwrap()),
        blob(&public)
    );

    // Another type is refused with regenerate: fail, replaced by default.
    let rsa = format!("path: {}\ntype: rsa\nsize: 2048", p.display());
    let o = h.module("ssh_keypair", &format!("{rsa}\nregenerate: fail"));
    assert!(o.failed && o.msg.unwrap().contains("wrong type"));
    let o = h.module("ssh_keypair", &rsa);
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(o.ret["type"], "rsa");
    assert_eq!(o.ret["size"], 2048);
    assert!(!h.module("ssh_keypair", &rsa).changed);

    // A passphrase-protected key is never overwritten.
    let locked = dir.join("locked");
    h.sh(&format!(
        "ssh-keygen -q -t ed25519 -N secretpass -f {}",
        locked.display()
    ));
    let before = fs::read(&locked).unwrap();
    let o = h.module("ssh_keypair", &format!("path: {}", locked.display()));
    assert!(o.failed && o.msg.unwrap().contains("Unable to read"));
    assert_eq!(fs::read(&locked).unwrap(), before);

    let absent = format!("path: {}\nstate: absent", p.display());
    assert!(h.module("ssh_keypair", &absent).changed);
    assert!(!p.exists() && !dir.join("id_test.pub").exists());
    assert!(!h.module("ssh_keypair", &absent).changed);
}

#[test]
fn sysctl_file_one_line_per_key() {
    let h = Host::start();
    let f = h.sshd.scratch().join("sysctl.conf");
    fs::write(
        &f,
        "# comment\nvm.swappiness = 60\nnet.ipv4.ip_forward=0\nvm.swappiness=30\n",
    )
    .unwrap();
    let args = format!(
        "name: vm.swappiness\nvalue: '10'\nsysctl_file: {}\nreload: no",
        f.display()
    );
    let c = h.check("sysctl", &args);
    assert!(c.changed && !c.failed, "{c:?}");
    assert!(c.diffs[0].after.contains("vm.swappiness=10\n"));
    assert!(fs::read_to_string(&f).unwrap().contains("= 60"));

    assert!(h.module("sysctl", &args).changed);
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "# comment\nvm.swappiness=10\nnet.ipv4.ip_forward=0\n"
    );
    assert!(!h.module("sysctl", &args).changed);

    // A new key is appended; a boolean value is 1.
    let fwd = format!(
        "name: net.ipv4.ip_forward\nvalue: yes\nsysctl_file: {}\nreload: no",
        f.display()
    );
    assert!(h.module("sysctl", &fwd).changed);
    assert!(
        fs::read_to_string(&f)
            .unwrap()
            .contains("net.ipv4.ip_forward=1\n")
    );

    let absent = format!(
        "name: vm.swappiness\nstate: absent\nsysctl_file: {}\nreload: no",
        f.display()
    );
    assert!(h.module("sysctl", &absent).changed);
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        "# comment\nnet.ipv4.ip_forward=1\n"
    );
    assert!(!h.module("sysctl", &absent).changed);

    let e = refused(
        &h,
        "sysctl",
        &format!("name: vm.swappiness\nsysctl_file: {}", f.display()),
    );
    assert!(e.contains("value cannot be None"), "{e}");
}

/// present and absent_from_fstab only edit the fstab, so a scratch fstab
/// shows the rewrite, the backup and the findmnt check without mounting.
#[test]
fn mount_keeps_one_fstab_entry_per_path() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let f = dir.join("fstab");
    let mp = dir.join("mnt");
    std::fs::create_dir_all(&mp).unwrap();
    fs::write(
        &f,
        format!(
            "# static\ntmpfs {0} tmpfs size=1m 0 0\nproc /proc proc defaults 0 0\ntmpfs {0} tmpfs size=2m 0 0\n",
            mp.display()
        ),
    )
    .unwrap();
    let args = format!(
        "path: {}\nsrc: tmpfs\nfstype: tmpfs\nopts: size=8m,mode=0755\nstate: present\nfstab: {}",
        mp.display(),
        f.display()
    );
    let c = h.check("mount", &args);
    assert!(c.changed && !c.failed, "{c:?}");
    assert!(fs::read_to_string(&f).unwrap().contains("size=1m"));

    let o = h.module("mount", &format!("{args}\nbackup: yes"));
    assert!(o.changed && !o.failed, "{o:?}");
    assert_eq!(
        fs::read_to_string(&f).unwrap(),
        format!(
            "# static\ntmpfs {} tmpfs size=8m,mode=0755 0 0\nproc /proc proc defaults 0 0\n",
            mp.display()
        )
    );
    let backup = o.ret["backup_file"].as_str().unwrap();
    assert!(fs::read_to_string(backup).unwrap().contains("size=2m"));
    assert!(!h.module("mount", &args).changed);
    // Nothing was mounted.
    assert_eq!(h.sh(&format!("findmnt -n {}", mp.display())), "");

    // A path with a blank is written with fstab's octal escape.
    let spaced = dir.join("my mnt");
    std::fs::create_dir_all(&spaced).unwrap();
    let sp = format!(
        "path: {}\nsrc: tmpfs\nfstype: tmpfs\nstate: present\nfstab: {}",
        spaced.display(),
        f.display()
    );
    assert!(h.module("mount", &sp).changed);
    assert!(fs::read_to_string(&f).unwrap().contains(&format!(
        "tmpfs {}/my\\040mnt tmpfs defaults 0 0\n",
        dir.display()
    )));
    assert!(!h.module("mount", &sp).changed);

    // An entry that findmnt --verify calls an error is refused.
    let before = fs::read_to_string(&f).unwrap();
    let o = h.module(
        "mount",
        &format!(
            "path: {}/bad\nsrc: UUID=00000000-0000-0000-0000-000000000000\nfstype: ext4\nstate: present\nfstab: {}",
            dir.display(),
            f.display()
        ),
    );
    assert!(
        o.failed && o.msg.as_deref().unwrap_or("").contains("findmnt"),
        "{o:?}"
    );
    assert_eq!(fs::read_to_string(&f).unwrap(), before);

    let gone = format!(
        "path: {}\nstate: absent_from_fstab\nfstab: {}",
        mp.display(),
        f.display()
    );
    assert!(h.module("mount", &gone).changed);
    assert!(!fs::read_to_string(&f).unwrap().contains(" tmpfs size="));
    assert!(!h.module("mount", &gone).changed);
    assert!(mp.exists(), "absent_from_fstab keeps the mount point");
}
