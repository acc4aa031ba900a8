//! Shared test helpers: real sshd servers on loopback, and module runs on them.
#![allow(dead_code)]

pub mod lab_host;
pub mod playbook;
pub mod sshd;

use condaplay::connection::{Connection, ConnectionKind, Target};
use condaplay::exec::adhoc::{AdhocOptions, run_module};
use condaplay::modules::Outcome;
#[allow(unused_imports)]
pub use playbook::{Recap, Run, Test};
pub use sshd::Sshd;

/// A connection to a loopback sshd, through the same code the engine uses.
pub struct Host {
    pub sshd: Sshd,
    pub conn: Connection,
    pub rt: tokio::runtime::Runtime,
    _ctl: tempfile::TempDir,
}

impl Host {
    pub fn start() -> Host {
        let sshd = Sshd::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let ctl = tempfile::Builder::new()
            .prefix("cpc")
            .tempdir_in("/tmp")
            .unwrap();
        let target = Target {
            name: "t".into(),
            kind: ConnectionKind::Ssh,
            address: sshd.addr.clone(),
            port: Some(sshd.port),
            user: Some("root".into()),
            key_file: Some(sshd.key.clone()),
            ssh_args: vec![
                "-o".into(),
                format!("UserKnownHostsFile={}", sshd.known_hosts.display()),
            ],
            timeout: 10,
        };
        let conn = rt
            .block_on(Connection::open(&target, ctl.path()))
            .expect("connects to the test sshd");
        Host {
            sshd,
            conn,
            rt,
            _ctl: ctl,
        }
    }

    /// Runs a module; args are YAML text (`path: /x\nstate: touch`).
    pub fn module(&self, name: &str, args: &str) -> Outcome {
        self.module_opts(name, args, &AdhocOptions::default())
    }

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
            .block_on(run_module(&self.conn, name, &value, opts))
            .unwrap_or_else(|e| panic!("{name} failed to run: {e}"))
    }

    /// A shell command on the host, for assertions: returns stdout.
    pub fn sh(&self, cmd: &str) -> String {
        let out = self
            .rt
            .block_on(self.conn.exec(cmd.as_bytes(), None))
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
