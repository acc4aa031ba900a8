//! Rendering contexts: layers of variables, top layer first.
//!
//! Ansible templates variables lazily: `a: "{{ b }}"` means b's value wherever
//! a is read, with whatever else is in scope at that point (`item` in a loop).
//! A value that holds template markup is therefore kept raw and rendered the
//! first time a template reads it, against the whole context it is read from.
//! Data that must never be templated (registered results, facts, `!unsafe`)
//! goes into raw layers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind};
use serde_json::Value as Json;

use super::{Templar, Vars, lazy, native};

/// Variables to use for many renders (one host, one task): converted once,
/// cheap to clone and to extend with [`Context::with`].
#[derive(Clone)]
pub struct Context {
    scope: Arc<Scope>,
    pub(crate) value: Value,
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Context({} layers)", self.scope.layers.len())
    }
}

struct Layer {
    /// Values ready to use: a template map, or a lazily converting object.
    plain: Value,
    /// Values with template markup, rendered when read.
    templated: HashMap<String, Json>,
}

struct Scope {
    layers: Vec<Arc<Layer>>,
    rendered: RwLock<HashMap<String, Value>>,
}

impl Context {
    fn from_layers(layers: Vec<Arc<Layer>>) -> Context {
        let scope = Arc::new(Scope {
            layers,
            rendered: RwLock::default(),
        });
        let value = Value::from_dyn_object(scope.clone());
        Context { scope, value }
    }

    fn on_top(&self, layer: Layer) -> Context {
        let mut layers = Vec::with_capacity(self.scope.layers.len() + 1);
        layers.push(Arc::new(layer));
        layers.extend(self.scope.layers.iter().cloned());
        Context::from_layers(layers)
    }

    /// Converts `vars` now. Values holding template markup are rendered
    /// when first read, as Ansible does.
    pub fn new(vars: &Vars) -> Context {
        Context::from_layers(vec![Arc::new(templating_layer(vars))])
    }

    /// Like [`Context::new`], but nothing in `vars` is ever templated.
    pub fn raw(vars: &Vars) -> Context {
        Context::from_layers(vec![Arc::new(raw_layer(vars))])
    }

    /// Shares `vars` and converts each top-level variable the first time a
    /// template reads it (never templated). For big maps used by many
    /// contexts, such as `hostvars`, together with [`Context::with_context`].
    pub fn lazy(vars: Arc<Vars>) -> Context {
        let plain = Value::from_object(lazy::LazyVars::new(vars));
        Context::from_layers(vec![Arc::new(Layer {
            plain,
            templated: HashMap::new(),
        })])
    }

    /// This context with `extra` on top (they win); only `extra` is
    /// converted. Markup in `extra` is rendered when read. For loop `item`,
    /// task `vars:`, `set_fact` results.
    pub fn with(&self, extra: &Vars) -> Context {
        self.on_top(templating_layer(extra))
    }

    /// This context with `extra` on top, never templated: registered
    /// results, facts, anything a command printed.
    pub fn with_raw(&self, extra: &Vars) -> Context {
        self.on_top(raw_layer(extra))
    }

    /// This context with `shared` on top (it wins): a layer converted once
    /// and put under many contexts (a play's magic variables, whose lists of
    /// hosts would otherwise be copied into every host's every task).
    pub fn with_shared(&self, shared: &Shared) -> Context {
        let mut layers = Vec::with_capacity(self.scope.layers.len() + 1);
        layers.push(shared.0.clone());
        layers.extend(self.scope.layers.iter().cloned());
        Context::from_layers(layers)
    }

    /// This context with one more variable `name` whose value is the whole of
    /// `other` (e.g. `hostvars` built once with [`Context::lazy`] and shared).
    pub fn with_context(&self, name: &str, other: &Context) -> Context {
        let plain = Value::from_iter([(Value::from(name), other.value.clone())]);
        self.on_top(Layer {
            plain,
            templated: HashMap::new(),
        })
    }

    /// Whether a variable of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.value.get_attr(name).is_ok_and(|v| !v.is_undefined())
    }

    /// A variable's value as plain data, rendered if it held markup (`None`
    /// if it does not exist or cannot be rendered).
    pub fn get(&self, name: &str) -> Option<Json> {
        let v = self
            .value
            .get_attr(name)
            .ok()
            .filter(|v| !v.is_undefined())?;
        native::to_json(&v).ok()
    }
}

