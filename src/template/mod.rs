//! Ansible-compatible templating on minijinja.
//!
//! The executor renders task arguments, `when:` conditions, variables and
//! template files through a [`Templar`] and a [`Context`] (the variables of one
//! host and task, converted once). Behaviour follows Ansible: strict undefined
//! variables, a string that is exactly one `{{ expr }}` keeps the expression's
//! type, `True`/`False`/`None` print the Python way, and Ansible's filters,
//! tests and lookups exist under their usual names.

mod ansible_bool;
mod env;
mod error;
mod filters;
mod filters_data;
mod filters_regex;
mod filters_text;
mod lookups;
mod native;
mod pyfmt;
mod tests_;

#[cfg(test)]
mod render_tests;

use minijinja::Environment;
use minijinja::value::{Value, merge_maps};

pub use error::{Origin, TemplateError};

/// Variables as the rest of condaplay holds them.
pub type Vars = serde_json::Map<String, serde_json::Value>;

/// One rendering context: the variables converted once, reused for every
/// render on the same host and task.
#[derive(Clone, Debug)]
pub struct Context {
    value: Value,
}

impl Context {
    pub fn new(vars: &Vars) -> Context {
        Context {
            value: Value::from_serialize(vars),
        }
    }

    /// This context with `extra` variables on top (they win) (loop `item`, `ansible_loop`,
    /// registered results): only `extra` is converted, the rest is shared.
    pub fn with(&self, extra: &Vars) -> Context {
        Context {
            value: merge_maps([self.value.clone(), Value::from_serialize(extra)]),
        }
    }

    /// Whether a variable of that name exists (lazily-rendered vars in the
    /// executor ask this before rendering).
    pub fn contains(&self, name: &str) -> bool {
        self.value.get_attr(name).is_ok_and(|v| !v.is_undefined())
    }
}

/// The template engine: one minijinja environment with Ansible's filters,
/// tests and lookups. Creating one is cheap (the environment is built once per
/// process and shared).
#[derive(Clone, Copy)]
pub struct Templar {
    env: &'static Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl std::fmt::Debug for Templar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templar")
    }
}

impl Templar {
    pub fn new() -> Templar {
        Templar { env: env::shared() }
    }

    /// Whether `s` contains template markup at all.
    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    /// Renders a string. A string that is exactly one `{{ expr }}` (whitespace
    /// around allowed) gives the expression's own value (list, dict, int, bool,
    /// null) as Ansible does; any other template gives a string; a string
    /// without markup comes back unchanged.
    pub fn render_str(&self, s: &str, ctx: &Context) -> Result<serde_json::Value, TemplateError> {
        if !Self::is_template(s) {
            return Ok(serde_json::Value::String(s.to_string()));
        }
        if let Some(inner) = single_expression(s) {
            if let Ok(expr) = self.env.compile_expression(inner) {
                let value = expr.eval(&ctx.value).map_err(|e| {
                    error::convert(
                        e,
                        inner,
                        None,
                        || expr.undeclared_variables(false).into_iter().collect(),
                        &ctx.value,
                    )
                });
                let value = value.map_err(|e| with_text(e, s))?;
                return native::to_json(&value).map_err(|e| {
                    let e = error::convert(
                        e,
                        inner,
                        None,
                        || expr.undeclared_variables(false).into_iter().collect(),
                        &ctx.value,
                    );
                    with_text(e, s)
                });
            }
        }
        self.render_string(None, s, ctx)
            .map(serde_json::Value::String)
    }

    /// Renders a template file's text (the `template` module). `name` names the
    /// file in errors. The trailing newline is kept, blocks trim their newline
    /// (`trim_blocks`), as in Ansible's template module.
    pub fn render_text(
        &self,
        name: &str,
        text: &str,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        self.render_string(Some(name), text, ctx)
    }

