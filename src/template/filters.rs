//! Core filters whose Jinja2/Ansible behaviour differs from minijinja's
//! builtins (default with `boolean`, lenient `int`, Python `string`), plus
//! Ansible's small value filters (bool, mandatory, ternary, type_debug).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::ansible_bool;
use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("bool", |v: &Value| {
        if v.is_undefined() {
            Err(undefined())
        } else {
            Ok(ansible_bool::to_bool(v))
        }
    });
    env.add_filter("int", int);
    env.add_filter("float", float);
    env.add_filter("string", string);
    env.add_filter("join", join);
    env.add_filter("mandatory", mandatory);
    env.add_filter("ternary", ternary);
    env.add_filter("type_debug", type_debug);
}

fn undefined() -> Error {
    Error::from(ErrorKind::UndefinedError)
}

/// `default(value='', boolean=False)`: replaces undefined, and with
/// `boolean` any false value.
fn default(
    value: &Value,
    other: Option<Value>,
    boolean: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let boolean = match kwargs.get::<Option<bool>>("boolean")? {
        Some(b) => b,
        None => boolean.unwrap_or(false),
    };
    let other = match kwargs.get::<Option<Value>>("default_value")? {
        Some(v) => Some(v),
        None => other,
    };
    kwargs.assert_all_used()?;
    if value.is_undefined() || (boolean && !value.is_true()) {
        Ok(other.unwrap_or_else(|| Value::from("")))
    } else {
        Ok(value.clone())
    }
}

/// Python's `int(s, base)` for strings: whitespace, sign, `_` separators and
/// a `0x`/`0o`/`0b` prefix matching the base (any prefix with base 0).
fn parse_int(s: &str, base: u32) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let prefixed = |p: &str| lower.strip_prefix(p).map(|r| r.to_string());
    let (base, body) = match base {
        0 => match (prefixed("0x"), prefixed("0o"), prefixed("0b")) {
            (Some(r), _, _) => (16, r),
            (_, Some(r), _) => (8, r),
            (_, _, Some(r)) => (2, r),
            _ => (10, lower.clone()),
        },
        16 => (16, prefixed("0x").unwrap_or(lower.clone())),
        8 => (8, prefixed("0o").unwrap_or(lower.clone())),
        2 => (2, prefixed("0b").unwrap_or(lower.clone())),
        b => (b, lower.clone()),
    };
    let body = body.strip_prefix('_').unwrap_or(&body);
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let n = i128::from_str_radix(&body.replace('_', ""), base).ok()?;
    Some(if neg { -n } else { n })
}

/// Python's `float(s)`.
fn parse_float(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.contains("__") || s.starts_with('_') || s.ends_with('_') {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

/// Jinja2's `int(value, default=0, base=10)`: what cannot be read as a number
/// gives the default, it is never an error.
fn int(
    value: &Value,
    default: Option<Value>,
    base: Option<u32>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .or(default)
        .unwrap_or(Value::from(0));
    let base = kwargs.get::<Option<u32>>("base")?.or(base).unwrap_or(10);
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(undefined()),
        ValueKind::Bool => Value::from(i64::from(value.is_true())),
        ValueKind::Number if value.is_integer() => value.clone(),
        ValueKind::Number => match f64::try_from(value.clone()) {
            Ok(f) if f.is_finite() => Value::from(f.trunc() as i64),
            _ => default,
        },
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            match parse_int(s, base) {
                Some(i) => Value::from(i),
                None => match parse_float(s) {
                    Some(f) if f.is_finite() => Value::from(f.trunc() as i64),
                    _ => default,
                },
            }
        }
        _ => default,
    })
}

/// Jinja2's `float(value, default=0.0)`.
fn float(value: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = kwargs
        .get::<Option<Value>>("default")?
        .or(default)
        .unwrap_or(Value::from(0.0));
    kwargs.assert_all_used()?;
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(undefined()),
        ValueKind::Bool => Value::from(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone())
            .map(Value::from)
            .unwrap_or(default),
        ValueKind::String => parse_float(value.as_str().unwrap_or_default())
            .map(Value::from)
            .unwrap_or(default),
        _ => default,
    })
}

/// Python's `str()`: `True`, `None`, `['a']`.
fn string(value: &Value) -> Result<Value, Error> {
    Ok(Value::from(py_str(value)?))
}

/// `join(d='', attribute=None)` with Python's `str()` of each item.
fn join(value: &Value, sep: Option<String>, kwargs: Kwargs) -> Result<Value, Error> {
    let attribute = kwargs.get::<Option<String>>("attribute")?;
    let sep = kwargs
        .get::<Option<String>>("d")?
        .or(sep)
        .unwrap_or_default();
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(undefined());
    }
    if let Some(s) = value.as_str() {
        // Jinja2 joins the characters of a string.
        return Ok(Value::from(
            s.chars().map(String::from).collect::<Vec<_>>().join(&sep),
        ));
    }
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(attr) => get_path(&item, attr)?,
            None => item,
        };
        parts.push(py_str(&item)?);
    }
    Ok(Value::from(parts.join(&sep)))
}

/// `a.b.0` lookups as Jinja's `attribute=` arguments do them.
pub fn get_path(v: &Value, path: &str) -> Result<Value, Error> {
    let mut cur = v.clone();
    for part in path.split('.') {
        cur = match part.parse::<i64>() {
            Ok(i) if cur.kind() == ValueKind::Seq => cur.get_item(&Value::from(i))?,
            _ => cur.get_attr(part)?,
        };
    }
    Ok(cur)
}

/// `mandatory(msg=None)`: undefined is an error, worded as Ansible words it.
fn mandatory(value: &Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(match msg {
            Some(msg) => Error::new(ErrorKind::InvalidOperation, msg),
            None => Error::new(ErrorKind::UndefinedError, MANDATORY),
        });
    }
    Ok(value.clone())
}

