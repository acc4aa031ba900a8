//! A real OpenSSH server on a loopback address, for tests: its own host key,
//! its own client key, a known_hosts that pins it. Stopped when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub addr: String,
    pub port: u16,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    child: Child,
}

static NEXT_ADDR: AtomicU8 = AtomicU8::new(2);

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "condaplay-test",
            "-f",
        ])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success(), "ssh-keygen failed");
}

fn free_port(addr: &str) -> u16 {
    TcpListener::bind((addr, 0))
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

impl Sshd {
    /// Starts sshd on a fresh loopback address (127.0.0.N) so several servers
    /// in one test look like several hosts.
    pub fn start() -> Sshd {
        let n = NEXT_ADDR.fetch_add(1, Ordering::SeqCst);
        let addr = format!("127.0.{}.{}", std::process::id() % 200 + 1, n);
        let dir = tempfile::Builder::new()
            .prefix("cp-sshd")
            .tempdir()
            .unwrap();
        let hostkey = dir.path().join("host_key");
        let key = dir.path().join("id");
        keygen(&hostkey);
        keygen(&key);
        let auth = dir.path().join("authorized_keys");
        std::fs::copy(dir.path().join("id.pub"), &auth).unwrap();
        std::fs::create_dir_all("/run/sshd").ok();
        let port = free_port(&addr);
        let config = dir.path().join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress {addr}\nHostKey {hk}\nAuthorizedKeysFile {auth}\nPermitRootLogin prohibit-password\n\
PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nPidFile {pid}\nMaxSessions 100\nMaxStartups 100:30:200\n\
AcceptEnv LANG LC_*\nSubsystem sftp internal-sftp\nLogLevel ERROR\n",
                hk = hostkey.display(),
                auth = auth.display(),
                pid = dir.path().join("sshd.pid").display()
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts (apt-get install openssh-server)");
        let pubkey = std::fs::read_to_string(dir.path().join("host_key.pub")).unwrap();
        let mut parts = pubkey.split_whitespace();
        let known_hosts = dir.path().join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!(
                "[{addr}]:{port} {} {}\n",
                parts.next().unwrap(),
                parts.next().unwrap()
            ),
        )
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((addr.as_str(), port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "sshd did not start on {addr}:{port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd {
            dir,
            addr,
            port,
            key,
            known_hosts,
            child,
        }
    }

    /// The inventory line that reaches this server as `name`.
    pub fn inventory_line(&self, name: &str) -> String {
        format!(
            "{name} ansible_host={} ansible_port={} ansible_user=root ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            self.addr,
            self.port,
            self.key.display(),
            self.known_hosts.display()
        )
    }

    /// A scratch directory for files the test's playbooks manage.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("root");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    /// Cuts every live session and stops the server: a connection lost in
    /// the middle of a task.
    pub fn cut(&mut self) {
        let _ = Command::new("pkill")
            .args(["-9", "-P", &self.child.id().to_string()])
            .status();
        self.stop();
    }

    /// Stops the server (to make a host unreachable mid-test).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}
