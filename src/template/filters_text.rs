//! String filters from Ansible: base64, shell quoting, paths, hashes and
//! crypt(3) password hashes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};

use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("b64encode", b64encode);
    env.add_filter("b64decode", b64decode);
    env.add_filter("quote", quote);
    env.add_filter("basename", |p: &str| basename(p).to_string());
    env.add_filter("dirname", |p: &str| dirname(p).to_string());
    env.add_filter("splitext", splitext);
    env.add_filter("expanduser", expanduser);
    env.add_filter("hash", hash);
    env.add_filter("checksum", |v: &Value| hash(v, Some("sha1".into())));
    env.add_filter("sha1", |v: &Value| hash(v, Some("sha1".into())));
    env.add_filter("md5", |v: &Value| hash(v, Some("md5".into())));
    env.add_filter("password_hash", password_hash);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn text(v: &Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    py_str(v)
}

/// Only UTF-8 text is supported; Ansible's `encoding=` names it.
fn check_encoding(kwargs: &Kwargs) -> Result<(), Error> {
    let enc = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    match enc.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8" | "utf8") => Ok(()),
        Some(other) => Err(invalid(format!(
            "unsupported encoding '{other}' (utf-8 only)"
        ))),
    }
}

fn b64encode(v: &Value, kwargs: Kwargs) -> Result<String, Error> {
    check_encoding(&kwargs)?;
    Ok(STANDARD.encode(text(v)?))
}

fn b64decode(v: &Value, kwargs: Kwargs) -> Result<String, Error> {
    check_encoding(&kwargs)?;
    let s = text(v)?;
    let bytes = STANDARD
        .decode(s.trim())
        .map_err(|e| invalid(format!("b64decode: not valid base64: {e}")))?;
    // Ansible decodes as UTF-8 and replaces what is not.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Python's `shlex.quote`: safe words as they are, anything else in single
/// quotes with `'` written as `'"'"'`. None quotes as `''`.
fn quote(v: &Value) -> Result<String, Error> {
    let s = if v.is_none() { String::new() } else { text(v)? };
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c);
    if s.is_empty() {
        return Ok("''".into());
    }
    if s.chars().all(safe) {
        return Ok(s);
    }
    Ok(format!("'{}'", s.replace('\'', "'\"'\"'")))
}

/// Python's `os.path.basename`: what follows the last `/`.
pub fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Python's `os.path.dirname`: up to the last `/`, trailing slashes removed
/// unless it is all slashes.
pub fn dirname(p: &str) -> &str {
    let head = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => return "",
    };
    if head.chars().all(|c| c == '/') {
        head
    } else {
        head.trim_end_matches('/')
    }
}

/// Python's `os.path.splitext`: `[root, ext]`, a leading dot is no extension.
fn splitext(p: &str) -> Value {
    let base = basename(p);
    let dir_len = p.len() - base.len();
    let stem_start = base.len() - base.trim_start_matches('.').len();
    match base.rfind('.') {
        Some(i) if i > stem_start => {
            Value::from(vec![p[..dir_len + i].to_string(), base[i..].to_string()])
        }
        _ => Value::from(vec![p.to_string(), String::new()]),
    }
}

/// `~` and `~/...` with the controller's HOME.
fn expanduser(p: &str) -> String {
    match std::env::var("HOME") {
        Ok(home) if p == "~" => home,
        Ok(home) if p.starts_with("~/") => format!("{home}{}", &p[1..]),
        _ => p.to_string(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `hash('sha1')` over the UTF-8 text, hex digest.
fn hash(v: &Value, algo: Option<String>) -> Result<String, Error> {
    use sha2::Digest;
    let data = text(v)?;
    let data = data.as_bytes();
    let algo = algo.unwrap_or_else(|| "sha1".into());
    Ok(match algo.as_str() {
        "md5" => hex(&md5::Md5::digest(data)),
        "sha1" => hex(&sha1::Sha1::digest(data)),
        "sha224" => hex(&sha2::Sha224::digest(data)),
        "sha256" => hex(&sha2::Sha256::digest(data)),
        "sha384" => hex(&sha2::Sha384::digest(data)),
        "sha512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: unsupported algorithm '{other}' (md5, sha1, sha224, sha256, sha384, sha512)"
            )));
        }
    })
}

/// Characters crypt(3) salts are made of.
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn random_salt(len: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| SALT_CHARS[rng.gen_range(0..SALT_CHARS.len())] as char)
        .collect()
}

