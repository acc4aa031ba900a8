//! A fluent builder for end-to-end runs: real sshd hosts, a playbook, the real
//! binary, and assertions on the recap.
//!
//! ```ignore
//! Test::new().hosts(2).playbook(PB).run(&[]).assert_changed(2).assert_exit(0);
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::sshd::Sshd;

pub struct Test {
    pub dir: tempfile::TempDir,
    pub hosts: Vec<Sshd>,
    pub names: Vec<String>,
    inventory_extra: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recap {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub recap: BTreeMap<String, Recap>,
}

impl Default for Test {
    fn default() -> Self {
        Test::new()
    }
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::Builder::new()
                .prefix("cp-test")
                .tempdir()
                .unwrap(),
            hosts: Vec::new(),
            names: Vec::new(),
            inventory_extra: String::new(),
        }
    }

    /// Starts `n` sshd hosts named web1..webN, in group `web`.
    pub fn hosts(mut self, n: usize) -> Test {
        for i in 1..=n {
            self.hosts.push(Sshd::start());
            self.names.push(format!("web{i}"));
        }
        self.write_inventory();
        self
    }

    /// Extra inventory text appended after the generated groups.
    pub fn inventory_extra(mut self, text: &str) -> Test {
        self.inventory_extra.push_str(text);
        self.write_inventory();
        self
    }

    fn write_inventory(&self) {
        let mut inv = String::from("[web]\n");
        for (name, h) in self.names.iter().zip(&self.hosts) {
            inv.push_str(&format!(
                "{} scratch={}\n",
                h.inventory_line(name),
                h.scratch().display()
            ));
        }
        inv.push_str(&self.inventory_extra);
        std::fs::write(self.dir.path().join("inventory.ini"), inv).unwrap();
    }

    pub fn playbook(self, yaml: &str) -> Test {
        self.file("site.yml", yaml)
    }

    pub fn file(self, rel: &str, content: &str) -> Test {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The scratch directory of host `i` (0-based): files the playbook manages.
    pub fn scratch(&self, i: usize) -> PathBuf {
        self.hosts[i].scratch()
    }

    /// `condaplay run site.yml -i inventory.ini ARGS...`
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["run", "site.yml", "-i", "inventory.ini"];
        all.extend_from_slice(args);
        self.condaplay(&all)
    }

    pub fn condaplay(&self, args: &[&str]) -> Run {
        condaplay_in(self.dir.path(), args)
    }
}

/// Reads the PLAY RECAP lines.
pub fn parse_recap(stdout: &str) -> BTreeMap<String, Recap> {
    let mut out = BTreeMap::new();
    let Some(idx) = stdout.rfind("PLAY RECAP") else {
        return out;
    };
    for line in stdout[idx..].lines().skip(1) {
        let Some((host, counts)) = line.split_once(" : ") else {
            continue;
        };
        let mut r = Recap::default();
        for kv in counts.split_whitespace() {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v: u32 = v.parse().unwrap_or(0);
            match k {
                "ok" => r.ok = v,
                "changed" => r.changed = v,
                "unreachable" => r.unreachable = v,
                "failed" => r.failed = v,
                "skipped" => r.skipped = v,
                "rescued" => r.rescued = v,
                "ignored" => r.ignored = v,
                _ => {}
            }
        }
        out.insert(host.trim().to_string(), r);
    }
    out
}

impl Run {
    fn context(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    pub fn assert_exit(&self, code: i32) -> &Run {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.context());
        self
    }

    /// Total `changed=` over all hosts.
    pub fn assert_changed(&self, n: u32) -> &Run {
        let total: u32 = self.recap.values().map(|r| r.changed).sum();
        assert_eq!(total, n, "changed count\n{}", self.context());
        self
    }

    pub fn assert_recap(&self, host: &str, expected: Recap) -> &Run {
        assert_eq!(
            self.recap.get(host).copied(),
            Some(expected),
            "recap of {host}\n{}",
            self.context()
        );
        self
    }

    pub fn host(&self, host: &str) -> Recap {
        self.recap
            .get(host)
            .copied()
            .unwrap_or_else(|| panic!("{host} not in recap\n{}", self.context()))
    }

    pub fn assert_stdout_contains(&self, text: &str) -> &Run {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    pub fn assert_stderr_contains(&self, text: &str) -> &Run {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.context()
        );
        self
    }

    pub fn assert_nowhere(&self, text: &str) -> &Run {
        assert!(
            !self.stdout.contains(text) && !self.stderr.contains(text),
            "{text:?} appears in the output\n{}",
            self.context()
        );
        self
    }
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `condaplay ARGS...` run in `dir`, without colours and without the caller's
/// vault identity from the environment.
pub fn condaplay_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_condaplay"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CONDAPLAY_IDENTITY")
        .output()
        .expect("condaplay runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let recap = parse_recap(&stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        recap,
    }
}
