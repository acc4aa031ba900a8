//! The recipients file: who every vault file is encrypted to.
//!
//! One public key per line: age X25519 (`age1...`), `ssh-ed25519` or `ssh-rsa`
//! (an OpenSSH `.pub` line, comment and all). Blank lines and `#` comments are
//! skipped. Parsing is the `age` crate's; we only add line numbers to errors.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use age::ssh::ParseRecipientKeyError;

use super::{VaultError, fsutil};

/// Where the recipients file is when nothing says otherwise (relative to the
/// current directory, i.e. the repository root).
pub const DEFAULT_RECIPIENTS: &str = "vault/recipients.txt";

/// One recipient from the file.
pub struct RecipientEntry {
    /// 1-based line in the recipients file (0 when it came from elsewhere).
    pub line: usize,
    /// `X25519`, `ssh-ed25519` or `ssh-rsa`: the stanza type age writes for it.
    pub kind: &'static str,
    /// The line as written (key plus any comment), trimmed.
    pub text: String,
    recipient: Box<dyn age::Recipient + Send>,
}

impl RecipientEntry {
    pub fn recipient(&self) -> &dyn age::Recipient {
        self.recipient.as_ref()
    }

    /// What makes two lines the same recipient: the key without comments.
    pub fn key_id(&self) -> String {
        key_id(&self.text)
    }
}

fn key_id(text: &str) -> String {
    text.split_whitespace()
        .take(if text.starts_with("ssh-") { 2 } else { 1 })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `--recipients`, else `$CONDAPLAY_RECIPIENTS`, else `vault/recipients.txt`.
pub fn recipients_path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os("CONDAPLAY_RECIPIENTS") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_RECIPIENTS),
    }
}

/// Parses one recipient. The error says what was expected and never repeats
/// the input, in case someone pasted a secret key by mistake.
pub fn parse_recipient(line: &str) -> Result<RecipientEntry, String> {
    let text = line.trim();
    if text.starts_with("AGE-SECRET-KEY-") || text.starts_with("-----BEGIN") {
        return Err(
            "this is a private key; a recipient is a public key (age1... or ssh-...)".into(),
        );
    }
    if text.starts_with("age1") {
        let mut words = text.splitn(2, char::is_whitespace);
        let key = words.next().unwrap_or("");
        let rest = words.next().unwrap_or("").trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err("expected nothing but a `# comment` after an age public key".into());
        }
        let r: age::x25519::Recipient = key.parse().map_err(|_| {
            "invalid age X25519 public key (plugin recipients are not supported)".to_string()
        })?;
        return Ok(RecipientEntry {
            line: 0,
            kind: "X25519",
            text: text.to_string(),
            recipient: Box::new(r),
        });
    }
    if text.starts_with("ssh-") || text.starts_with("ecdsa-") || text.starts_with("sk-") {
        return match text.parse::<age::ssh::Recipient>() {
            Ok(r) => {
                let kind = match r {
                    age::ssh::Recipient::SshRsa(..) => "ssh-rsa",
                    age::ssh::Recipient::SshEd25519(..) => "ssh-ed25519",
                };
                Ok(RecipientEntry {
                    line: 0,
                    kind,
                    text: text.to_string(),
                    recipient: Box::new(r),
                })
            }
            Err(ParseRecipientKeyError::RsaModulusTooSmall) => {
                Err("ssh-rsa key shorter than 2048 bits".into())
            }
            Err(ParseRecipientKeyError::RsaModulusTooLarge) => {
                Err("ssh-rsa key larger than age supports".into())
            }
            Err(ParseRecipientKeyError::Unsupported(t)) => Err(format!(
                "unsupported ssh key type {t}; use ssh-ed25519 or ssh-rsa"
            )),
            Err(_) => Err("invalid ssh public key; expected ssh-ed25519 or ssh-rsa".into()),
        };
    }
    Err("expected an age public key (age1...) or an ssh-ed25519 / ssh-rsa public key".into())
}

/// Parses recipients text; `path` is only for messages.
pub fn parse_recipients(text: &str, path: &Path) -> Result<Vec<RecipientEntry>, VaultError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut entry = parse_recipient(line).map_err(|msg| VaultError::BadRecipient {
            path: path.to_path_buf(),
            line: i + 1,
            msg,
        })?;
        entry.line = i + 1;
        out.push(entry);
    }
    Ok(out)
}

