//! The one place that knows which YAML crate we use.
//!
//! serde_yaml is archived, so we parse with serde-saphyr. Everything else in
//! condaplay sees either a [`Node`] (a YAML tree where every value knows its
//! file, line and column, for error messages) or a `serde_json::Value` (for
//! variables and templating). Integers written with a leading zero are octal,
//! as PyYAML reads them, so `mode: 0644` means what Ansible users expect.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// Where a value came from: shown in every error about it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Loc {
    pub file: Arc<PathBuf>,
    pub line: u64,
    pub col: u64,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
        }
    }
}

impl Loc {
    pub fn file(path: &Path) -> Loc {
        Loc { file: Arc::new(path.to_path_buf()), line: 0, col: 0 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{loc}: invalid YAML: {msg}")]
    Syntax { loc: Loc, msg: String },
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write YAML: {0}")]
    Emit(String),
}

/// A YAML value with its location.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys keep their order and location; non-string keys are stringified.
    Map(Vec<(Key, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

impl Node {
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// A short word for error messages ("a mapping", "a string", ...).
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The plain data, without locations.
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Kind::Str(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => Value::Object(
                entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect(),
            ),
        }
    }

    fn with_file(mut self, file: &Arc<PathBuf>) -> Node {
        self.loc.file = file.clone();
        match &mut self.kind {
            Kind::Seq(items) => {
                let taken = std::mem::take(items);
                *items = taken.into_iter().map(|n| n.with_file(file)).collect();
            }
            Kind::Map(entries) => {
                let taken = std::mem::take(entries);
                *entries = taken
                    .into_iter()
                    .map(|(mut k, v)| {
                        k.loc.file = file.clone();
                        (k, v.with_file(file))
                    })
                    .collect();
            }
            _ => {}
        }
        self
    }
}

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.legacy_octal_numbers = true;
    options
}

/// Parses one YAML document. An empty document is `Kind::Null`.
pub fn parse_str(text: &str, file: &Path) -> Result<Node, YamlError> {
    let file = Arc::new(file.to_path_buf());
    if text.trim().is_empty() || text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        return Ok(Node { loc: Loc { file, line: 1, col: 1 }, kind: Kind::Null });
    }
    let parsed: Result<Spanned<Raw>, _> = serde_saphyr::from_str_with_options(text, options());
    match parsed {
        Ok(sp) => Ok(Node::convert(sp, text).with_file(&file)),
        Err(e) => {
            let (line, col) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let msg = e.without_snippet().to_string();
            let msg = msg.lines().next().unwrap_or("").to_string();
            Err(YamlError::Syntax { loc: Loc { file, line, col }, msg })
        }
    }
}

/// Reads and parses a YAML file.
pub fn parse_file(path: &Path) -> Result<Node, YamlError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| YamlError::Read { path: path.to_path_buf(), source })?;
    parse_str(&text, path)
}

/// Plain data from YAML text, for places that need no locations.
pub fn to_json(text: &str, file: &Path) -> Result<Value, YamlError> {
    Ok(parse_str(text, file)?.to_json())
}

/// YAML text for a value (the `to_yaml` filter, inventory `--list` in YAML).
pub fn to_string(value: &Value) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|e| YamlError::Emit(e.to_string()))
}

/// Raw tree as serde-saphyr hands it over; turned into [`Node`] right away.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl Node {
    /// `text` is the source: YAML 1.1 reads `y` and `n` as booleans but PyYAML
    /// (and so Ansible) keeps them as strings, and only the source tells them apart.
    fn convert(sp: Spanned<Raw>, text: &str) -> Node {
        let loc = Loc {
            file: Arc::default(),
            line: sp.referenced.line(),
            col: sp.referenced.column(),
        };
        let kind = match sp.value {
            Raw::Null => Kind::Null,
            Raw::Bool(b) => {
                let span = sp.referenced.span();
                let word = span.byte_offset().and_then(|start| {
                    let start = usize::try_from(start).ok()?;
                    let len = usize::try_from(span.byte_len()?).ok()?;
                    text.get(start..start + len)
                });
                match word {
                    Some(w @ ("y" | "Y" | "n" | "N")) => Kind::Str(w.to_string()),
                    _ => Kind::Bool(b),
                }
            }
            Raw::Int(i) => Kind::Int(i),
            Raw::Float(f) => Kind::Float(f),
            Raw::Str(s) => Kind::Str(s),
            Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| Node::convert(i, text)).collect()),
            Raw::Map(entries) => Kind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = Node::convert(k, text);
                        let name = match &key.kind {
                            Kind::Str(s) => s.clone(),
                            Kind::Null => "null".into(),
                            _ => key.to_json().to_string(),
                        };
                        (Key { name, loc: key.loc }, Node::convert(v, text))
                    })
                    .collect(),
            ),
        };
        Node { loc, kind }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Raw, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        i64::try_from(v).map(Raw::Int).or(Ok(Raw::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Raw, E> {
        Ok(Raw::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some((k, v)) = map.next_entry::<Spanned<Raw>, Spanned<Raw>>()? {
            entries.push((k, v));
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_str(text, Path::new("t.yml")).unwrap()
    }

    #[test]
    fn locations_point_at_values() {
        let n = parse("a: 1\nb:\n  - x\n  - y: 2\n");
        let b = n.get("b").unwrap();
        let items = b.as_seq().unwrap();
        assert_eq!(items[0].loc.line, 3);
        assert_eq!(items[1].get("y").unwrap().loc.line, 4);
        assert_eq!(n.as_map().unwrap()[1].0.loc.line, 2);
        assert_eq!(items[0].loc.to_string(), "t.yml:3:5");
    }

    #[test]
    fn leading_zero_is_octal_like_pyyaml() {
        assert_eq!(parse("mode: 0644").get("mode").unwrap().kind, Kind::Int(0o644));
        assert_eq!(parse("mode: '0644'").get("mode").unwrap().kind, Kind::Str("0644".into()));
    }

    #[test]
    fn scalars_and_empty_documents() {
        let n = parse("y: n\nyes_: yes\n");
        assert_eq!(n.to_json(), serde_json::json!({"y": "n", "yes_": true}));
        let n = parse("a: true\nb: ~\nc: 1.5\nd: hello\n");
        assert_eq!(n.to_json(), serde_json::json!({"a": true, "b": null, "c": 1.5, "d": "hello"}));
        assert!(parse("# only a comment\n").is_null());
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let err = parse_str("a: [1, 2\nb: 3\n", Path::new("bad.yml")).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("bad.yml:"), "{text}");
    }

    #[test]
    fn anchors_and_merge_keys() {
        let n = parse("base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n");
        assert_eq!(n.get("other").unwrap().to_json(), serde_json::json!({"x": 1, "y": 2}));
    }

    #[test]
    fn round_trips_through_text() {
        let v = serde_json::json!({"a": [1, "two"], "b": {"c": null}});
        let text = to_string(&v).unwrap();
        assert_eq!(to_json(&text, Path::new("x")).unwrap(), v);
    }
}
