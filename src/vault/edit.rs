//! `vault create` / `vault edit`: plaintext in a private scratch directory,
//! the user's editor on it, validation, re-encryption only when it changed.

use std::io::IsTerminal;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use zeroize::{Zeroize, Zeroizing};

use super::scratch::ScratchDir;
use super::signals::{self, SignalGuard};
use super::vars::{Inner, inner_kind, inner_path};
use super::{RecipientEntry, VaultError, crypt, dotenv, fsutil};
use crate::output::Printer;

/// What an edit did to the age file.
#[derive(Debug, PartialEq, Eq)]
pub enum EditOutcome {
    Written,
    Unchanged,
}

/// Edits `original` (empty for `create`) and, when the result differs and
/// parses, writes it encrypted to `target`. The plaintext lives only in memory
/// and in the scratch directory, which is gone when this returns.
pub fn edit(
    target: &Path,
    original: &[u8],
    recipients: &[RecipientEntry],
    p: &Printer,
) -> Result<EditOutcome, VaultError> {
    let editor = editor_command()?;
    let inner = inner_path(target);
    let name = inner
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or(VaultError::BadPath {
            path: target.to_path_buf(),
            msg: "no file name",
        })?
        .to_string();

    // Order matters for drops: the scratch directory goes first, then the
    // signal handlers, so a signal during cleanup is still only recorded.
    let signals = SignalGuard::install();
    let scratch = ScratchDir::create()?;
    if !scratch.in_ram {
        p.warn(&format!(
            "{} is not on a RAM filesystem: the plaintext touches the disk while you edit \
             (set XDG_RUNTIME_DIR to a tmpfs directory to avoid it)",
            scratch.path().display()
        ));
    }
    let file = scratch.write_new(&name, original)?;

    loop {
        run_editor(&editor, &file, &signals)?;
        let edited =
            Zeroizing::new(fsutil::read(&file).map_err(|_| {
                VaultError::Editor(format!("the editor removed {}", file.display()))
            })?);
        check_signal(&signals)?;
        if &edited[..] == original {
            return Ok(EditOutcome::Unchanged);
        }
        if let Err(msg) = validate(&edited, &inner) {
            if !std::io::stdin().is_terminal() {
                return Err(VaultError::Invalid { file: inner, msg });
            }
            p.error(&msg);
            p.info("Edit again or abort? [E/a] ");
            match read_answer(&signals)? {
                Some(a)
                    if a.trim().eq_ignore_ascii_case("a")
                        || a.trim().eq_ignore_ascii_case("abort") =>
                {
                    return Err(VaultError::Invalid { file: inner, msg });
                }
                Some(_) => continue,
                None => return Err(VaultError::Invalid { file: inner, msg }),
            }
        }
        let ciphertext = crypt::encrypt_bytes(&edited, recipients, target)?;
        check_signal(&signals)?;
        let mode = fsutil::existing_mode(target).unwrap_or(0o644);
        fsutil::write_atomic(target, &ciphertext, mode)?;
        return Ok(EditOutcome::Written);
    }
}

fn check_signal(signals: &SignalGuard) -> Result<(), VaultError> {
    match signals.take() {
        Some(sig) => Err(VaultError::Interrupted(signals::name(sig))),
        None => Ok(()),
    }
}

/// `$VISUAL`, else `$EDITOR`, else `vi`, split into words like a shell would.
pub fn editor_command() -> Result<Vec<String>, VaultError> {
    let raw = ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_string());
    match shlex::split(&raw) {
        Some(words) if !words.is_empty() => Ok(words),
        _ => Err(VaultError::Editor(format!(
            "cannot split the editor command {raw:?} into words"
        ))),
    }
}