/// Reads the recipients file; a missing or empty file is an error that says
/// what to run.
pub fn read_recipients(path: &Path) -> Result<Vec<RecipientEntry>, VaultError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(VaultError::NoRecipientsFile {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(VaultError::io(path, e)),
    };
    let entries = parse_recipients(&text, path)?;
    if entries.is_empty() {
        return Err(VaultError::NoRecipients {
            path: path.to_path_buf(),
        });
    }
    Ok(entries)
}

/// Recipients named on the command line: a key itself, or a file of keys
/// (an OpenSSH `.pub`, another recipients file).
pub fn recipients_from_arg(arg: &str) -> Result<Vec<RecipientEntry>, VaultError> {
    let direct = parse_recipient(arg);
    if let Ok(entry) = direct {
        return Ok(vec![entry]);
    }
    let path = Path::new(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| VaultError::io(path, e))?;
        let entries = parse_recipients(&text, path)?;
        if entries.is_empty() {
            return Err(VaultError::NoRecipients {
                path: path.to_path_buf(),
            });
        }
        return Ok(entries);
    }
    Err(VaultError::BadRecipientArg(
        direct.err().unwrap_or_default(),
    ))
}

/// Appends the keys not already present. Returns, for each entry, whether it
/// was added (false: already there). Creates the file and its directory.
pub fn add_recipients(path: &Path, entries: &[RecipientEntry]) -> Result<Vec<bool>, VaultError> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(VaultError::io(path, e)),
    };
    let mut known: Vec<String> = parse_recipients(&text, path)?
        .iter()
        .map(RecipientEntry::key_id)
        .collect();
    let mut added = Vec::with_capacity(entries.len());
    for e in entries {
        let id = e.key_id();
        if known.contains(&id) {
            added.push(false);
            continue;
        }
        if text.is_empty() {
            text.push_str(
                "# Public keys every vault file is encrypted to (age1..., ssh-ed25519, ssh-rsa).\n",
            );
            text.push_str("# After changing this list, run `condaplay vault rekey FILE.age...`.\n");
        } else if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&e.text);
        text.push('\n');
        known.push(id);
        added.push(true);
    }
    if added.iter().any(|a| *a) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| VaultError::io(dir, e))?;
        }
        let mode = fsutil::existing_mode(path).unwrap_or(0o644);
        fsutil::write_atomic(path, text.as_bytes(), mode)?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@rust";

    fn age_pub() -> String {
        age::x25519::Identity::generate().to_public().to_string()
    }

    #[test]
    fn parses_age_and_ssh_with_comments_and_blank_lines() {
        let a = age_pub();
        let text = format!("# team\n\n{a} # bob\n{ED}\n");
        let r = parse_recipients(&text, Path::new("r.txt")).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[0].kind), (3, "X25519"));
        assert_eq!((r[1].line, r[1].kind), (4, "ssh-ed25519"));
        assert_eq!(r[1].key_id(), ED.rsplit_once(' ').unwrap().0);
    }

    #[test]
    fn bad_line_is_named_by_line_and_not_echoed() {
        let text = format!("{}\nAGE-SECRET-KEY-1QQQQ\n", age_pub());
        let e = parse_recipients(&text, Path::new("r.txt"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("r.txt:2: "), "{e}");
        assert!(!e.contains("QQQQ"), "{e}");
        let e = parse_recipients("hello\n", Path::new("r.txt"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("r.txt:1: expected an age public key"), "{e}");
    }

    #[test]
    fn missing_file_says_run_init() {
        let e = read_recipients(Path::new("/nonexistent/recipients.txt"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("condaplay vault init"), "{e}");
    }

    #[test]
    fn add_is_idempotent_and_ignores_comments() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("vault/recipients.txt");
        let a = age_pub();
        let e1 = recipients_from_arg(&a).unwrap();
        assert_eq!(add_recipients(&p, &e1).unwrap(), vec![true]);
        let e2 = recipients_from_arg(&format!("{a} # same key")).unwrap();
        assert_eq!(add_recipients(&p, &e2).unwrap(), vec![false]);
        let ed = recipients_from_arg(ED).unwrap();
        assert_eq!(add_recipients(&p, &ed).unwrap(), vec![true]);
        assert_eq!(read_recipients(&p).unwrap().len(), 2);
    }
}
