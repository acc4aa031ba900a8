//! Ansible-compatible templating on minijinja.
//!
//! The executor renders task arguments, `when:` conditions, variables and
//! template files through a [`Templar`] and a [`Context`] (the variables of one
//! host and task, converted once). Behaviour follows Ansible: strict undefined
//! variables, a string that is exactly one `{{ expr }}` keeps the expression's
//! type, `True`/`False`/`None` print the Python way, and Ansible's filters,
//! tests and lookups exist under their usual names.

mod ansible_bool;
mod cache;
mod context;
mod env;
mod error;
mod filters;
mod filters_data;
mod filters_misc;
mod filters_regex;
mod filters_text;
mod includes;
mod lazy;
mod lookups;
mod lookups_loops;
mod native;
mod pyfmt;
mod tests_;

#[cfg(test)]
mod render_tests;

use std::borrow::Cow;

use cache::Engine;
use minijinja::value::Value;

pub use context::{Context, Shared};
pub use error::{Origin, TemplateError};

/// Variables as the rest of condaplay holds them.
pub type Vars = serde_json::Map<String, serde_json::Value>;

/// The template engine: minijinja environments with Ansible's filters, tests
/// and lookups. Creating one is free (the environments are built once per
/// process and shared, with their compiled-template caches).
#[derive(Clone, Copy)]
pub struct Templar {
    strict: &'static Engine,
    chained: &'static Engine,
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
        Templar {
            strict: env::strict(),
            chained: env::chained(),
        }
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
            // Not one expression after all (`{{ a }} x {{ b }}`-like text that
            // slipped through): render it as a template below.
            if self.strict.expression(inner).is_ok() {
                let value = self.eval_source(inner, ctx).map_err(|e| with_text(e, s))?;
                let value = native::to_json(&value).map_err(|e| {
                    let undeclared = || undeclared_in(self.strict, inner);
                    with_text(error::convert(e, inner, None, undeclared, &ctx.value), s)
                })?;
                // A string result keeps the text around the braces (a YAML `|`
                // block's final newline); other types cannot.
                return Ok(match value {
                    serde_json::Value::String(v) if s.len() != s.trim().len() => {
                        // `{{-` and `-}}` strip the whitespace on their side.
                        let t = s.trim();
                        let lead = if t.starts_with("{{-") {
                            ""
                        } else {
                            &s[..s.len() - s.trim_start().len()]
                        };
                        let trail = if t.ends_with("-}}") {
                            ""
                        } else {
                            &s[s.trim_end().len()..]
                        };
                        serde_json::Value::String(format!("{lead}{v}{trail}"))
                    }
                    other => other,
                });
            }
        }
        self.render_template(None, s, ctx)
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
        if includes::has_references(text) {
            return self.render_with_includes(name, text, ctx);
        }
        self.render_template(Some(name), text, ctx)
    }

    /// A template file that includes, imports or extends others.
    fn render_with_includes(
        &self,
        name: &str,
        text: &str,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        let others =
            includes::load_all(text, &includes::search_dirs(name, ctx)).map_err(|msg| {
                let origin = Origin {
                    name: Some(name.to_string()),
                    text: None,
                    line: None,
                };
                TemplateError::Render { msg, origin }
            })?;
        let run = |engine: &'static Engine| -> Result<String, minijinja::Error> {
            let mut env: minijinja::Environment<'_> = engine.env.clone();
            for (n, src) in &others {
                env.add_template(n, src)?;
            }
            env.add_template(name, text)?;
            env.get_template(name)?.render(&ctx.value)
        };
        // Errors point into whichever file failed.
        let source_of = |e: &minijinja::Error| -> (&str, &str) {
            match others
                .iter()
                .find(|(n, _)| Some(n.as_str()) == error::innermost(e).name())
            {
                Some((n, src)) if n != name => (n, src),
                _ => (name, text),
            }
        };
        let result = match run(self.strict) {
            Err(e) if error::is_chained_lookup(error::innermost(&e), source_of(&e).1) => {
                run(self.chained)
            }
            other => other,
        };
        result.map_err(|e| {
            let (file, source) = source_of(&e);
            let undeclared = || {
                let names = self
                    .strict
                    .with_template(source, |t| t.undeclared_variables(false));
                names.map(|n| n.into_iter().collect()).unwrap_or_default()
            };
            error::convert_ref(
                error::innermost(&e),
                source,
                Some(file),
                undeclared,
                &ctx.value,
            )
        })
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
                        self.render_template(None, k, ctx)?
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
        let (source, value) = self.eval_value(expr, ctx)?;
        native::to_json(&value).map_err(|e| {
            error::convert(
                e,
                &source,
                None,
                || undeclared_in(self.strict, &source),
                &ctx.value,
            )
        })
    }

    /// Evaluates a conditional. Bools are themselves, numbers are true unless
    /// zero, strings spelling a boolean ("False", "no", "0", "") are that
    /// boolean, other values follow Jinja truthiness. Undefined is an error.
    pub fn eval_bool(&self, expr: &str, ctx: &Context) -> Result<bool, TemplateError> {
        let (_, value) = self.eval_value(expr, ctx)?;
        Ok(ansible_bool::conditional_truth(&value))
    }

    /// The expression a conditional means, and its value (never undefined).
    fn eval_value<'a>(
        &self,
        expr: &'a str,
        ctx: &Context,
    ) -> Result<(Cow<'a, str>, Value), TemplateError> {
        let trimmed = expr.trim();
        let source: Cow<'a, str> = match single_expression(trimmed) {
            Some(inner) => inner.into(),
            // An expression with templates inside (`"{{ x }} == 5"`, old
            // Ansible style) is rendered first, then evaluated.
            None if Self::is_template(trimmed) => self.render_template(None, trimmed, ctx)?.into(),
            None => trimmed.into(),
        };
        let value = self.eval_source(&source, ctx)?;
        if value.is_undefined() {
            let undefined = minijinja::Error::from(minijinja::ErrorKind::UndefinedError);
            return Err(error::convert(
                undefined,
                &source,
                None,
                || undeclared_in(self.strict, &source),
                &ctx.value,
            ));
        }
        Ok((source, value))
    }

    /// Evaluates an expression strictly; if that failed only because an
    /// attribute of an undefined value was read, again with chained undefined
    /// (Ansible's semantics). The result may be undefined.
    fn eval_source(&self, source: &str, ctx: &Context) -> Result<Value, TemplateError> {
        let run =
            |engine: &'static Engine| engine.expression(source).and_then(|e| e.eval(&ctx.value));
        let result = match run(self.strict) {
            Err(e) if error::is_chained_lookup(&e, source) => run(self.chained),
            other => other,
        };
        result.map_err(|e| {
            error::convert(
                e,
                source,
                None,
                || undeclared_in(self.strict, source),
                &ctx.value,
            )
        })
    }

    fn render_template(
        &self,
        name: Option<&str>,
        text: &str,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        let run = |engine: &'static Engine| {
            engine
                .with_template(text, |t| t.render(&ctx.value))
                .and_then(|r| r)
        };
        let result = match run(self.strict) {
            Err(e) if error::is_chained_lookup(&e, text) => run(self.chained),
            other => other,
        };
        result.map_err(|e| {
            let undeclared = || {
                let names = self
                    .strict
                    .with_template(text, |t| t.undeclared_variables(false));
                names.map(|n| n.into_iter().collect()).unwrap_or_default()
            };
            error::convert(e, text, name, undeclared, &ctx.value)
        })
    }
}

/// Top-level variables an expression reads from its context.
fn undeclared_in(engine: &'static Engine, source: &str) -> Vec<String> {
    engine
        .expression(source)
        .map(|e| e.undeclared_variables(false).into_iter().collect())
        .unwrap_or_default()
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