/// `password_hash(hashtype='sha512', salt=None, rounds=None)`: crypt(3)
/// SHA-crypt strings (`$6$salt$hash`), the rounds field only when not the
/// default 5000, exactly as glibc and Ansible write them.
fn password_hash(
    v: &Value,
    hashtype: Option<String>,
    salt: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let hashtype = kwargs
        .get::<Option<String>>("hashtype")?
        .or(hashtype)
        .unwrap_or_else(|| "sha512".into());
    let salt = kwargs.get::<Option<String>>("salt")?.or(salt);
    let rounds = kwargs.get::<Option<usize>>("rounds")?;
    let salt_size = kwargs.get::<Option<usize>>("salt_size")?.unwrap_or(16);
    kwargs.assert_all_used()?;
    let password = text(v)?;
    let salt = salt.unwrap_or_else(|| random_salt(salt_size.min(16)));
    if let Some(bad) = salt
        .chars()
        .find(|c| !SALT_CHARS.contains(&(*c as u8)) || !c.is_ascii())
    {
        return Err(invalid(format!(
            "password_hash: invalid character {bad:?} in salt"
        )));
    }
    // crypt(3) uses at most 16 salt characters.
    let salt: String = salt.chars().take(16).collect();
    let n = rounds.unwrap_or(sha_crypt::ROUNDS_DEFAULT);
    let fail = |e: sha_crypt::CryptError| invalid(format!("password_hash: {e:?}"));
    let (id, hash) = match hashtype.as_str() {
        "sha512" | "sha512_crypt" => {
            let params = sha_crypt::Sha512Params::new(n).map_err(fail)?;
            (
                "6",
                sha_crypt::sha512_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                    .map_err(fail)?,
            )
        }
        "sha256" | "sha256_crypt" => {
            let params = sha_crypt::Sha256Params::new(n).map_err(fail)?;
            (
                "5",
                sha_crypt::sha256_crypt_b64(password.as_bytes(), salt.as_bytes(), &params)
                    .map_err(fail)?,
            )
        }
        other => {
            return Err(invalid(format!(
                "password_hash: unsupported hash type '{other}' (sha512, sha256)"
            )));
        }
    };
    Ok(match rounds {
        Some(r) if r != sha_crypt::ROUNDS_DEFAULT => format!("${id}$rounds={r}${salt}${hash}"),
        _ => format!("${id}${salt}${hash}"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};
    use super::*;

    #[test]
    fn base64_round_trip() {
        // Ansible docs: {{ encoded | b64decode }} / {{ decoded | string | b64encode }}
        assert_eq!(
            render("{{ 'Hello World' | b64encode }}"),
            "SGVsbG8gV29ybGQ="
        );
        assert_eq!(
            render("{{ 'SGVsbG8gV29ybGQ=' | b64decode }}"),
            "Hello World"
        );
        assert_eq!(render("{{ 'héllo' | b64encode | b64decode }}"), "héllo");
        assert_eq!(render("{{ 'aGk=' | b64decode(encoding='utf-8') }}"), "hi");
        assert!(
            render_err("{{ 'aGk=' | b64decode(encoding='utf-16') }}")
                .contains("unsupported encoding")
        );
        assert!(render_err("{{ '!!' | b64decode }}").contains("not valid base64"));
    }

    #[test]
    fn quote_like_shlex() {
        assert_eq!(
            render("{{ 'plain-word_1.txt' | quote }}"),
            "plain-word_1.txt"
        );
        assert_eq!(render("{{ 'two words' | quote }}"), "'two words'");
        assert_eq!(render("{{ \"it's\" | quote }}"), "'it'\"'\"'s'");
        assert_eq!(render("{{ '' | quote }}"), "''");
        assert_eq!(render("{{ '$HOME' | quote }}"), "'$HOME'");
        assert_eq!(render("{{ none | quote }}"), "''");
    }

    #[test]
    fn path_filters_like_os_path() {
        // Ansible docs: {{ '/etc/asdf/foo.txt' | basename }} -> foo.txt
        assert_eq!(render("{{ '/etc/asdf/foo.txt' | basename }}"), "foo.txt");
        assert_eq!(render("{{ '/etc/asdf/foo.txt' | dirname }}"), "/etc/asdf");
        assert_eq!(basename("/a/b/"), "");
        assert_eq!(dirname("/a/b/"), "/a/b");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("a"), "");
        assert_eq!(dirname("//a"), "//");
        assert_eq!(
            render("{{ 'nginx.conf' | splitext }}"),
            "['nginx', '.conf']"
        );
        assert_eq!(
            render("{{ '/etc/my.d/.bashrc' | splitext }}"),
            "['/etc/my.d/.bashrc', '']"
        );
        assert_eq!(render("{{ 'a.tar.gz' | splitext | last }}"), ".gz");
    }

    #[test]
    fn hash_filters() {
        // echo -n test | sha1sum / md5sum / sha256sum
        assert_eq!(
            render("{{ 'test' | hash('sha1') }}"),
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
        );
        assert_eq!(
            render("{{ 'test' | hash }}"),
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
        );
        assert_eq!(
            render("{{ 'test' | checksum }}"),
            "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3"
        );
        assert_eq!(
            render("{{ 'test' | hash('md5') }}"),
            "098f6bcd4621d373cade4e832627b4f6"
        );
        assert_eq!(
            render("{{ 'test' | md5 }}"),
            "098f6bcd4621d373cade4e832627b4f6"
        );
        assert_eq!(
            render("{{ 'test' | hash('sha256') }}"),
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
        assert_eq!(
            render("{{ 'test' | hash('sha512') }}"),
            "ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db27ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff"
        );
        assert!(render_err("{{ 'x' | hash('crc') }}").contains("unsupported algorithm"));
    }

    #[test]
    fn password_hash_matches_crypt3() {
        // openssl passwd -6 -salt saltsalt secret
        assert_eq!(
            render("{{ 'secret' | password_hash('sha512', 'saltsalt') }}"),
            "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1"
        );
        // Drepper's SHA-crypt specification, test vector 2: the salt is cut to 16 characters.
        assert_eq!(
            render(
                "{{ 'Hello world!' | password_hash('sha512', 'saltstringsaltstring', rounds=10000) }}"
            ),
            "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."
        );
        // openssl passwd -5 -salt saltsalt secret
        assert_eq!(
            render("{{ 'secret' | password_hash('sha256', 'saltsalt') }}"),
            "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA"
        );
        let random = render("{{ 'secret' | password_hash }}");
        assert!(
            random.starts_with("$6$") && random.len() == 3 + 16 + 1 + 86,
            "{random}"
        );
        assert!(render_err("{{ 'x' | password_hash('md5') }}").contains("unsupported hash type"));
    }
}
