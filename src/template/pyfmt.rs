//! Python's spelling of values: Ansible renders `{{ flag }}` as `True`, a list
//! as `['a', 'b']`, and `to_json` writes what Python's `json.dumps` writes.
//! Playbooks and the files they template depend on those exact strings.

use std::fmt::Write;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

fn undefined() -> Error {
    Error::from(ErrorKind::UndefinedError)
}

/// Python's `str(value)`.
pub fn py_str(v: &Value) -> Result<String, Error> {
    match v.kind() {
        ValueKind::String => Ok(v.as_str().unwrap_or_default().to_string()),
        _ => py_repr(v),
    }
}

/// Python's `repr(value)`: strings quoted, containers recursively.
pub fn py_repr(v: &Value) -> Result<String, Error> {
    let mut out = String::new();
    write_repr(&mut out, v)?;
    Ok(out)
}

fn write_repr(out: &mut String, v: &Value) -> Result<(), Error> {
    match v.kind() {
        ValueKind::Undefined => return Err(undefined()),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&py_number(v)),
        ValueKind::String => write_str_repr(out, v.as_str().unwrap_or_default()),
        ValueKind::Bytes => {
            let bytes = v.as_bytes().unwrap_or_default();
            out.push('b');
            write_str_repr(out, &String::from_utf8_lossy(bytes));
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            for (i, item) in v.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &item)?;
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            for (i, key) in v.try_iter()?.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &key)?;
                out.push_str(": ");
                write_repr(out, &v.get_item(&key)?)?;
            }
            out.push('}');
        }
        _ => write!(out, "{v}").map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))?,
    }
    Ok(())
}

fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

/// A number as Python prints it (`3`, `2.5`, `3.0`, `1e+16`).
pub fn py_number(v: &Value) -> String {
    if v.is_integer() {
        // `as_i64` would also take an integral float.
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(f) => py_float(f),
        Err(_) => v.to_string(),
    }
}

/// Python's float repr: shortest round-trip digits, positional between 1e-4
/// and 1e16, scientific with a signed two-digit exponent outside.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = f.to_string();
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Options of Python's `json.dumps` that Ansible's JSON filters use.
#[derive(Clone, Copy, Debug)]
pub struct JsonStyle {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

/// `json.dumps(value, indent=..., sort_keys=...)` byte for byte.
pub fn py_json(v: &Value, style: JsonStyle) -> Result<String, Error> {
    let mut out = String::new();
    write_json(&mut out, v, style, 0)?;
    Ok(out)
}

fn newline(out: &mut String, style: JsonStyle, depth: usize) {
    if let Some(n) = style.indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * depth));
    }
}

fn write_json(out: &mut String, v: &Value, style: JsonStyle, depth: usize) -> Result<(), Error> {
    let item_sep = if style.indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined => return Err(undefined()),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if v.is_integer() {
                out.push_str(&py_number(v));
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                out.push_str(&match f {
                    f if f.is_nan() => "NaN".into(),
                    f if f.is_infinite() && f > 0.0 => "Infinity".into(),
                    f if f.is_infinite() => "-Infinity".into(),
                    f => py_float(f),
                });
            }
        }
        ValueKind::String => {
            write_json_str(out, v.as_str().unwrap_or_default(), style.ensure_ascii)
        }
        ValueKind::Bytes => {
            let s = String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned();
            write_json_str(out, &s, style.ensure_ascii);
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, style, depth + 1);
                write_json(out, item, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push(']');
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in v.try_iter()? {
                let value = v.get_item(&key)?;
                let key = match key.kind() {
                    ValueKind::String => key.as_str().unwrap_or_default().to_string(),
                    ValueKind::None => "null".into(),
                    ValueKind::Bool => if key.is_true() { "true" } else { "false" }.into(),
                    _ => py_str(&key)?,
                };
                entries.push((key, value));
            }
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, style, depth + 1);
                write_json_str(out, key, style.ensure_ascii);
                out.push_str(": ");
                write_json(out, value, style, depth + 1)?;
            }
            newline(out, style, depth);
            out.push('}');
        }
        _ => write_json_str(out, &v.to_string(), style.ensure_ascii),
    }
    Ok(())
}

fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(json: serde_json::Value) -> Value {
        Value::from_serialize(&json)
    }

    #[test]
    fn str_of_scalars_is_pythons() {
        assert_eq!(py_str(&Value::from(true)).unwrap(), "True");
        assert_eq!(py_str(&Value::from(())).unwrap(), "None");
        assert_eq!(py_str(&Value::from("a'b")).unwrap(), "a'b");
        assert_eq!(py_str(&Value::from(3)).unwrap(), "3");
        assert_eq!(py_str(&Value::from(3.0)).unwrap(), "3.0");
        assert_eq!(py_str(&Value::from(0.1)).unwrap(), "0.1");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1e15), "1000000000000000.0");
        assert_eq!(py_float(0.00001), "1e-05");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(-2.5e-7), "-2.5e-07");
        assert!(py_str(&Value::UNDEFINED).is_err());
    }

    #[test]
    fn repr_of_containers_is_pythons() {
        let val = v(serde_json::json!({"a": [1, "x", null, true], "b": "it's", "c": {"d": 1.5}}));
        assert_eq!(
            py_str(&val).unwrap(),
            r#"{'a': [1, 'x', None, True], 'b': "it's", 'c': {'d': 1.5}}"#
        );
        assert_eq!(py_repr(&Value::from("a\nb\\")).unwrap(), r"'a\nb\\'");
        assert_eq!(py_repr(&Value::from("'\"")).unwrap(), r#"'\'"'"#);
    }

    #[test]
    fn json_matches_python_dumps() {
        let val = v(serde_json::json!({"b": [1, 2.0, "é"], "a": {}, "c": []}));
        let compact = JsonStyle {
            indent: None,
            sort_keys: false,
            ensure_ascii: true,
        };
        // python3 -c 'import json;print(json.dumps({"b":[1,2.0,"é"],"a":{},"c":[]}))'
        assert_eq!(
            py_json(&val, compact).unwrap(),
            r#"{"b": [1, 2.0, "\u00e9"], "a": {}, "c": []}"#
        );
        let nice = JsonStyle {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: true,
        };
        assert_eq!(
            py_json(&val, nice).unwrap(),
            "{\n    \"a\": {},\n    \"b\": [\n        1,\n        2.0,\n        \"\\u00e9\"\n    ],\n    \"c\": []\n}"
        );
        let emoji = Value::from("😀\u{1}");
        assert_eq!(py_json(&emoji, compact).unwrap(), r#""\ud83d\ude00\u0001""#);
    }
}
