//! A lab server (real Debian 12 with systemd in nspawn) for tests that change
//! the system: packages, services, users, mounts, swap, sysctl, docker.
//!
//! `LabHost::start(name)` boots the server through `condaplay::lab::up`,
//! reaches it over real SSH with the engine's own Connection (the lab's key
//! and its pinned known_hosts), and tears it down when dropped. Give each test
//! file its own server name so files running in parallel do not collide.

use std::path::PathBuf;

use condaplay::connection::{Connection, ConnectionKind, Target};
use condaplay::exec::adhoc::{AdhocOptions, run_module};
use condaplay::modules::Outcome;
use condaplay::output::Printer;

pub struct LabHost {
    pub name: String,
    pub ip: String,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub conn: Option<Connection>,
    pub rt: tokio::runtime::Runtime,
    printer: Printer,
    _ctl: tempfile::TempDir,
}

impl LabHost {
    /// Boots (or reuses, if already up) the lab server `name` and connects as root.
    pub fn start(name: &str) -> LabHost {
        let printer = Printer::plain();
        let servers = condaplay::lab::up(&[name.to_string()], &printer)
            .unwrap_or_else(|e| panic!("lab up {name}: {e}"));
        let info = servers
            .into_iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("lab up did not return server {name}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ctl = tempfile::Builder::new()
            .prefix("cpl")
            .tempdir_in("/tmp")
            .unwrap();
        let key = PathBuf::from(&info.key_path);
        let known_hosts = PathBuf::from(&info.known_hosts_path);
        let target = Target {
            name: name.to_string(),
            kind: ConnectionKind::Ssh,
            address: info.ip.to_string(),
            port: Some(22),
            user: Some("root".into()),
            key_file: Some(key.clone()),
            ssh_args: vec![
                "-o".into(),
                format!("UserKnownHostsFile={}", known_hosts.display()),
                "-o".into(),
                "StrictHostKeyChecking=yes".into(),
            ],
            timeout: 30,
        };
        let conn = rt
            .block_on(Connection::open(&target, ctl.path()))
            .unwrap_or_else(|e| panic!("connect to lab server {name} ({}): {e}", info.ip));
        LabHost {
            name: name.to_string(),
            ip: info.ip.to_string(),
            key,
            known_hosts,
            conn: Some(conn),
            rt,
            printer,
            _ctl: ctl,
        }
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("connection is open until drop")
    }

    /// Runs a module; args are YAML text (`name: curl\nstate: present`).
    pub fn module(&self, name: &str, args: &str) -> Outcome {
        self.module_opts(name, args, &AdhocOptions::default())
    }

    /// Check mode with diff.
    pub fn check(&self, name: &str, args: &str) -> Outcome {
        self.module_opts(
            name,
            args,
            &AdhocOptions {
                check: true,
                diff: true,
                become_: None,
            },
        )
    }

    pub fn module_opts(&self, name: &str, args: &str, opts: &AdhocOptions) -> Outcome {
        let value = condaplay::yaml::to_json(args, std::path::Path::new("test-args")).unwrap();
        self.rt
            .block_on(run_module(self.conn(), name, &value, opts))
            .unwrap_or_else(|e| panic!("{name} failed to run on {}: {e}", self.name))
    }

    /// A shell command on the server, for assertions: returns stdout.
    pub fn sh(&self, cmd: &str) -> String {
        self.sh_status(cmd).1
    }

    /// A shell command on the server: exit status and stdout.
    pub fn sh_status(&self, cmd: &str) -> (i32, String) {
        let out = self
            .rt
            .block_on(self.conn().exec(cmd.as_bytes(), None))
            .unwrap_or_else(|e| panic!("sh on {}: {e}", self.name));
        (
            out.status.unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// The inventory line that reaches this server as `alias` (for playbook tests).
    pub fn inventory_line(&self, alias: &str) -> String {
        format!(
            "{alias} ansible_host={} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            self.ip,
            self.key.display(),
            self.known_hosts.display()
        )
    }
}

impl Drop for LabHost {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.rt.block_on(conn.close());
        }
        if let Err(e) = condaplay::lab::down(std::slice::from_ref(&self.name), &self.printer) {
            eprintln!("lab down {}: {e}", self.name);
        }
    }
}

/// A shell command that must succeed on the server: its stdout.
pub fn ok_sh(h: &LabHost, cmd: &str) -> String {
    let (code, out) = h.sh_status(cmd);
    assert_eq!(code, 0, "on {}: {cmd} exited {code}: {out}", h.name);
    out
}

/// A lab server torn down at the end, unless CP_KEEP_LAB is set (for
/// working on the test: the next run reuses the server and its packages).
pub struct Keep(Option<LabHost>);

impl Keep {
    pub fn new(h: LabHost) -> Keep {
        Keep(Some(h))
    }
}

impl Drop for Keep {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            if std::env::var_os("CP_KEEP_LAB").is_some() {
                std::mem::forget(h);
            }
        }
    }
}

impl std::ops::Deref for Keep {
    type Target = LabHost;
    fn deref(&self) -> &LabHost {
        self.0.as_ref().expect("held until drop")
    }
}
