//! Encrypted variables files for the engine (`vars_files`, `group_vars`).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::{Identities, VaultError, crypt, dotenv, find_identity, fsutil};

/// What the plaintext inside an age file is, judged by its inner name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inner {
    Dotenv,
    Yaml,
    Json,
    Other,
}

/// `x.env.age` → `x.env`; a name without `.age` is kept.
pub fn inner_path(path: &Path) -> PathBuf {
    match path.to_str().and_then(|s| s.strip_suffix(".age")) {
        Some(s) if !s.is_empty() && !s.ends_with('/') => PathBuf::from(s),
        _ => path.to_path_buf(),
    }
}

pub fn inner_kind(inner: &Path) -> Inner {
    let name = inner.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = inner.extension().and_then(|e| e.to_str()).unwrap_or("");
    if name == ".env" || ext == "env" {
        Inner::Dotenv
    } else if ext == "yml" || ext == "yaml" {
        Inner::Yaml
    } else if ext == "json" {
        Inner::Json
    } else {
        Inner::Other
    }
}

/// Decrypts a vars file in memory: YAML mapping (`*.yml.age`, `*.yaml.age`,
/// `*.json.age`, or anything else that parses as a YAML mapping) or `.env`
/// KEY=VALUE lines (`*.env.age`, or `.env` as inner name). Returns the vars and
/// every secret string in it (leaf string values, for masking).
pub fn load_vars_file(
    path: &Path,
    identity: Option<&Path>,
) -> Result<(Map<String, Value>, Vec<String>), VaultError> {
    let ids = Identities::load(&find_identity(identity)?)?;
    load_vars_with(path, &ids)
}

/// [`load_vars_file`] with identities loaded once by the caller, so a
/// passphrase-protected identity is asked for once per run, not per file.
pub fn load_vars_with(
    path: &Path,
    ids: &Identities,
) -> Result<(Map<String, Value>, Vec<String>), VaultError> {
    let ciphertext = fsutil::read(path)?;
    let plain = crypt::decrypt_bytes(&ciphertext, ids, path)?;
    let inner = inner_path(path);
    let text = std::str::from_utf8(&plain).map_err(|_| VaultError::Vars {
        file: inner.clone(),
        msg: "plaintext is not UTF-8 text".into(),
    })?;
    let vars = parse_vars(text, &inner)?;
    let mut secrets = Vec::new();
    for v in vars.values() {
        collect_strings(v, &mut secrets);
    }
    secrets.sort();
    secrets.dedup();
    Ok((vars, secrets))
}

/// Parses decrypted vars text by the rules of [`load_vars_file`].
pub fn parse_vars(text: &str, inner: &Path) -> Result<Map<String, Value>, VaultError> {
    let from_env = |text: &str| -> Result<Map<String, Value>, VaultError> {
        Ok(dotenv::parse_dotenv(text, inner)?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    };
    match inner_kind(inner) {
        Inner::Dotenv => from_env(text),
        kind => {
            let parsed = crate::yaml::parse_str(text, inner);
            match parsed.map(|n| n.to_json()) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(Value::Null) => Ok(Map::new()),
                Ok(other) if kind == Inner::Other => {
                    from_env(text).map_err(|_| not_mapping(inner, &other))
                }
                Ok(other) => Err(not_mapping(inner, &other)),
                Err(e) if kind == Inner::Other => from_env(text).map_err(|_| VaultError::Yaml(e)),
                Err(e) => Err(VaultError::Yaml(e)),
            }
        }
    }
}

fn not_mapping(inner: &Path, got: &Value) -> VaultError {
    let what = match got {
        Value::Array(_) => "a list",
        Value::String(_) => "a string",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        _ => "something else",
    };
    VaultError::Vars {
        file: inner.to_path_buf(),
        msg: format!("expected a mapping of variables, found {what}"),
    }
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.is_empty() => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| collect_strings(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_names() {
        assert_eq!(
            inner_path(Path::new("a/x.env.age")),
            PathBuf::from("a/x.env")
        );
        assert_eq!(
            inner_kind(&inner_path(Path::new("a/x.env.age"))),
            Inner::Dotenv
        );
        assert_eq!(
            inner_kind(&inner_path(Path::new("a/.env.age"))),
            Inner::Dotenv
        );
        assert_eq!(
            inner_kind(&inner_path(Path::new("a/x.yml.age"))),
            Inner::Yaml
        );
        assert_eq!(
            inner_kind(&inner_path(Path::new("a/x.secret"))),
            Inner::Other
        );
    }

    #[test]
    fn yaml_nested_secrets_are_collected() {
        let m = parse_vars(
            "db:\n  password: pw1\n  port: 5432\nkeys: [k1, k2]\n",
            Path::new("s.yml"),
        )
        .unwrap();
        assert_eq!(m["db"]["port"], 5432);
        let mut s = Vec::new();
        m.values().for_each(|v| collect_strings(v, &mut s));
        assert_eq!(s, vec!["pw1", "k1", "k2"]);
    }

    #[test]
    fn unknown_extension_tries_yaml_then_dotenv() {
        let m = parse_vars("a: 1\n", Path::new("s.secret")).unwrap();
        assert_eq!(m["a"], 1);
        let m = parse_vars("A=1\nB=two\n", Path::new("s.secret")).unwrap();
        assert_eq!(m["B"], "two");
        let e = parse_vars("- a\n", Path::new("s.yml"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(e, "s.yml: expected a mapping of variables, found a list");
    }
}
