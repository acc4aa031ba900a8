//! `condaplay vault` end to end: the real binary, with HOME, the working
//! directory and the editor's scratch directory pointed at a temporary tree,
//! and the `age` / `ssh-keygen` tools for interoperability.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Env {
    _dir: tempfile::TempDir,
    home: PathBuf,
    cwd: PathBuf,
    /// XDG_RUNTIME_DIR and TMPDIR: where the editor's plaintext must live and
    /// must not survive.
    scratch: PathBuf,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("repo");
        let scratch = dir.path().join("run");
        for d in [&home, &cwd, &scratch] {
            fs::create_dir_all(d).unwrap();
        }
        fs::set_permissions(&scratch, fs::Permissions::from_mode(0o700)).unwrap();
        Env {
            _dir: dir,
            home,
            cwd,
            scratch,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_condaplay"));
        c.arg("vault")
            .current_dir(&self.cwd)
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", &self.scratch)
            .env("TMPDIR", &self.scratch)
            .env("NO_COLOR", "1")
            .env_remove("CONDAPLAY_IDENTITY")
            .env_remove("CONDAPLAY_RECIPIENTS")
            .env_remove("VISUAL")
            .env_remove("EDITOR")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "condaplay vault {args:?} failed: {}",
            stderr(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.cwd.join(rel)
    }

    fn identity(&self) -> PathBuf {
        self.home.join(".config/condaplay/identity.txt")
    }

    /// `vault init`, returning our public key.
    fn init(&self) -> String {
        self.ok(&["init"]);
        let r = fs::read_to_string(self.p("vault/recipients.txt")).unwrap();
        r.lines()
            .find(|l| l.starts_with("age1"))
            .unwrap()
            .to_string()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.p(rel);
        fs::write(&p, text).unwrap();
        p
    }

    /// An editor script, run as `sh SCRIPT FILE`.
    fn editor(&self, name: &str, body: &str) -> String {
        let p = self.home.join(name);
        fs::write(&p, body).unwrap();
        format!("sh {}", p.display())
    }

    fn scratch_is_empty(&self) -> bool {
        fs::read_dir(&self.scratch).unwrap().next().is_none()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tool(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", stderr(&out));
    out
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn round_trip_encrypt_view_decrypt() {
    let env = Env::new();
    env.init();
    let id_mode = fs::metadata(env.identity()).unwrap().permissions().mode() & 0o777;
    assert_eq!(id_mode, 0o600);
    env.write("secrets.yml", "db_password: hunter2\n");
    env.ok(&["encrypt", "secrets.yml"]);
    assert!(!env.p("secrets.yml").exists(), "plaintext must be removed");
    let ct = fs::read_to_string(env.p("secrets.yml.age")).unwrap();
    assert!(
        ct.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{ct}"
    );
    assert!(!ct.contains("hunter2"));
    assert_eq!(
        env.ok(&["view", "secrets.yml.age"]),
        "db_password: hunter2\n"
    );
    env.ok(&["decrypt", "secrets.yml.age"]);
    assert_eq!(
        fs::read_to_string(env.p("secrets.yml")).unwrap(),
        "db_password: hunter2\n"
    );
    assert_eq!(
        fs::metadata(env.p("secrets.yml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    // decrypt does not clobber an existing plaintext, encrypt no existing .age.
    let again = env.run(&["decrypt", "secrets.yml.age"]);
    assert!(
        !again.status.success() && stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    let again = env.run(&["encrypt", "secrets.yml"]);
    assert!(
        !again.status.success() && stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert!(env.p("secrets.yml").exists());
}

#[test]
fn init_is_idempotent() {
    let env = Env::new();
    let key = env.init();
    let before = fs::read(env.identity()).unwrap();
    assert_eq!(env.init(), key);
    assert_eq!(
        fs::read(env.identity()).unwrap(),
        before,
        "init must not replace the identity"
    );
    let r = fs::read_to_string(env.p("vault/recipients.txt")).unwrap();
    assert_eq!(r.matches(&key).count(), 1, "{r}");
}

#[test]
fn age_cli_decrypts_our_file_and_we_decrypt_its_files() {
    let env = Env::new();
    let key = env.init();
    env.write("a.env", "TOKEN=abc123\n");
    env.ok(&["encrypt", "a.env"]);
    let out = tool(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(env.identity())
            .arg(env.p("a.env.age")),
    );
    assert_eq!(out.stdout, b"TOKEN=abc123\n");

    // age -r (armored) and age -R (binary) to our recipients.
    tool(
        Command::new("age")
            .args(["-a", "-r", &key, "-o"])
            .arg(env.p("b.txt.age"))
            .arg(env.p("vault/recipients.txt")),
    );
    assert_eq!(
        env.ok(&["view", "b.txt.age"]),
        fs::read_to_string(env.p("vault/recipients.txt")).unwrap()
    );
    env.write("c.yml", "k: v\n");
    tool(
        Command::new("age")
            .arg("-R")
            .arg(env.p("vault/recipients.txt"))
            .arg("-o")
            .arg(env.p("c.yml.age"))
            .arg(env.p("c.yml")),
    );
    fs::remove_file(env.p("c.yml")).unwrap();
    env.ok(&["decrypt", "c.yml.age"]);
    assert_eq!(fs::read_to_string(env.p("c.yml")).unwrap(), "k: v\n");
}

#[test]
fn ssh_ed25519_identity_and_recipient_interoperate_with_age() {
    let env = Env::new();
    let ssh = env.home.join(".ssh");
    fs::create_dir_all(&ssh).unwrap();
    let key = ssh.join("id_ed25519");
    tool(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@test", "-f"])
            .arg(&key),
    );
    // No age identity: init picks up ~/.ssh/id_ed25519 and lists its public key.
    env.ok(&["init"]);
    assert!(
        !env.identity().exists(),
        "init must use the ssh key, not create an age identity"
    );
    let listed = env.ok(&["recipients", "list"]);
    let pubkey = fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
    let prefix: String = pubkey
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(listed.trim(), prefix);

    env.write("s.env", "PW=ssh-secret\n");
    env.ok(&["encrypt", "s.env"]);
    let out = tool(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&key)
            .arg(env.p("s.env.age")),
    );
    assert_eq!(out.stdout, b"PW=ssh-secret\n");

    env.write("t.txt", "from age\n");
    tool(
        Command::new("age")
            .arg("-a")
            .arg("-R")
            .arg(ssh.join("id_ed25519.pub"))
            .arg("-o")
            .arg(env.p("t.txt.age"))
            .arg(env.p("t.txt")),
    );
    assert_eq!(env.ok(&["view", "t.txt.age"]), "from age\n");
}

#[test]
fn ssh_rsa_recipient_added_from_pub_file() {
    let env = Env::new();
    env.init();
    let key = env.home.join("id_rsa");
    tool(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "rsa", "-b", "2048", "-N", "", "-f"])
            .arg(&key),
    );
    let pubfile = env.home.join("id_rsa.pub");
    env.ok(&["recipients", "add", pubfile.to_str().unwrap()]);
    assert_eq!(env.ok(&["recipients", "list"]).lines().count(), 2);
    env.write("r.txt", "rsa secret\n");
    env.ok(&["encrypt", "r.txt"]);
    // Both recipients can read it: our age identity and the rsa key.
    assert_eq!(env.ok(&["view", "r.txt.age"]), "rsa secret\n");
    assert_eq!(
        env.ok(&["view", "--identity", key.to_str().unwrap(), "r.txt.age"]),
        "rsa secret\n"
    );
    let out = tool(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&key)
            .arg(env.p("r.txt.age")),
    );
    assert_eq!(out.stdout, b"rsa secret\n");
}

/// A multi-chunk file (age chunks are 64 KiB), so damage can hit the payload.
fn big_secret(env: &Env) -> String {
    env.init();
    let text: String = (0..4000)
        .map(|i| format!("KEY_{i}=value-{i}-padding-padding-padding\n"))
        .collect();
    env.write("big.env", &text);
    env.ok(&["encrypt", "big.env"]);
    text
}

fn assert_rejected_without_plaintext(env: &Env) {
    let out = env.run(&["view", "big.env.age"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "no plaintext on stdout");
    let out = env.run(&["decrypt", "big.env.age"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("big.env.age"), "{}", stderr(&out));
    assert_eq!(
        files_in(&env.cwd),
        vec!["big.env.age", "vault"],
        "no plaintext (or temp) file written"
    );
}

#[test]
fn tampered_file_is_rejected_with_no_plaintext() {
    let env = Env::new();
    big_secret(&env);
    let text = fs::read_to_string(env.p("big.env.age")).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // A line well into the payload (past the first 64 KiB chunk).
    let n = lines.len() * 3 / 4;
    let mut bytes = lines[n].clone().into_bytes();
    bytes[10] = if bytes[10] == b'A' { b'B' } else { b'A' };
    lines[n] = String::from_utf8(bytes).unwrap();
    fs::write(env.p("big.env.age"), lines.join("\n") + "\n").unwrap();
    assert_rejected_without_plaintext(&env);
}

#[test]
fn truncated_file_is_rejected_with_no_plaintext() {
    let env = Env::new();
    big_secret(&env);
    let text = fs::read_to_string(env.p("big.env.age")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // Keep the first half of the armored body, close the armor properly.
    let cut = lines[..lines.len() / 2].join("\n") + "\n-----END AGE ENCRYPTED FILE-----\n";
    fs::write(env.p("big.env.age"), cut).unwrap();
    assert_rejected_without_plaintext(&env);
    // Plain truncation (armor cut off too) is also an error.
    fs::write(env.p("big.env.age"), &text[..text.len() / 3]).unwrap();
    assert_rejected_without_plaintext(&env);
}

#[test]
fn wrong_identity_names_stanza_types_and_our_public_key() {
    let env = Env::new();
    env.init();
    env.write("x.env", "A=1\n");
    env.ok(&["encrypt", "x.env"]);
    let other = env.home.join("other.txt");
    tool(Command::new("age-keygen").arg("-o").arg(&other));
    let other_pub =
        String::from_utf8(tool(Command::new("age-keygen").arg("-y").arg(&other)).stdout).unwrap();
    let out = env.run(&["view", "--identity", other.to_str().unwrap(), "x.env.age"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("no identity matches"), "{err}");
    assert!(err.contains("1 X25519 recipient"), "{err}");
    assert!(err.contains(other_pub.trim()), "{err}");
    assert!(out.stdout.is_empty());
    // The same through the environment variable.
    let out = env
        .cmd()
        .env("CONDAPLAY_IDENTITY", &other)
        .args(["view", "x.env.age"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains(other_pub.trim()), "{}", stderr(&out));
}

#[test]
fn missing_recipients_file_says_to_run_init() {
    let env = Env::new();
    env.write("x.env", "A=1\n");
    let out = env.run(&["encrypt", "x.env"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("vault/recipients.txt") && err.contains("condaplay vault init"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(env.p("x.env")).unwrap(),
        "A=1\n",
        "plaintext kept"
    );
    // --recipients and CONDAPLAY_RECIPIENTS point elsewhere.
    let out = env.run(&["encrypt", "--recipients", "team/keys.txt", "x.env"]);
    assert!(
        stderr(&out).contains("team/keys.txt: no recipients file"),
        "{}",
        stderr(&out)
    );
    let out = env
        .cmd()
        .env("CONDAPLAY_RECIPIENTS", "env/keys.txt")
        .args(["encrypt", "x.env"])
        .output()
        .unwrap();
    assert!(
        stderr(&out).contains("env/keys.txt: no recipients file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn recipients_add_and_list() {
    let env = Env::new();
    let key = env.init();
    let other = age_pubkey(&env);
    env.ok(&["recipients", "add", &other]);
    env.ok(&["recipients", "add", &other]);
    assert_eq!(env.ok(&["recipients", "list"]), format!("{key}\n{other}\n"));
    let bad = env.run(&["recipients", "add", "AGE-SECRET-KEY-1SHOULDNOTECHO"]);
    assert!(!bad.status.success());
    assert!(!stderr(&bad).contains("SHOULDNOTECHO"), "{}", stderr(&bad));
    // rekey makes an old file readable by the new recipient.
    env.write("s.txt", "for two\n");
    env.ok(&["encrypt", "s.txt"]);
    let their_id = env.home.join("other.txt");
    assert_eq!(
        env.ok(&[
            "view",
            "--identity",
            their_id.to_str().unwrap(),
            "s.txt.age"
        ]),
        "for two\n"
    );
    // A broken line in the file is reported with its line number.
    fs::write(
        env.p("vault/recipients.txt"),
        format!("# keys\n{key}\nnot-a-key\n"),
    )
    .unwrap();
    let out = env.run(&["recipients", "list"]);
    assert!(
        stderr(&out).contains("vault/recipients.txt:3:"),
        "{}",
        stderr(&out)
    );
}

fn age_pubkey(env: &Env) -> String {
    let other = env.home.join("other.txt");
    tool(Command::new("age-keygen").arg("-o").arg(&other));
    String::from_utf8(tool(Command::new("age-keygen").arg("-y").arg(&other)).stdout)
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn rekey_encrypts_existing_files_for_new_recipients() {
    let env = Env::new();
    env.init();
    env.write("s.txt", "old\n");
    env.ok(&["encrypt", "s.txt"]);
    let other = age_pubkey(&env);
    let their_id = env.home.join("other.txt");
    let out = env.run(&[
        "view",
        "--identity",
        their_id.to_str().unwrap(),
        "s.txt.age",
    ]);
    assert!(
        stderr(&out).contains("no identity matches"),
        "{}",
        stderr(&out)
    );
    env.ok(&["recipients", "add", &other]);
    env.ok(&["rekey", "s.txt.age"]);
    assert_eq!(
        env.ok(&[
            "view",
            "--identity",
            their_id.to_str().unwrap(),
            "s.txt.age"
        ]),
        "old\n"
    );
    assert_eq!(env.ok(&["view", "s.txt.age"]), "old\n");
}

#[test]
fn edit_changed_is_reencrypted_in_private_scratch_file() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let log = env.home.join("log");
    let editor = env.editor(
        "ed.sh",
        &format!(
            "stat -c '%n %a' \"$1\" \"$(dirname \"$1\")\" > {log}\nprintf 'A=2\\nB=\"new\"\\n' > \"$1\"\n",
            log = log.display()
        ),
    );
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.ok(&["view", "app.env.age"]), "A=2\nB=\"new\"\n");
    let log = fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with(env.scratch.to_str().unwrap()), "{log}");
    assert!(
        lines[0].ends_with("/app.env 600"),
        "inner name kept, mode 0600: {log}"
    );
    assert!(lines[1].ends_with(" 700"), "private dir: {log}");
    assert!(env.scratch_is_empty());
    // $VISUAL wins over $EDITOR.
    let visual = env.editor("v.sh", "printf 'A=3\\n' > \"$1\"\n");
    let out = env
        .cmd()
        .env("VISUAL", &visual)
        .env("EDITOR", "false")
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.ok(&["view", "app.env.age"]), "A=3\n");
}

#[test]
fn edit_unchanged_leaves_file_untouched() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let before = fs::read(env.p("app.env.age")).unwrap();
    let mtime = fs::metadata(env.p("app.env.age"))
        .unwrap()
        .modified()
        .unwrap();
    let out = env
        .cmd()
        .env("EDITOR", "true")
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no changes"), "{}", stderr(&out));
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
    assert_eq!(
        fs::metadata(env.p("app.env.age"))
            .unwrap()
            .modified()
            .unwrap(),
        mtime
    );
    assert!(env.scratch_is_empty());
}

#[test]
fn create_makes_new_file_and_refuses_existing() {
    let env = Env::new();
    env.init();
    let editor = env.editor("c.sh", "printf 'token: t0k\\n' > \"$1\"\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["create", "new.yml.age"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.ok(&["view", "new.yml.age"]), "token: t0k\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["create", "new.yml.age"])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // Saving nothing creates nothing.
    let out = env
        .cmd()
        .env("EDITOR", "true")
        .args(["create", "empty.env.age"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!env.p("empty.env.age").exists());
    assert!(env.scratch_is_empty());
}

#[test]
fn edit_parse_error_without_terminal_aborts_and_writes_nothing() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let before = fs::read(env.p("app.env.age")).unwrap();
    let editor = env.editor("bad.sh", "printf 'A=2\\nthis line is wrong\\n' > \"$1\"\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("app.env:2: expected KEY=VALUE"), "{err}");
    assert!(err.contains("nothing written"), "{err}");
    assert!(!err.contains("this line is wrong"), "{err}");
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
    assert!(env.scratch_is_empty());
    // YAML too, with its line.
    env.write("c.yml", "a: 1\n");
    env.ok(&["encrypt", "c.yml"]);
    let editor = env.editor("bady.sh", "printf 'a: 1\\nb: [\\n' > \"$1\"\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "c.yml.age"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("c.yml:"), "{}", stderr(&out));
    assert_eq!(env.ok(&["view", "c.yml.age"]), "a: 1\n");
}

/// A pseudo-terminal for stdin, with the answer to "edit again?" typed ahead.
fn pty_with_input(input: &[u8]) -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: out-pointers are valid; name/termios/winsize may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // Not inherited by processes other tests start meanwhile: a stray copy of
    // the slave would keep the terminal open after our child exits.
    // SAFETY: setting a flag on descriptors we own.
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    // SAFETY: fresh descriptors we own.
    let (mut m, s) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    std::io::Write::write_all(&mut m, input).unwrap();
    (m, s)
}

#[test]
fn edit_parse_error_on_terminal_reopens_editor() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let count = env.home.join("count");
    // First call: a broken line. Second call: the script sees the broken
    // content (the user's edit is kept) and fixes it.
    let editor = env.editor(
        "fix.sh",
        &format!(
            "echo x >> {c}\nif [ $(wc -l < {c}) -eq 1 ]; then printf 'A=2\\nbroken\\n' > \"$1\"; \
             else grep -q broken \"$1\" && printf 'A=2\\nB=3\\n' > \"$1\"; fi\n",
            c = count.display()
        ),
    );
    let (_master, slave) = pty_with_input(b"e\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .stdin(Stdio::from(slave))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("app.env:2: expected KEY=VALUE"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(&count).unwrap().lines().count(),
        2,
        "editor opened twice"
    );
    assert_eq!(env.ok(&["view", "app.env.age"]), "A=2\nB=3\n");
    assert!(env.scratch_is_empty());

    // Answering "a" aborts and writes nothing.
    fs::remove_file(&count).unwrap();
    let before = fs::read(env.p("app.env.age")).unwrap();
    let (_master, slave) = pty_with_input(b"a\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .stdin(Stdio::from(slave))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(fs::read_to_string(&count).unwrap().lines().count(), 1);
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
    assert!(env.scratch_is_empty());
}

#[test]
fn editor_killed_by_sigkill_leaves_no_plaintext() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let before = fs::read(env.p("app.env.age")).unwrap();
    let editor = env.editor("kill.sh", "printf 'A=2\\n' > \"$1\"\nkill -KILL $$\n");
    let out = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("killed by SIGKILL"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
    assert!(env.scratch_is_empty(), "{:?}", files_in(&env.scratch));
}

/// Starts `vault edit` with an editor that sleeps, waits until the plaintext
/// is on disk, signals, and returns the output.
fn edit_then_signal(env: &Env, signal: libc::c_int, to_group: bool) -> Output {
    use std::os::unix::process::CommandExt;
    let started = env.home.join("started");
    let editor = env.editor(
        "sleep.sh",
        &format!("touch {}\nexec sleep 30\n", started.display()),
    );
    let child = env
        .cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !started.exists() {
        assert!(Instant::now() < deadline, "editor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !env.scratch_is_empty(),
        "the plaintext is in the scratch dir while editing"
    );
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child (or its process group).
    unsafe { libc::kill(if to_group { -pid } else { pid }, signal) };
    child.wait_with_output().unwrap()
}

#[test]
fn sigterm_to_condaplay_removes_plaintext() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let before = fs::read(env.p("app.env.age")).unwrap();
    let out = edit_then_signal(&env, libc::SIGTERM, false);
    assert_eq!(out.status.code(), Some(99), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted by SIGTERM"),
        "{}",
        stderr(&out)
    );
    assert!(env.scratch_is_empty(), "{:?}", files_in(&env.scratch));
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
}

#[test]
fn ctrl_c_removes_plaintext() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let before = fs::read(env.p("app.env.age")).unwrap();
    // As a terminal does: SIGINT to the whole foreground process group.
    let out = edit_then_signal(&env, libc::SIGINT, true);
    assert_eq!(out.status.code(), Some(99), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("interrupted by SIGINT"),
        "{}",
        stderr(&out)
    );
    assert!(env.scratch_is_empty(), "{:?}", files_in(&env.scratch));
    assert_eq!(fs::read(env.p("app.env.age")).unwrap(), before);
}

#[test]
fn load_vars_file_reads_yaml_and_env() {
    let env = Env::new();
    env.init();
    env.write(
        "vars.yml",
        "db:\n  user: app\n  password: s3cr3t\nport: 5432\n",
    );
    env.write("app.env", "export API_KEY='k-123'\nDEBUG=0 # off\n");
    env.write(".env", "ONLY=here\n");
    env.ok(&["encrypt", "vars.yml", "app.env", ".env"]);
    let id = env.identity();

    let (vars, secrets) =
        condaplay::vault::load_vars_file(&env.p("vars.yml.age"), Some(&id)).unwrap();
    assert_eq!(vars["db"]["password"], "s3cr3t");
    assert_eq!(vars["port"], 5432);
    assert!(
        secrets.contains(&"s3cr3t".to_string()) && secrets.contains(&"app".to_string()),
        "{secrets:?}"
    );

    let (vars, secrets) =
        condaplay::vault::load_vars_file(&env.p("app.env.age"), Some(&id)).unwrap();
    assert_eq!(vars["API_KEY"], "k-123");
    assert_eq!(vars["DEBUG"], "0");
    assert!(secrets.contains(&"k-123".to_string()));

    let (vars, _) = condaplay::vault::load_vars_file(&env.p(".env.age"), Some(&id)).unwrap();
    assert_eq!(vars["ONLY"], "here");

    // Not ours to read: the error says so.
    let other = env.home.join("o.txt");
    tool(Command::new("age-keygen").arg("-o").arg(&other));
    let e = condaplay::vault::load_vars_file(&env.p("app.env.age"), Some(&other))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no identity matches"), "{e}");
}

#[test]
fn git_textconv_shows_decrypted_diff() {
    let env = Env::new();
    env.init();
    env.write("app.env", "A=1\n");
    env.ok(&["encrypt", "app.env"]);
    let git = |args: &[&str]| {
        tool(
            Command::new("git")
                .args(args)
                .current_dir(&env.cwd)
                .env("HOME", &env.home)
                .env("GIT_CONFIG_NOSYSTEM", "1"),
        )
    };
    git(&["init", "-q"]);
    fs::write(env.p(".gitattributes"), "*.age diff=age\n").unwrap();
    let textconv = format!("{} vault view", env!("CARGO_BIN_EXE_condaplay"));
    git(&["config", "diff.age.textconv", &textconv]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "init",
    ]);
    let editor = env.editor("e.sh", "printf 'A=2\\n' > \"$1\"\n");
    env.cmd()
        .env("EDITOR", &editor)
        .args(["edit", "app.env.age"])
        .output()
        .unwrap();
    let diff = String::from_utf8(git(&["diff"]).stdout).unwrap();
    assert!(diff.contains("-A=1") && diff.contains("+A=2"), "{diff}");
}

#[test]
fn passphrase_protected_identity_prompts_on_the_terminal() {
    use std::io::{Read, Write};
    use std::os::unix::process::CommandExt;

    let env = Env::new();
    let key = env.init();
    env.write("p.txt", "behind a passphrase\n");
    env.ok(&["encrypt", "p.txt"]);
    // Protect the identity with a passphrase the way `age -p` does (the age
    // crate picks the scrypt work for this build, so the test stays quick).
    let plain_id = fs::read(env.identity()).unwrap();
    let protected = env.home.join("protected.txt");
    let enc = age::Encryptor::with_user_passphrase(age::secrecy::SecretString::from(
        "correct horse".to_string(),
    ));
    let mut out = Vec::new();
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor).unwrap();
    let mut w = enc.wrap_output(armor).unwrap();
    w.write_all(&plain_id).unwrap();
    w.finish().unwrap().finish().unwrap();
    fs::write(&protected, &out).unwrap();
    let protected = protected.to_str().unwrap().to_string();

    // Without a terminal: a clear error, no plaintext.
    let o = env
        .cmd()
        .env("PINENTRY_PROGRAM", "/nonexistent")
        .args(["view", "--identity", &protected, "p.txt.age"])
        .output()
        .unwrap();
    assert!(!o.status.success() && o.stdout.is_empty());
    assert!(
        stderr(&o).contains("could not unlock the identity"),
        "{}",
        stderr(&o)
    );

    // On a terminal: the prompt appears there and the answer unlocks it.
    let (master, slave) = pty_with_input(b"");
    let mut cmd = env.cmd();
    cmd.env("PINENTRY_PROGRAM", "/nonexistent")
        .args(["view", "--identity", &protected, "p.txt.age"])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    // The terminal must be open only in the child, so reading it ends when
    // the child does.
    drop(cmd);
    drop(slave);
    let reader = std::thread::spawn(move || {
        let mut m = master;
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        let mut answered = false;
        loop {
            match m.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if !answered && String::from_utf8_lossy(&seen).contains("passphrase") {
                m.write_all(b"correct horse\n").unwrap();
                answered = true;
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    });
    let o = child.wait_with_output().unwrap();
    let screen = reader.join().unwrap();
    assert!(o.status.success(), "{} / terminal: {screen}", stderr(&o));
    assert!(
        screen.contains("Type passphrase for encrypted identity"),
        "{screen}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "behind a passphrase\n");
    assert!(!key.is_empty());
}

#[test]
fn init_with_identity_path_creates_it_there() {
    let env = Env::new();
    let path = env.home.join("keys/team.txt");
    env.ok(&["init", "--identity", path.to_str().unwrap()]);
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
    assert!(!env.identity().exists());
    let public =
        String::from_utf8(tool(Command::new("age-keygen").arg("-y").arg(&path)).stdout).unwrap();
    assert_eq!(env.ok(&["recipients", "list"]), public);
    // CONDAPLAY_IDENTITY finds it for decryption.
    env.write("s.txt", "x\n");
    env.ok(&["encrypt", "s.txt"]);
    let out = env
        .cmd()
        .env("CONDAPLAY_IDENTITY", &path)
        .args(["view", "s.txt.age"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "x\n",
        "{}",
        stderr(&out)
    );
    // With no identity anywhere, the error says where it looked.
    let out = env.run(&["view", "s.txt.age"]);
    assert!(
        stderr(&out).contains("no identity found") && stderr(&out).contains(".ssh/id_ed25519"),
        "{}",
        stderr(&out)
    );
}

fn on_ram_fs(p: &Path) -> bool {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: zeroed out-struct, valid path.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statfs(c.as_ptr(), &mut st) }, 0);
    matches!(st.f_type as i64, 0x0102_1994 | 0x8584_58f6)
}

#[test]
fn edit_warns_when_scratch_dir_is_on_disk() {
    let env = Env::new();
    env.init();
    env.write("a.txt", "x\n");
    env.ok(&["encrypt", "a.txt"]);
    let out = env
        .cmd()
        .env("EDITOR", "true")
        .args(["edit", "a.txt.age"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let warned = stderr(&out).contains("not on a RAM filesystem");
    assert_eq!(warned, !on_ram_fs(&env.scratch), "{}", stderr(&out));
    // /dev/shm, when XDG_RUNTIME_DIR is not set, is RAM and gives no warning.
    if on_ram_fs(Path::new("/dev/shm")) {
        let out = env
            .cmd()
            .env_remove("XDG_RUNTIME_DIR")
            .env("EDITOR", "true")
            .args(["edit", "a.txt.age"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(
            !stderr(&out).contains("not on a RAM filesystem"),
            "{}",
            stderr(&out)
        );
    }
}
