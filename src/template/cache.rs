//! An environment with its compiled templates and expressions, kept for the
//! whole run: the same task argument renders once per host and loop item, and
//! compiling costs several times more than evaluating.
//!
//! Expressions are compiled from owned text. minijinja has no owned template
//! outside its loader, so template text is interned (leaked) instead; both
//! caches stop growing after [`MAX_ENTRIES`] and texts over [`MAX_TEXT`]
//! bytes are never kept, which bounds what is held for the process lifetime.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::{Environment, Error, Expression, Template};

const MAX_ENTRIES: usize = 20_000;
const MAX_TEXT: usize = 16 * 1024;

pub struct Engine {
    pub env: Environment<'static>,
    exprs: RwLock<HashMap<Box<str>, Arc<Expression<'static, 'static>>>>,
    tmpls: RwLock<HashMap<&'static str, Template<'static, 'static>>>,
}

impl Engine {
    pub fn new(env: Environment<'static>) -> Engine {
        Engine {
            env,
            exprs: RwLock::default(),
            tmpls: RwLock::default(),
        }
    }

    /// The compiled expression for `src`.
    pub fn expression(
        &'static self,
        src: &str,
    ) -> Result<Arc<Expression<'static, 'static>>, Error> {
        if let Some(e) = self.exprs.read().ok().and_then(|m| m.get(src).cloned()) {
            return Ok(e);
        }
        if let Some(msg) = unbalanced(src) {
            return Err(Error::new(minijinja::ErrorKind::SyntaxError, msg));
        }
        let compiled = Arc::new(self.env.compile_expression_owned(src.to_string())?);
        if src.len() <= MAX_TEXT {
            if let Ok(mut m) = self.exprs.write() {
                if m.len() < MAX_ENTRIES {
                    m.insert(src.into(), compiled.clone());
                }
            }
        }
        Ok(compiled)
    }

    /// Runs `f` with the compiled template for `src`.
    pub fn with_template<R>(
        &'static self,
        src: &str,
        f: impl FnOnce(&Template<'_, '_>) -> R,
    ) -> Result<R, Error> {
        // The read guard ends inside `and_then`: `f` may render variables that
        // compile (and insert) other templates.
        let cached = self.tmpls.read().ok().and_then(|m| m.get(src).cloned());
        if let Some(t) = cached {
            return Ok(f(&t));
        }
        let env: &Environment<'_> = &self.env;
        let full =
            src.len() > MAX_TEXT || self.tmpls.read().map_or(true, |m| m.len() >= MAX_ENTRIES);
        if full {
            let t = env.template_from_named_str("<string>", src)?;
            return Ok(f(&t));
        }
        // Compile before leaking, so that text with syntax errors leaks nothing.
        env.template_from_named_str("<string>", src)?;
        let text: &'static str = Box::leak(src.to_string().into_boxed_str());
        let t = self.env.template_from_named_str("<string>", text)?;
        if let Ok(mut m) = self.tmpls.write() {
            m.entry(text).or_insert_with(|| t.clone());
        }
        Ok(f(&t))
    }
}

/// minijinja 2.24's lexer panics ("empty lexer stack") on a closing bracket or
/// a block end with nothing open in a bare expression (found by fuzzing:
/// `when: "a }} b"`). Such text is a syntax error anyway: say so first.
fn unbalanced(src: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = src.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') if depth == 0 => {
                return Some(format!("unexpected `{c}` with nothing open"));
            }
            (None, ')' | ']' | '}') => depth -= 1,
            (None, '%') if depth == 0 && chars.peek() == Some(&'}') => {
                return Some("unexpected `%}` in an expression".to_string());
            }
            _ => {}
        }
    }
    None
}
