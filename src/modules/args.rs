//! A module's arguments after templating, with typed access whose errors
//! name the module and the argument.

use serde_json::{Map, Value};

use super::ModuleError;

#[derive(Debug, Clone)]
pub struct Args {
    pub module: &'static str,
    pub map: Map<String, Value>,
}

impl Args {
    pub fn new(module: &'static str, map: Map<String, Value>) -> Args {
        Args { module, map }
    }

    fn bad(&self, name: &str, expected: &str, got: &Value) -> ModuleError {
        ModuleError::BadArg {
            module: self.module,
            arg: name.to_string(),
            msg: format!("expected {expected}, got {got}"),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.map.get(name).filter(|v| !v.is_null())
    }

    /// A string argument; numbers and booleans are turned into text as Ansible does.
    pub fn str(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if *b { "True".into() } else { "False".into() })),
            Some(v) => Err(self.bad(name, "a string", v)),
        }
    }

    pub fn req_str(&self, name: &str) -> Result<String, ModuleError> {
        self.str(name)?.ok_or(ModuleError::Missing {
            module: self.module,
            arg: name.to_string(),
        })
    }

    pub fn str_or(&self, name: &str, default: &str) -> Result<String, ModuleError> {
        Ok(self.str(name)?.unwrap_or_else(|| default.to_string()))
    }

    /// A boolean with Ansible's spellings (yes/no, on/off, 1/0, true/false).
    pub fn bool(&self, name: &str, default: bool) -> Result<bool, ModuleError> {
        match self.raw(name) {
            None => Ok(default),
            Some(v) => to_bool(v).ok_or_else(|| self.bad(name, "a boolean", v)),
        }
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
            Some(Value::Number(n)) => Ok(n.as_f64().map(|f| f as i64)),
            Some(v @ Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.bad(name, "an integer", v)),
            Some(v) => Err(self.bad(name, "an integer", v)),
        }
    }

    /// A list of strings; a comma-separated string is a list too (as in Ansible).
    pub fn list(&self, name: &str) -> Result<Vec<String>, ModuleError> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.bad(name, "a list of strings", other)),
                })
                .collect(),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()),
            Some(v) => Err(self.bad(name, "a list", v)),
        }
    }

    /// One of the allowed words.
    pub fn choice(
        &self,
        name: &str,
        allowed: &[&str],
        default: &str,
    ) -> Result<String, ModuleError> {
        let v = self.str_or(name, default)?;
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(ModuleError::BadArg {
                module: self.module,
                arg: name.to_string(),
                msg: format!("value must be one of: {}, got: {v}", allowed.join(", ")),
            })
        }
    }

    /// A file mode as text for chmod. YAML 1.1 reads `0644` as the number 420,
    /// which is what Ansible gets too and treats as that octal mode.
    pub fn mode(&self, name: &str) -> Result<Option<String>, ModuleError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let n = n
                    .as_u64()
                    .ok_or_else(|| self.bad(name, "a mode", &Value::Number(n.clone())))?;
                Ok(Some(format!("0{n:o}")))
            }
            Some(Value::String(s)) => {
                let s = s.trim();
                let octal = !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b));
                let symbolic = !s.is_empty() && s.bytes().all(|b| b"ugoarwxXst+-=,".contains(&b));
                if octal || symbolic {
                    Ok(Some(s.to_string()))
                } else {
                    Err(self.bad(
                        name,
                        "an octal or symbolic mode",
                        &Value::String(s.to_string()),
                    ))
                }
            }
            Some(v) => Err(self.bad(name, "a mode", v)),
        }
    }
}

/// Ansible's boolean(): the spellings it accepts.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Value::Null => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Args {
        Args::new("t", v.as_object().unwrap().clone())
    }

    #[test]
    fn modes_from_numbers_and_strings() {
        let a = args(json!({"a": 420, "b": "0600", "c": "u+rwx,g-w", "d": "rw"}));
        assert_eq!(a.mode("a").unwrap().as_deref(), Some("0644"));
        assert_eq!(a.mode("b").unwrap().as_deref(), Some("0600"));
        assert_eq!(a.mode("c").unwrap().as_deref(), Some("u+rwx,g-w"));
        assert_eq!(a.mode("d").unwrap().as_deref(), Some("rw"));
        assert!(args(json!({"m": "0o644; rm"})).mode("m").is_err());
    }

    #[test]
    fn booleans_accept_ansible_spellings() {
        let a = args(json!({"a": "yes", "b": "off", "c": 1, "d": "maybe"}));
        assert!(a.bool("a", false).unwrap());
        assert!(!a.bool("b", true).unwrap());
        assert!(a.bool("c", false).unwrap());
        assert!(
            a.bool("d", false)
                .unwrap_err()
                .to_string()
                .contains("expected a boolean")
        );
        assert!(a.bool("missing", true).unwrap());
    }

    #[test]
    fn lists_from_comma_strings() {
        let a = args(json!({"a": "x, y,z", "b": ["p", 1]}));
        assert_eq!(a.list("a").unwrap(), vec!["x", "y", "z"]);
        assert_eq!(a.list("b").unwrap(), vec!["p", "1"]);
    }
}
