//! Encrypting to recipients and decrypting with identities, all by the `age`
//! crate. Decryption reads the whole plaintext into memory first, so a
//! tampered or truncated file fails before a single byte is written anywhere.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use zeroize::Zeroizing;

use super::{Identities, RecipientEntry, VaultError};

/// Encrypts `plaintext` to every recipient, ASCII-armored. `file` names the
/// destination in errors.
pub fn encrypt_bytes(
    plaintext: &[u8],
    recipients: &[RecipientEntry],
    file: &Path,
) -> Result<Vec<u8>, VaultError> {
    let err = |msg: String| VaultError::Encrypt {
        file: file.to_path_buf(),
        msg,
    };
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.recipient()))
        .map_err(|e| err(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() * 4 / 3 + 512);
    let armor =
        ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor).map_err(|e| err(e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(armor)
        .map_err(|e| err(e.to_string()))?;
    writer
        .write_all(plaintext)
        .map_err(|e| err(e.to_string()))?;
    let armor = writer.finish().map_err(|e| err(e.to_string()))?;
    armor.finish().map_err(|e| err(e.to_string()))?;
    Ok(out)
}

/// Decrypts an age file (armored or binary) held in memory. On a file for
/// other recipients the error lists the file's recipient types and our public
/// key; on any damage it is an error and no plaintext is returned.
pub fn decrypt_bytes(
    ciphertext: &[u8],
    ids: &Identities,
    file: &Path,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let err = |msg: String| VaultError::Decrypt {
        file: file.to_path_buf(),
        msg,
    };
    let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(ciphertext))
        .map_err(|e| err(describe(&e, None)))?;
    if decryptor.is_scrypt() {
        return Err(err(
            "it is encrypted with a passphrase, not to recipients; decrypt it with `age -d`".into(),
        ));
    }
    let mut reader = match decryptor.decrypt(ids.iter()) {
        Ok(r) => r,
        Err(age::DecryptError::NoMatchingKeys) => {
            return Err(VaultError::NoMatch {
                file: file.to_path_buf(),
                stanzas: describe_stanzas(&stanza_types(ciphertext)),
                identity: ids.path.clone(),
                ours: ids.public.clone(),
            });
        }
        Err(e) => return Err(err(describe(&e, Some(ids)))),
    };
    // The plaintext is never longer than the ciphertext: reserve it all up
    // front so no reallocation leaves an unzeroized copy behind.
    let mut plain = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    if let Err(e) = reader.read_to_end(&mut plain) {
        return Err(err(format!("{e}: the file is damaged or was changed")));
    }
    Ok(plain)
}

/// What went wrong, in words that point at the cause.
fn describe(e: &age::DecryptError, ids: Option<&Identities>) -> String {
    use age::DecryptError as E;
    let identity = ids.map_or_else(String::new, |i| format!(" {}", i.path.display()));
    match e {
        E::DecryptionFailed => "decryption failed: the file is damaged or was changed".into(),
        E::InvalidHeader => "invalid age header: the file is damaged or not an age file".into(),
        E::InvalidMac => "header check failed: the file is damaged or was changed".into(),
        E::UnknownFormat => "not an age v1 file".into(),
        E::KeyDecryptionFailed => {
            format!(
                "could not unlock the identity{identity} (wrong passphrase, or no terminal to ask on)"
            )
        }
        E::ExcessiveWork { required, .. } => {
            format!(
                "the passphrase-protected identity{identity} needs scrypt work factor {required}, above the limit"
            )
        }
        E::Io(io) => format!("{io}: the file is damaged or was changed"),
        other => {
            let s = other.to_string();
            s.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("unreadable age file")
                .to_string()
        }
    }
}

/// The recipient stanza types in an age header (`X25519`, `ssh-ed25519`,
/// ...), read as text for the "no identity matches" message only.
pub fn stanza_types(ciphertext: &[u8]) -> Vec<String> {
    let mut reader = BufReader::new(ArmoredReader::new(ciphertext));
    let mut types = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if line.starts_with("---") {
            break;
        }
        if let Some(rest) = line.strip_prefix("-> ") {
            // age adds random `*-grease` stanzas to keep parsers honest;
            // they are nobody's key.
            if let Some(t) = rest
                .split_whitespace()
                .next()
                .filter(|t| !t.ends_with("-grease"))
            {
                types.push(t.to_string());
            }
        }
    }
    types
}

fn describe_stanzas(types: &[String]) -> String {
    if types.is_empty() {
        return "unknown recipients".into();
    }
    let mut counted: Vec<(String, usize)> = Vec::new();
    for t in types {
        match counted.iter_mut().find(|(n, _)| n == t) {
            Some((_, c)) => *c += 1,
            None => counted.push((t.clone(), 1)),
        }
    }
    let parts: Vec<String> = counted.iter().map(|(t, c)| format!("{c} {t}")).collect();
    format!("{} recipient(s)", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::super::identity::create_identity;
    use super::super::recipients::parse_recipient;
    use super::*;

    fn setup() -> (tempfile::TempDir, Identities, Vec<RecipientEntry>) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("id.txt");
        let public = create_identity(&p).unwrap();
        let ids = Identities::load(&p).unwrap();
        let r = vec![parse_recipient(&public).unwrap()];
        (dir, ids, r)
    }

    #[test]
    fn round_trip_is_armored() {
        let (_d, ids, r) = setup();
        let ct = encrypt_bytes(b"s3cret\n", &r, Path::new("x.age")).unwrap();
        assert!(ct.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        assert_eq!(stanza_types(&ct), vec!["X25519".to_string()]);
        let pt = decrypt_bytes(&ct, &ids, Path::new("x.age")).unwrap();
        assert_eq!(&pt[..], b"s3cret\n");
    }

    #[test]
    fn other_recipients_error_names_types_and_our_key() {
        let (_d, ids, _) = setup();
        let other = age::x25519::Identity::generate().to_public().to_string();
        let r = vec![parse_recipient(&other).unwrap()];
        let ct = encrypt_bytes(b"x", &r, Path::new("x.age")).unwrap();
        let e = decrypt_bytes(&ct, &ids, Path::new("x.age"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no identity matches"), "{e}");
        assert!(e.contains("1 X25519 recipient"), "{e}");
        assert!(e.contains(&ids.public), "{e}");
    }

    #[test]
    fn truncated_ciphertext_gives_no_plaintext() {
        let (_d, ids, r) = setup();
        let pt = vec![b'a'; 200_000];
        let ct = encrypt_bytes(&pt, &r, Path::new("x.age")).unwrap();
        // Cut whole armor lines off the end and re-close the armor, so the
        // armor is valid and only the age stream is short.
        let text = String::from_utf8(ct).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let mut cut = lines[..lines.len() - 40].join("\n");
        cut.push_str("\n-----END AGE ENCRYPTED FILE-----\n");
        assert!(decrypt_bytes(cut.as_bytes(), &ids, Path::new("x.age")).is_err());
    }
}
