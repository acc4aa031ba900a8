//! The one minijinja environment, configured like Ansible's Jinja2 one.

use std::sync::OnceLock;

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};

use super::cache::Engine;
use super::{
    filters, filters_data, filters_misc, filters_regex, filters_text, lookups, pyfmt, tests_,
};

/// The strict environment every render starts with. Its configuration never
/// changes, so one per process serves every [`super::Templar`].
pub fn strict() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(build(UndefinedBehavior::Strict)))
}

/// The same environment where attributes of undefined values are undefined
/// too (Ansible's `foo.bar | default(x)` with no `foo`). Used only to retry a
/// render that failed on exactly that; printing or converting an undefined
/// value is still an error there.
pub fn chained() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(build(UndefinedBehavior::Chainable)))
}

fn build(undefined: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(undefined);
    // Ansible: the template module keeps the final newline, and its Templar
    // uses trim_blocks so `{% if %}` lines leave no blank line.
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    // Config files are not HTML, whatever their extension.
    env.set_auto_escape_callback(|_| AutoEscape::None);
    // Debug info clones the template source on every error; we report
    // lines ourselves.
    env.set_debug(false);
    env.set_formatter(format_output);
    // `"a,b".split(",")`, `name.startswith("x")`, `d.items()` and friends.
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    filters::register(&mut env);
    filters_data::register(&mut env);
    filters_regex::register(&mut env);
    filters_text::register(&mut env);
    filters_misc::register(&mut env);
    tests_::register(&mut env);
    lookups::register(&mut env);
    env
}

/// `{{ value }}` output: Python's `str()`, with None printing as nothing
/// (Ansible's finalize) and undefined an error.
fn format_output(out: &mut Output<'_>, _state: &State<'_, '_>, value: &Value) -> Result<(), Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    if value.is_none() {
        return Ok(());
    }
    let text = match value.as_str() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(pyfmt::py_str(value)?),
    };
    out.write_str(&text)
        .map_err(|e| Error::new(ErrorKind::WriteFailure, e.to_string()))
}