/// Runs the editor on `file` (the path is its only argument from us: the
/// plaintext never appears in an argument list) and waits for it.
///
/// SIGINT is left to the editor: a terminal sends it to the editor too, and
/// editors such as vi use Ctrl-C themselves; if the editor dies of it, the
/// edit is aborted. SIGTERM and SIGHUP are passed on to the editor, and the
/// edit is aborted once it has exited.
fn run_editor(editor: &[String], file: &Path, signals: &SignalGuard) -> Result<(), VaultError> {
    let mut child = Command::new(&editor[0])
        .args(&editor[1..])
        .arg(file)
        .spawn()
        .map_err(|e| VaultError::Editor(format!("cannot run {:?}: {e}", editor[0])))?;
    let mut interrupted = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(VaultError::Editor(format!("waiting for the editor: {e}"))),
        }
        match signals.take() {
            Some(libc::SIGINT) => interrupted = Some(libc::SIGINT),
            Some(sig) => {
                stop_child(&mut child, sig);
                return Err(VaultError::Interrupted(signals::name(sig)));
            }
            None => {}
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    // A signal that came with the editor's exit (Ctrl-C reaches both).
    match signals.take() {
        Some(libc::SIGINT) => interrupted = Some(libc::SIGINT),
        Some(sig) => return Err(VaultError::Interrupted(signals::name(sig))),
        None => {}
    }
    if status.success() {
        return Ok(());
    }
    if let Some(sig) = interrupted {
        return Err(VaultError::Interrupted(signals::name(sig)));
    }
    Err(VaultError::Editor(describe_status(&editor[0], status)))
}

fn describe_status(program: &str, status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("{program} exited with status {code}"),
        (None, Some(sig)) => format!("{program} was killed by {} ({sig})", signals::name(sig)),
        _ => format!("{program} failed"),
    }
}

/// Passes `sig` to the editor and waits for it; after a grace period, kills it.
fn stop_child(child: &mut Child, sig: libc::c_int) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: signalling our own child, which we have not reaped yet.
    unsafe {
        libc::kill(pid, sig);
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks that the edited text parses as what its inner name says it is.
/// The message names the file and line, never the content.
fn validate(bytes: &[u8], inner: &Path) -> Result<(), String> {
    let kind = inner_kind(inner);
    if kind == Inner::Other {
        return Ok(());
    }
    let text =
        std::str::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", inner.display()))?;
    match kind {
        Inner::Dotenv => dotenv::parse_dotenv(text, inner)
            .map(|mut pairs| pairs.iter_mut().for_each(|(_, v)| v.zeroize()))
            .map_err(|e| e.to_string()),
        Inner::Yaml => crate::yaml::parse_str(text, inner)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Inner::Json => serde_json::from_str::<serde_json::Value>(text)
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "{}:{}:{}: invalid JSON: {:?}",
                    inner.display(),
                    e.line(),
                    e.column(),
                    e.classify()
                )
            }),
        Inner::Other => Ok(()),
    }
}

/// One line from the terminal, watching for signals while waiting.
/// `None` at end of input.
fn read_answer(signals: &SignalGuard) -> Result<Option<String>, VaultError> {
    let mut line = Vec::new();
    loop {
        check_signal(signals)?;
        let mut pfd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, 100) };
        if ready <= 0 {
            continue;
        }
        let mut byte = 0u8;
        // SAFETY: reading one byte into a valid buffer.
        let n = unsafe { libc::read(0, (&mut byte as *mut u8).cast(), 1) };
        if n <= 0 {
            return Ok(None);
        }
        if byte == b'\n' {
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
        line.push(byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_file_and_line() {
        let e = validate(b"A=1\nnope\n", Path::new("x.env")).unwrap_err();
        assert_eq!(e, "x.env:2: expected KEY=VALUE (no `=` on this line)");
        let e = validate(b"a: 1\nb: [\n", Path::new("x.yml")).unwrap_err();
        assert!(e.starts_with("x.yml:"), "{e}");
        assert!(validate(b"anything: [", Path::new("notes.txt")).is_ok());
        let e = validate(b"{\n\"a\": }", Path::new("x.json")).unwrap_err();
        assert!(e.starts_with("x.json:2:"), "{e}");
    }
}
