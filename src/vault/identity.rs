//! Finding, loading and creating the identity (private key) that decrypts.
//!
//! Loading is age's cli-common `read_identities`, so every identity format the
//! `age` tool takes works here too: age identity files, passphrase-protected
//! (armored, encrypted) identity files and OpenSSH ed25519/rsa keys, encrypted
//! or not. Passphrases are asked on the terminal (pinentry when available).

use std::io::BufReader;
use std::path::{Path, PathBuf};

use age::cli_common::{StdinGuard, read_identities};
use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::{VaultError, fsutil};

/// The scrypt work factor (log2 N) accepted for passphrase-protected
/// identities: 2^20 is 1 GiB and a few seconds. age's own default is "4 above
/// what this machine does in a second", which in a debug build rejects files
/// made by a release `age`; the identity file is the user's own, so a fixed
/// generous bound is safe.
const MAX_WORK_FACTOR: u8 = 20;

/// The identities loaded from one file, with the public key(s) they answer
/// to, for messages ("our identity has public key ...").
pub struct Identities {
    pub path: PathBuf,
    pub public: String,
    ids: Vec<Box<dyn age::Identity>>,
}

impl Identities {
    pub fn load(path: &Path) -> Result<Identities, VaultError> {
        let name = path.to_str().ok_or(VaultError::BadPath {
            path: path.to_path_buf(),
            msg: "identity path is not UTF-8",
        })?;
        let ids = read_identities(
            vec![name.to_string()],
            Some(MAX_WORK_FACTOR),
            &mut StdinGuard::new(false),
        )
        .map_err(|e| VaultError::Identity {
            path: path.to_path_buf(),
            msg: one_line(&e.to_string()),
        })?;
        if ids.is_empty() {
            return Err(VaultError::Identity {
                path: path.to_path_buf(),
                msg: "contains no identity".into(),
            });
        }
        Ok(Identities {
            path: path.to_path_buf(),
            public: public_key_of(path),
            ids,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.ids.iter().map(|i| i.as_ref())
    }
}

/// age's messages run over several lines (with advice for its own CLI);
/// the first line is the fact.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unreadable")
        .to_string()
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// `~/.config/condaplay/identity.txt`: where `vault init` creates an identity.
pub fn default_identity_path() -> Option<PathBuf> {
    home().map(|h| h.join(".config/condaplay/identity.txt"))
}

fn env_identity() -> Option<PathBuf> {
    std::env::var_os("CONDAPLAY_IDENTITY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The identity file to use: `--identity`, `$CONDAPLAY_IDENTITY`,
/// `~/.config/condaplay/identity.txt`, then `~/.ssh/id_ed25519`. An explicit
/// choice must exist; the defaults are tried in turn.
pub fn find_identity(flag: Option<&Path>) -> Result<PathBuf, VaultError> {
    if let Some(p) = flag.map(Path::to_path_buf).or_else(env_identity) {
        if !p.exists() {
            return Err(VaultError::io(
                &p,
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        return Ok(p);
    }
    let candidates: Vec<PathBuf> = [
        default_identity_path(),
        home().map(|h| h.join(".ssh/id_ed25519")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(p) = candidates.iter().find(|p| p.is_file()) {
        return Ok(p.clone());
    }
    let searched = candidates
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(VaultError::NoIdentity { searched })
}

/// The public key(s) of an identity file, or a note saying why it is not
/// known without unlocking it.
pub fn public_key_of(path: &Path) -> String {
    match public_keys_of(path) {
        Ok(keys) => keys.join(", "),
        Err(why) => format!("({why})"),
    }
}

/// The public keys an identity file answers to. Reading them needs no
/// passphrase except for passphrase-protected age identities.
pub fn public_keys_of(path: &Path) -> Result<Vec<String>, String> {
    let bytes = std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| format!("unreadable: {e}"))?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
    if head.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        || head.starts_with("age-encryption.org/")
    {
        return Err("unknown: the identity is passphrase-protected".into());
    }
    if head.starts_with("-----BEGIN") {
        let id = age::ssh::Identity::from_buffer(BufReader::new(&bytes[..]), None)
            .map_err(|_| "not a valid ssh private key".to_string())?;
        let r = age::ssh::Recipient::try_from(id)
            .map_err(|_| "unsupported ssh key type".to_string())?;
        return Ok(vec![r.to_string()]);
    }
    let file = age::IdentityFile::from_buffer(BufReader::new(&bytes[..]))
        .map_err(|_| "not an identity file".to_string())?;
    let mut out = Vec::new();
    file.write_recipients_file(&mut out)
        .map_err(|_| "no age identity in the file".to_string())?;
    Ok(String::from_utf8_lossy(&out)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// Creates a new X25519 identity at `path` (0600, parent directory 0700,
/// never overwriting). Returns its public key.
pub fn create_identity(path: &Path) -> Result<String, VaultError> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| VaultError::io(dir, e))?;
    }
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    let secret = id.to_string();
    let text = Zeroizing::new(format!(
        "# condaplay vault identity: keep it secret, back it up.\n# public key: {public}\n{}\n",
        secret.expose_secret()
    ));
    fsutil::create_new_atomic(path, text.as_bytes(), 0o600)?;
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_identity_is_private_and_loads_with_its_public_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("cfg/identity.txt");
        let public = create_identity(&p).unwrap();
        assert!(public.starts_with("age1"));
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            std::fs::metadata(p.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        let ids = Identities::load(&p).unwrap();
        assert_eq!(ids.public, public);
        assert_eq!(ids.iter().count(), 1);
        // Never overwrites an existing identity.
        assert!(create_identity(&p).is_err());
        assert_eq!(Identities::load(&p).unwrap().public, public);
    }

    #[test]
    fn garbage_identity_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("id");
        std::fs::write(&p, "not a key\n").unwrap();
        let e = Identities::load(&p).err().unwrap().to_string();
        assert!(e.contains(&p.display().to_string()), "{e}");
    }
}
