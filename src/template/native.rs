//! Between template values and plain data (`serde_json::Value`), which is what
//! the rest of condaplay holds variables and module arguments in.

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};
use serde_json::Value as Json;

/// Plain data from a template value. An undefined anywhere inside is an error
/// (Ansible's strict undefined); other objects become their string form.
pub fn to_json(v: &Value) -> Result<Json, Error> {
    Ok(match v.kind() {
        ValueKind::Undefined => return Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::None => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => number(v),
        ValueKind::String => Json::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => Json::Array(
            v.try_iter()?
                .map(|item| to_json(&item))
                .collect::<Result<_, _>>()?,
        ),
        ValueKind::Map => {
            let mut map = serde_json::Map::new();
            for key in v.try_iter()? {
                let value = to_json(&v.get_item(&key)?)?;
                let key = match key.as_str() {
                    Some(s) => s.to_string(),
                    None => super::pyfmt::py_str(&key)?,
                };
                map.insert(key, value);
            }
            Json::Object(map)
        }
        ValueKind::Invalid => return Err(Error::new(ErrorKind::InvalidOperation, v.to_string())),
        _ => Json::String(v.to_string()),
    })
}

fn number(v: &Value) -> Json {
    // `as_i64` also takes integral floats: ask `is_integer` first so 3.0 stays a float.
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return Json::from(i);
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Json::from(u);
        }
    }
    match f64::try_from(v.clone()) {
        Ok(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Err(_) => Json::String(v.to_string()),
    }
}

/// A template value from plain data, built directly (several times faster
/// than going through serde).
pub fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(from_json).collect::<Vec<_>>()),
        Json::Object(map) => from_map(map),
    }
}

/// A template map from a plain map, keys in order.
pub fn from_map(map: &serde_json::Map<String, Json>) -> Value {
    Value::from_iter(
        map.iter()
            .map(|(k, v)| (Value::from(k.as_str()), from_json(v))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_keeps_types_and_order() {
        let data = json!({"z": 1, "a": [true, null, 2.5, 3.0, "s", {"k": -3}], "big": 18446744073709551615u64});
        assert_eq!(to_json(&from_json(&data)).unwrap(), data);
        let keys: Vec<_> = to_json(&from_json(&data))
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["z", "a", "big"]);
    }

    #[test]
    fn undefined_inside_is_an_error() {
        let v = Value::from(vec![Value::from(1), Value::UNDEFINED]);
        assert_eq!(to_json(&v).unwrap_err().kind(), ErrorKind::UndefinedError);
    }

    #[test]
    fn non_string_keys_become_python_strings() {
        let v = Value::from_iter([
            (Value::from(1), Value::from("a")),
            (Value::from(true), Value::from("b")),
        ]);
        assert_eq!(to_json(&v).unwrap(), json!({"1": "a", "True": "b"}));
    }
}
