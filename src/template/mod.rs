//! Ansible-compatible templating on minijinja (a minimal version; the full
//! filter set is being written).

use serde_json::Value;

pub type Vars = serde_json::Map<String, Value>;

pub struct Context(minijinja::Value);

impl Context {
    pub fn new(vars: &Vars) -> Context {
        Context(minijinja::Value::from_serialize(vars))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TemplateError(String);

pub struct Templar {
    env: minijinja::Environment<'static>,
}

impl Default for Templar {
    fn default() -> Self {
        Templar::new()
    }
}

impl Templar {
    pub fn new() -> Templar {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        Templar { env }
    }

    pub fn is_template(s: &str) -> bool {
        s.contains("{{") || s.contains("{%") || s.contains("{#")
    }

    pub fn render_str(&self, s: &str, ctx: &Context) -> Result<Value, TemplateError> {
        if !Self::is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        let t = s.trim();
        if let Some(inner) = t.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")) {
            if !inner.contains("{{") && !inner.contains("}}") {
                return self.eval(inner, ctx);
            }
        }
        self.env
            .render_str(s, &ctx.0)
            .map(Value::String)
            .map_err(err)
    }

    pub fn render_text(
        &self,
        _name: &str,
        text: &str,
        ctx: &Context,
    ) -> Result<String, TemplateError> {
        self.env.render_str(text, &ctx.0).map_err(err)
    }

    pub fn render_value(&self, v: &Value, ctx: &Context) -> Result<Value, TemplateError> {
        Ok(match v {
            Value::String(s) => self.render_str(s, ctx)?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.render_value(x, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, x) in m {
                    out.insert(k.clone(), self.render_value(x, ctx)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    pub fn eval(&self, expr: &str, ctx: &Context) -> Result<Value, TemplateError> {
        let e = self.env.compile_expression(expr.trim()).map_err(err)?;
        let v = e.eval(&ctx.0).map_err(err)?;
        serde_json::to_value(&v).map_err(|e| TemplateError(e.to_string()))
    }

    pub fn eval_bool(&self, expr: &str, ctx: &Context) -> Result<bool, TemplateError> {
        let t = expr.trim();
        let t = t
            .strip_prefix("{{")
            .and_then(|r| r.strip_suffix("}}"))
            .unwrap_or(t);
        let e = self.env.compile_expression(t.trim()).map_err(err)?;
        Ok(e.eval(&ctx.0).map_err(err)?.is_true())
    }
}

fn err(e: minijinja::Error) -> TemplateError {
    TemplateError(e.to_string())
}