/// Variables converted once for many contexts ([`Context::with_shared`]);
/// never templated.
#[derive(Clone)]
pub struct Shared(Arc<Layer>);

impl Shared {
    pub fn new(vars: &Vars) -> Shared {
        Shared(Arc::new(raw_layer(vars)))
    }
}

impl Shared {
    /// A layer that holds nothing but notes when a template looks up one of
    /// `names`: put on top of a context, it tells whether rendering needed
    /// variables that are not there yet (facts still on their way).
    pub fn probe(names: Arc<std::collections::HashSet<String>>) -> (Shared, Arc<AtomicBool>) {
        let hit = Arc::new(AtomicBool::new(false));
        let plain = Value::from_object(Probe {
            names,
            hit: hit.clone(),
        });
        let layer = Layer {
            plain,
            templated: HashMap::new(),
        };
        (Shared(Arc::new(layer)), hit)
    }
}

#[derive(Debug)]
struct Probe {
    names: Arc<std::collections::HashSet<String>>,
    hit: Arc<AtomicBool>,
}

impl Object for Probe {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        if key.as_str().is_some_and(|k| self.names.contains(k)) {
            self.hit.store(true, Ordering::Relaxed);
        }
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Empty
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Shared")
    }
}

fn has_markup(v: &Json) -> bool {
    match v {
        Json::String(s) => Templar::is_template(s),
        Json::Array(items) => items.iter().any(has_markup),
        Json::Object(map) => map
            .iter()
            .any(|(k, v)| Templar::is_template(k) || has_markup(v)),
        _ => false,
    }
}

fn raw_layer(vars: &Vars) -> Layer {
    Layer {
        plain: native::from_map(vars),
        templated: HashMap::new(),
    }
}

fn templating_layer(vars: &Vars) -> Layer {
    let mut templated = HashMap::new();
    let mut plain = Vec::with_capacity(vars.len());
    for (k, v) in vars {
        if has_markup(v) {
            templated.insert(k.clone(), v.clone());
        } else {
            plain.push((Value::from(k.as_str()), native::from_json(v)));
        }
    }
    Layer {
        plain: Value::from_iter(plain),
        templated,
    }
}

thread_local! {
    /// Variables being rendered on this thread, to catch `a: "{{ a }}"`.
    static RENDERING: RefCell<Vec<(usize, String)>> = const { RefCell::new(Vec::new()) };
}

