//! Variables converted on first use. The executor shares big maps between
//! many contexts (`hostvars`, a play's vars): converting them whole for every
//! host and task would cost O(hosts²); converting each top-level entry once,
//! when a template reads it, costs only what is used.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};

use super::Vars;
use super::native;

pub struct LazyVars {
    vars: Arc<Vars>,
    converted: RwLock<HashMap<String, Value>>,
}

impl LazyVars {
    pub fn new(vars: Arc<Vars>) -> LazyVars {
        LazyVars {
            vars,
            converted: RwLock::default(),
        }
    }
}

impl fmt::Debug for LazyVars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.vars.iter()).finish()
    }
}

impl Object for LazyVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let key = key.as_str()?;
        if let Some(v) = self.converted.read().ok().and_then(|m| m.get(key).cloned()) {
            return Some(v);
        }
        let value = native::from_json(self.vars.get(key)?);
        if let Ok(mut m) = self.converted.write() {
            m.insert(key.to_string(), value.clone());
        }
        Some(value)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.vars.keys().map(|k| Value::from(k.as_str())).collect())
    }

    fn enumerator_len(self: &Arc<Self>) -> Option<usize> {
        Some(self.vars.len())
    }
}
