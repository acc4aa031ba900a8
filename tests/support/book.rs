//! The book's roles and playbooks on lab servers: a temporary project directory
//! (its own inventory, the repository's roles and playbooks linked in) and the
//! real binary run on it.
//!
//! Test files include it with `#[path = "support/book.rs"] mod book;` next to
//! `mod support;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use condaplay::output::Printer;

use crate::support::lab_host::LabHost;
use crate::support::playbook::Run;
pub use crate::support::playbook::condaplay_in as condaplay;

/// Lab servers (booted together) and a project directory to run playbooks in.
pub struct Book {
    pub dir: tempfile::TempDir,
    /// (inventory name, server), in boot order.
    pub hosts: Vec<(String, LabHost)>,
    groups: Vec<(String, Vec<String>)>,
    host_vars: Vec<(String, String)>,
    pub vars: String,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl Book {
    /// Boots every `(alias, server name)` at once and connects to each.
    pub fn start(servers: &[(&str, &str)]) -> Book {
        let names: Vec<String> = servers.iter().map(|(_, s)| s.to_string()).collect();
        condaplay::lab::up(&names, &Printer::plain())
            .unwrap_or_else(|e| panic!("lab up {names:?}: {e}"));
        let dir = tempfile::Builder::new()
            .prefix("cp-book")
            .tempdir()
            .unwrap();
        for sub in ["roles", "playbooks"] {
            std::os::unix::fs::symlink(repo().join(sub), dir.path().join(sub)).unwrap();
        }
        let mut b = Book {
            dir,
            hosts: Vec::new(),
            groups: Vec::new(),
            host_vars: Vec::new(),
            vars: String::new(),
        };
        for (alias, name) in servers {
            b.add(alias, name);
        }
        b
    }

    /// Boots (or reuses) one more server.
    pub fn add(&mut self, alias: &str, name: &str) -> &LabHost {
        let h = LabHost::start(name);
        self.hosts.push((alias.to_string(), h));
        &self.hosts.last().unwrap().1
    }

    pub fn host(&self, alias: &str) -> &LabHost {
        self.hosts
            .iter()
            .find(|(a, _)| a == alias)
            .map(|(_, h)| h)
            .unwrap_or_else(|| panic!("no server {alias}"))
    }

    /// Puts hosts (by alias) in a group of the inventory.
    pub fn group(&mut self, name: &str, aliases: &[&str]) -> &mut Book {
        let members = aliases.iter().map(|a| a.to_string()).collect();
        match self.groups.iter_mut().find(|(g, _)| g == name) {
            Some((_, m)) => *m = members,
            None => self.groups.push((name.to_string(), members)),
        }
        self
    }

    /// Extra `key=value` text on one host's inventory line.
    pub fn host_var(&mut self, alias: &str, text: &str) -> &mut Book {
        self.host_vars.push((alias.to_string(), text.to_string()));
        self
    }

    /// Writes inventory.ini and group_vars/all/vars.yml (the `vars` text).
    pub fn write_inventory(&self) {
        let mut inv = String::new();
        for (group, members) in &self.groups {
            inv.push_str(&format!("[{group}]\n"));
            for alias in members {
                let mut line = self.host(alias).inventory_line(alias);
                for (a, extra) in &self.host_vars {
                    if a == alias {
                        line.push(' ');
                        line.push_str(extra);
                    }
                }
                inv.push_str(&line);
                inv.push('\n');
            }
            inv.push('\n');
        }
        std::fs::write(self.dir.path().join("inventory.ini"), inv).unwrap();
        let gv = self.dir.path().join("group_vars/all");
        std::fs::create_dir_all(&gv).unwrap();
        std::fs::write(gv.join("vars.yml"), format!("---\n{}", self.vars)).unwrap();
    }

    pub fn file(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `condaplay run PLAYBOOK -i inventory.ini ARGS...` in the project directory.
    pub fn run(&self, playbook: &str, args: &[&str]) -> Run {
        self.write_inventory();
        let mut all = vec!["run", playbook, "-i", "inventory.ini"];
        all.extend_from_slice(args);
        condaplay(self.dir.path(), &all)
    }
}

/// A run that must succeed: exit 0 and no failed host.
pub fn ok(run: &Run) {
    run.assert_exit(0);
    for (h, r) in &run.recap {
        assert!(
            r.failed == 0 && r.unreachable == 0,
            "{h} failed\n{}",
            run.stdout
        );
    }
}

/// An age identity in the project directory and `secrets` (YAML) encrypted to
/// it as group_vars/all/secrets.yml.age; returns the identity's path.
pub fn vault_secrets(b: &Book, secrets: &str) -> PathBuf {
    let id = b.path("identity.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&id)
        .output()
        .expect("age-keygen (apt-get install age)");
    assert!(out.status.success());
    let text = std::fs::read_to_string(&id).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    b.file("recipients.txt", &format!("{public}\n"));
    b.file("group_vars/all/secrets.yml", secrets);
    let run = condaplay(
        b.dir.path(),
        &[
            "vault",
            "encrypt",
            "--recipients",
            "recipients.txt",
            "group_vars/all/secrets.yml",
        ],
    );
    run.assert_exit(0);
    id
}

/// The lab's registry mirror (built and started if needed): its URL.
pub fn lab_images(dir: &Path) -> String {
    let run = condaplay(dir, &["lab", "images", "start"]);
    run.assert_exit(0);
    run.stdout.trim().lines().last().unwrap_or("").to_string()
}

/// One HTTP/1.0 GET: (status, body), or None when the request failed.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    use std::time::Duration;
    let sock: std::net::SocketAddr = addr.parse().ok()?;
    let mut s = std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
    Some((status, body))
}