/// Marker detail telling the error conversion to word the message like
/// Ansible's "Mandatory variable 'x' not defined."
pub const MANDATORY: &str = "mandatory";

/// `ternary(true_val, false_val, none_val=None)`.
fn ternary(
    value: &Value,
    true_val: Value,
    false_val: Value,
    none_val: Option<Value>,
) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(undefined());
    }
    if value.is_none() {
        if let Some(none_val) = none_val.filter(|v| !v.is_none()) {
            return Ok(none_val);
        }
    }
    Ok(if value.is_true() { true_val } else { false_val })
}

/// Python's type name of a value.
fn type_debug(value: &Value) -> Result<&'static str, Error> {
    Ok(match value.kind() {
        ValueKind::Undefined => return Err(undefined()),
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    })
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};
    use super::*;

    #[test]
    fn default_replaces_undefined_and_with_boolean_false_values() {
        // Ansible docs: {{ some_variable | default(5) }}
        assert_eq!(render("{{ nope | default(5) }}"), "5");
        assert_eq!(render("{{ nope | d('x') }}"), "x");
        assert_eq!(render("{{ nope | default }}"), "");
        assert_eq!(render("{{ empty | default('x') }}"), "");
        // Ansible docs: {{ lookup('env', 'MY_USER') | default('admin', true) }}
        assert_eq!(render("{{ empty | default('x', true) }}"), "x");
        assert_eq!(render("{{ empty | default('x', boolean=true) }}"), "x");
        assert_eq!(render("{{ zero | default(7, true) }}"), "7");
        assert_eq!(render("{{ zero | default(7) }}"), "0");
        assert_eq!(render("{{ dict.missing | default('m') }}"), "m");
    }

    #[test]
    fn bool_filter() {
        assert_eq!(render("{{ 'yes' | bool }}"), "True");
        assert_eq!(render("{{ 'On' | bool }}"), "True");
        assert_eq!(render("{{ 1 | bool }}"), "True");
        assert_eq!(render("{{ 'no' | bool }}"), "False");
        assert_eq!(render("{{ 'whatever' | bool }}"), "False");
        assert_eq!(render("{{ 2 | bool }}"), "False");
    }

    #[test]
    fn int_and_float_are_lenient_like_jinja2() {
        assert_eq!(parse_int(" 42 ", 10), Some(42));
        assert_eq!(parse_int("-1_000", 10), Some(-1000));
        assert_eq!(parse_int("0x1A", 16), Some(26));
        assert_eq!(parse_int("0o17", 0), Some(15));
        assert_eq!(parse_int("1__0", 10), None);
        assert_eq!(render("{{ '42' | int + 1 }}"), "43");
        assert_eq!(render("{{ '3.9' | int }}"), "3");
        assert_eq!(render("{{ 'abc' | int }}"), "0");
        assert_eq!(render("{{ 'abc' | int(7) }}"), "7");
        assert_eq!(render("{{ 'ff' | int(base=16) }}"), "255");
        assert_eq!(render("{{ true | int }}"), "1");
        assert_eq!(render("{{ 2.7 | int }}"), "2");
        assert_eq!(render("{{ '1.5' | float }}"), "1.5");
        assert_eq!(render("{{ '1e3' | float }}"), "1000.0");
        assert_eq!(render("{{ 'x' | float }}"), "0.0");
        assert_eq!(render("{{ 3 | float }}"), "3.0");
        assert!(render_err("{{ nope | int }}").contains("'nope' is undefined"));
    }

    #[test]
    fn string_and_join_use_python_str() {
        assert_eq!(render("{{ true | string }}"), "True");
        assert_eq!(render("{{ [1, 'a'] | string }}"), "[1, 'a']");
        assert_eq!(render("{{ [1, true, 'a'] | join(',') }}"), "1,True,a");
        assert_eq!(render("{{ ['a', 'b'] | join }}"), "ab");
        assert_eq!(
            render("{{ users | join(', ', attribute='name') }}"),
            "alice, bob"
        );
    }

    #[test]
    fn mandatory_names_the_variable() {
        assert_eq!(render("{{ 'x' | mandatory }}"), "x");
        let err = render_err("{{ nope | mandatory }}");
        assert!(
            err.contains("Mandatory variable 'nope' not defined."),
            "{err}"
        );
        let err = render_err("{{ nope | mandatory('set nope please') }}");
        assert!(err.contains("set nope please"), "{err}");
    }

    #[test]
    fn ternary_filter() {
        // Ansible docs: {{ (status == 'needs_restart') | ternary('restart', 'continue') }}
        assert_eq!(
            render("{{ ('a' == 'a') | ternary('restart', 'continue') }}"),
            "restart"
        );
        assert_eq!(
            render("{{ false | ternary('restart', 'continue') }}"),
            "continue"
        );
        assert_eq!(render("{{ none | ternary('yes', 'no', 'null') }}"), "null");
        assert_eq!(render("{{ none | ternary('yes', 'no') }}"), "no");
    }

    #[test]
    fn type_debug_names_python_types() {
        assert_eq!(render("{{ 'a' | type_debug }}"), "str");
        assert_eq!(render("{{ 1 | type_debug }}"), "int");
        assert_eq!(render("{{ 1.5 | type_debug }}"), "float");
        assert_eq!(render("{{ [] | type_debug }}"), "list");
        assert_eq!(render("{{ {} | type_debug }}"), "dict");
        assert_eq!(render("{{ none | type_debug }}"), "NoneType");
        assert_eq!(render("{{ true | type_debug }}"), "bool");
    }
}