impl Scope {
    fn render_var(self: &Arc<Self>, name: &str, raw: &Json) -> Value {
        if let Some(v) = self.rendered.read().ok().and_then(|m| m.get(name).cloned()) {
            return v;
        }
        let id = Arc::as_ptr(self) as usize;
        let looping = RENDERING.with(|r| r.borrow().iter().any(|(i, n)| *i == id && n == name));
        if looping {
            let msg = format!("recursive loop detected in template for variable '{name}'");
            return Value::from(Error::new(ErrorKind::InvalidOperation, msg));
        }
        RENDERING.with(|r| r.borrow_mut().push((id, name.to_string())));
        let ctx = Context {
            scope: self.clone(),
            value: Value::from_dyn_object(self.clone()),
        };
        let result = Templar::new().render_value(raw, &ctx);
        RENDERING.with(|r| r.borrow_mut().pop());
        let value = match result {
            Ok(v) => native::from_json(&v),
            Err(e) => Value::from(Error::new(
                ErrorKind::InvalidOperation,
                format!("in variable '{name}': {e}"),
            )),
        };
        if let Ok(mut m) = self.rendered.write() {
            m.insert(name.to_string(), value.clone());
        }
        value
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({} layers)", self.layers.len())
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        for layer in &self.layers {
            if let Some(raw) = layer.templated.get(name) {
                return Some(self.render_var(name, raw));
            }
            if let Some(v) = layer.plain.get_item(key).ok().filter(|v| !v.is_undefined()) {
                return Some(v);
            }
        }
        None
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut seen = std::collections::HashSet::new();
        let mut keys = Vec::new();
        for layer in &self.layers {
            let plain = layer.plain.try_iter().into_iter().flatten();
            for k in plain.chain(layer.templated.keys().map(|k| Value::from(k.as_str()))) {
                if let Some(s) = k.as_str() {
                    if seen.insert(s.to_string()) {
                        keys.push(k.clone());
                    }
                }
            }
        }
        Enumerator::Values(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Json) -> Vars {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn variables_holding_templates_render_when_read() {
        let ctx = Context::new(&vars(json!({
            "base": "/opt/app",
            "bin": "{{ base }}/bin",
            "paths": ["{{ bin }}", "{{ base }}/lib"],
            "port": "{{ 8000 + 80 }}",
            "cfg": {"{{ 'k' ~ 1 }}": "{{ port }}"},
        })));
        let t = Templar::new();
        assert_eq!(
            t.render_str("{{ bin }}/tool", &ctx).unwrap(),
            json!("/opt/app/bin/tool")
        );
        assert_eq!(
            t.render_str("{{ paths }}", &ctx).unwrap(),
            json!(["/opt/app/bin", "/opt/app/lib"])
        );
        assert_eq!(t.render_str("{{ port + 1 }}", &ctx).unwrap(), json!(8081));
        assert_eq!(
            t.render_str("{{ cfg }}", &ctx).unwrap(),
            json!({"k1": 8080})
        );
        assert_eq!(ctx.get("bin"), Some(json!("/opt/app/bin")));
    }

    #[test]
    fn lower_layer_templates_see_upper_layers() {
        // A role var naming `item` renders with the loop's item.
        let role = Context::new(&vars(json!({"pkg": "{{ item }}-dev"})));
        let t = Templar::new();
        let a = role.with(&vars(json!({"item": "libssl"})));
        let b = role.with(&vars(json!({"item": "zlib"})));
        assert_eq!(t.render_str("{{ pkg }}", &a).unwrap(), json!("libssl-dev"));
        assert_eq!(t.render_str("{{ pkg }}", &b).unwrap(), json!("zlib-dev"));
        // Upper layers win over lower ones.
        let over = a.with(&vars(json!({"pkg": "fixed"})));
        assert_eq!(t.render_str("{{ pkg }}", &over).unwrap(), json!("fixed"));
    }

    #[test]
    fn a_probe_notes_lookups_of_its_names_only() {
        let names = Arc::new(["ansible_facts".to_string()].into_iter().collect());
        let (probe, hit) = Shared::probe(names);
        let ctx = Context::new(&vars(json!({"x": 1, "y": "{{ x }}"}))).with_shared(&probe);
        let t = Templar::new();
        assert_eq!(t.render_str("{{ y + 1 }}", &ctx).unwrap(), json!(2));
        assert!(!hit.load(Ordering::Relaxed));
        let r = t.render_str("{{ ansible_facts.os_family | default('?') }}", &ctx);
        assert_eq!(r.unwrap(), json!("?"));
        assert!(
            hit.load(Ordering::Relaxed),
            "a guarded lookup is still a lookup"
        );
    }

    #[test]
    fn raw_layers_are_never_templated() {
        let base = Context::new(&vars(json!({"x": 1})));
        let ctx = base.with_raw(&vars(json!({"result": {"stdout": "{{ not_a_var }}"}})));
        let t = Templar::new();
        assert_eq!(
            t.render_str("{{ result.stdout }}", &ctx).unwrap(),
            json!("{{ not_a_var }}")
        );
        let raw = Context::raw(&vars(json!({"s": "{{ x }}"})));
        assert_eq!(t.render_str("{{ s }}", &raw).unwrap(), json!("{{ x }}"));
    }

    #[test]
    fn self_reference_is_an_error() {
        let ctx = Context::new(&vars(
            json!({"a": "{{ b }}", "b": "{{ a }}", "c": "{{ missing }}"}),
        ));
        let t = Templar::new();
        let err = t.render_str("{{ a }}", &ctx).unwrap_err().to_string();
        assert!(
            err.contains("recursive loop detected in template for variable"),
            "{err}"
        );
        let err = t.render_str("{{ c }}", &ctx).unwrap_err().to_string();
        assert!(
            err.contains("in variable 'c': 'missing' is undefined"),
            "{err}"
        );
    }

    #[test]
    fn enumerating_a_context_lists_every_layer_once() {
        let ctx = Context::new(&vars(json!({"a": 1, "b": "{{ a }}"})))
            .with(&vars(json!({"a": 2, "c": 3})));
        let mut keys: Vec<String> = ctx
            .value
            .try_iter()
            .unwrap()
            .map(|k| k.as_str().unwrap_or_default().to_string())
            .collect();
        keys.sort();
        assert_eq!(keys, ["a", "b", "c"]);
        // `b` reads `a` from the whole context, so the upper `a` wins.
        assert_eq!(
            Templar::new().eval("[a, b, c]", &ctx).unwrap(),
            json!([2, 2, 3])
        );
    }
}