    /// Renders every string (and map key) inside a value.
    pub fn render_value(
        &self,
        v: &serde_json::Value,
        ctx: &Context,
    ) -> Result<serde_json::Value, TemplateError> {
        use serde_json::Value as J;
        Ok(match v {
            J::String(s) => self.render_str(s, ctx)?,
            J::Array(items) => J::Array(
                items
                    .iter()
                    .map(|i| self.render_value(i, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            J::Object(map) => {
                let mut out = Vars::with_capacity(map.len());
                for (k, v) in map {
                    let key = if Self::is_template(k) {
                        self.render_string(None, k, ctx)?
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.render_value(v, ctx)?);
                }
                J::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates a bare expression (`when:`, `changed_when:`, `failed_when:`,
    /// `assert: that:`) to its value. `{{ expr }}` is accepted too.
    pub fn eval(&self, expr: &str, ctx: &Context) -> Result<serde_json::Value, TemplateError> {
        let value = self.eval_value(expr, ctx)?;
        native::to_json(&value).map_err(|e| error::convert(e, expr, None, Vec::new, &ctx.value))
    }

    /// Evaluates a conditional. Bools are themselves, numbers are true unless
    /// zero, strings spelling a boolean ("False", "no", "0", "") are that
    /// boolean, other values follow Jinja truthiness. Undefined is an error.
    pub fn eval_bool(&self, expr: &str, ctx: &Context) -> Result<bool, TemplateError> {
        let value = self.eval_value(expr, ctx)?;
        Ok(ansible_bool::conditional_truth(&value))
    }

    fn eval_value(&self, expr: &str, ctx: &Context) -> Result<Value, TemplateError> {
        let trimmed = expr.trim();
        let source: std::borrow::Cow<'_, str> = match single_expression(trimmed) {
            Some(inner) => inner.into(),
            // An expression with templates inside (`"{{ x }} == 5"`, old
            // Ansible style) is rendered first, then evaluated.
            None if Self::is_template(trimmed) => self.render_string(None, trimmed, ctx)?.into(),
            None => trimmed.into(),
        };
        let compiled = self
            .env
            .compile_expression(&source)
            .map_err(|e| error::convert(e, &source, None, Vec::new, &ctx.value))?;
        let value = compiled.eval(&ctx.value).map_err(|e| {
            error::convert(
                e,
                &source,
                None,
                || compiled.undeclared_variables(false).into_iter().collect(),
                &ctx.value,
            )
        })?;
        if value.is_undefined() {
            let names = || compiled.undeclared_variables(false).into_iter().collect();
            return Err(error::convert(
                minijinja::Error::from(minijinja::ErrorKind::UndefinedError),
                &source,
                None,
                names,
                &ctx.value,
            ));
        }
        Ok(value)
    }

    fn render_string(
        &self,
        name: Option<&str>,
        text: &str,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        let tmpl = self
            .env
            .template_from_named_str(name.unwrap_or("<string>"), text)
            .map_err(|e| error::convert(e, text, name, Vec::new, &ctx.value))?;
        tmpl.render(&ctx.value).map_err(|e| {
            error::convert(
                e,
                text,
                name,
                || tmpl.undeclared_variables(false).into_iter().collect(),
                &ctx.value,
            )
        })
    }
}

/// Errors in a single expression show the whole string the user wrote.
fn with_text(mut e: TemplateError, full: &str) -> TemplateError {
    let (TemplateError::Syntax { origin, .. }
    | TemplateError::Undefined { origin, .. }
    | TemplateError::Render { origin, .. }) = &mut e;
    if origin.name.is_none() {
        origin.text = Some(error::shorten(full));
    }
    e
}

/// The expression inside a string that is exactly one `{{ ... }}`, or `None`.
/// Whether the inside really is one expression (and not `a }} x {{ b`) is
/// settled by compiling it.
fn single_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner);
    if inner.contains("{{") || inner.contains("{%") || inner.contains("{#") {
        return None;
    }
    Some(inner)
}
