//! `lookup()` / `query()` / `q()`: Ansible's lookup plugins that run on the
//! controller. `lookup` joins string results with commas (or returns the one
//! result), `query` always returns a list.

use std::path::{Path, PathBuf};

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};

use super::lookups_loops as loops;
use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
    env.add_filter("subelements", loops::subelements_filter);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    let results = run(state, &name, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    if wantlist {
        return Ok(Value::from(results));
    }
    if results.iter().all(|r| r.kind() == ValueKind::String) {
        let parts: Vec<&str> = results
            .iter()
            .map(|r| r.as_str().unwrap_or_default())
            .collect();
        return Ok(Value::from(parts.join(",")));
    }
    Ok(match results.len() {
        1 => results.into_iter().next().unwrap_or_default(),
        _ => Value::from(results),
    })
}

fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let results = run(state, &name, &terms, &kwargs)?;
    kwargs.assert_all_used()?;
    Ok(Value::from(results))
}

fn run(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    if terms.iter().any(Value::is_undefined) {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let name = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    match name {
        "env" => env_lookup(terms, kwargs),
        "file" => file_lookup(state, terms, kwargs),
        "vars" => vars_lookup(state, terms, kwargs),
        "items" => Ok(flatten_one(terms)),
        "list" => Ok(terms.to_vec()),
        "first_found" => first_found(state, terms, kwargs),
        "pipe" => pipe(terms),
        "lines" => lines(terms),
        "dict" => dict_lookup(terms),
        "template" => template_lookup(state, terms, kwargs),
        "sequence" => loops::sequence(terms),
        "nested" => loops::nested(terms),
        "together" => loops::together(terms),
        "indexed_items" => loops::indexed_items(terms),
        "subelements" => loops::subelements_lookup(terms, kwargs),
        "fileglob" => loops::fileglob(state, terms),
        other => Err(invalid(format!(
            "lookup plugin '{other}' is not supported ({SUPPORTED})"
        ))),
    }
}

const SUPPORTED: &str = "env, file, template, vars, items, list, dict, first_found, fileglob, pipe, lines, \
     sequence, nested, together, indexed_items, subelements";

fn strings(terms: &[Value]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for t in flatten_one(terms) {
        out.push(py_str(&t)?);
    }
    Ok(out)
}

/// Terms that are lists count as their items (`lookup('file', files)`).
fn flatten_one(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        match t.kind() {
            ValueKind::Seq => out.extend(t.try_iter().into_iter().flatten()),
            _ => out.push(t.clone()),
        }
    }
    out
}

/// `lookup('env', 'NAME', default='')`: the controller's environment.
fn env_lookup(terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    strings(terms)?
        .into_iter()
        .map(|name| match std::env::var(&name) {
            Ok(v) => Ok(Value::from(v)),
            Err(_) => Ok(default.clone().unwrap_or_else(|| Value::from(""))),
        })
        .collect()
}

/// Where Ansible looks for a relative file: the role's `files/`, the role,
/// the playbook's `files/`, the playbook directory.
pub(super) fn search_path(state: &State, rel: &str, subdir: &str) -> Vec<PathBuf> {
    if Path::new(rel).is_absolute() {
        return vec![PathBuf::from(rel)];
    }
    let mut dirs = Vec::new();
    for var in ["role_path", "playbook_dir"] {
        if let Some(base) = state
            .lookup(var)
            .and_then(|v| v.as_str().map(PathBuf::from))
        {
            dirs.push(base.join(subdir).join(rel));
            dirs.push(base.join(rel));
        }
    }
    if dirs.is_empty() {
        dirs.push(PathBuf::from(rel));
    }
    dirs
}

fn tried(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `lookup('file', 'path', rstrip=True, lstrip=False)`.
fn file_lookup(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
    let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
    let mut out = Vec::new();
    for term in strings(terms)? {
        let candidates = search_path(state, &term, "files");
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(invalid(format!(
                "could not find file '{term}' (tried {})",
                tried(&candidates)
            )));
        };
        let mut text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        if rstrip {
            text.truncate(text.trim_end().len());
        }
        if lstrip {
            text = text.trim_start().to_string();
        }
        out.push(Value::from(text));
    }
    Ok(out)
}

/// `lookup('vars', 'name', default=...)`: a variable by computed name.
fn vars_lookup(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    strings(terms)?
        .into_iter()
        .map(
            |name| match (state.lookup(&name).filter(|v| !v.is_undefined()), &default) {
                (Some(v), _) => Ok(v),
                (None, Some(d)) => Ok(d.clone()),
                (None, None) => Err(invalid(format!("No variable found with this name: {name}"))),
            },
        )
        .collect()
}

/// `first_found`: the first existing file of a list (or of `files` ×
/// `paths`), searched like `file`; `skip=True` gives nothing when none exists.
fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let skip = kwargs.get::<Option<bool>>("skip")?.unwrap_or(false);
    let mut files = Vec::new();
    let mut paths = Vec::new();
    let split = |s: &str| {
        s.split([',', ';'])
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
    };
    for term in flatten_one(terms) {
        if term.kind() == ValueKind::Map {
            for f in flatten_one(&[term.get_attr("files")?]) {
                if !f.is_undefined() {
                    files.extend(split(&py_str(&f)?));
                }
            }
            for p in flatten_one(&[term.get_attr("paths")?]) {
                if !p.is_undefined() {
                    paths.extend(split(&py_str(&p)?));
                }
            }
        } else {
            files.push(py_str(&term)?);
        }
    }
    if let Some(f) = kwargs.get::<Option<Value>>("files")? {
        for f in flatten_one(&[f]) {
            files.extend(split(&py_str(&f)?));
        }
    }
    if let Some(p) = kwargs.get::<Option<Value>>("paths")? {
        for p in flatten_one(&[p]) {
            paths.extend(split(&py_str(&p)?));
        }
    }
    let mut candidates = Vec::new();
    for file in &files {
        if paths.is_empty() {
            candidates.extend(search_path(state, file, "files"));
        } else {
            for dir in &paths {
                candidates.extend(search_path(
                    state,
                    &Path::new(dir).join(file).to_string_lossy(),
                    "files",
                ));
            }
        }
    }
    match candidates.iter().find(|p| p.exists()) {
        Some(found) => Ok(vec![Value::from(found.to_string_lossy().into_owned())]),
        None if skip => Ok(Vec::new()),
        None => Err(invalid(format!(
            "first_found: no file found (tried {})",
            tried(&candidates)
        ))),
    }
}

/// `lookup('pipe', 'command')`: a shell command's output on the controller.
fn pipe(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for cmd in strings(terms)? {
        let output = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&cmd)
            .output()
            .map_err(|e| invalid(format!("pipe lookup: cannot run {cmd:?}: {e}")))?;
        if !output.status.success() {
            return Err(invalid(format!(
                "pipe lookup: {cmd:?} failed with {}",
                output.status
            )));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        out.push(Value::from(text.trim_end()));
    }
    Ok(out)
}

/// `lookup('lines', 'command')`: a command's output lines.
fn lines(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for text in pipe(terms)? {
        out.extend(text.as_str().unwrap_or_default().lines().map(Value::from));
    }
    Ok(out)
}

/// `lookup('template', 'x.j2', template_vars={})`: a template file from the
/// role's or playbook's `templates/`, rendered with the variables it reads.
fn template_lookup(state: &State, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let extra = kwargs.get::<Option<Value>>("template_vars")?;
    let _ = kwargs.get::<Option<Value>>("convert_data")?;
    let mut out = Vec::new();
    for term in strings(terms)? {
        let candidates = search_path(state, &term, "templates");
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Err(invalid(format!(
                "could not find template '{term}' (tried {})",
                tried(&candidates)
            )));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
        // A function sees the caller's variables one name at a time: hand the
        // template those it reads (and what nested lookups search with).
        let env: &minijinja::Environment<'_> = state.env();
        let tmpl = env
            .template_from_named_str("<lookup>", &text)
            .map_err(|e| {
                invalid(format!(
                    "template {}: {}",
                    path.display(),
                    super::error::convert(e, &text, Some(&term), Vec::new, &Value::UNDEFINED)
                ))
            })?;
        let mut names: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
        names.extend(["role_path", "playbook_dir"].map(String::from));
        let mut vars: Vec<(Value, Value)> = Vec::new();
        for name in names {
            if let Some(v) = state.lookup(&name).filter(|v| !v.is_undefined()) {
                vars.push((Value::from(name), v));
            }
        }
        if let Some(extra) = extra.as_ref().filter(|e| e.kind() == ValueKind::Map) {
            for k in extra.try_iter()? {
                let v = extra.get_item(&k)?;
                vars.push((k, v));
            }
        }
        let ctx = Value::from_iter(vars);
        let rendered = tmpl.render(&ctx).map_err(|e| {
            let names = || tmpl.undeclared_variables(false).into_iter().collect();
            invalid(format!(
                "template {}: {}",
                path.display(),
                super::error::convert(e, &text, Some(&term), names, &ctx)
            ))
        })?;
        out.push(Value::from(rendered));
    }
    Ok(out)
}

/// `lookup('dict', d)`: `{key, value}` items, as `with_dict` loops over.
fn dict_lookup(terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if t.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "dict lookup expects a dictionary, got {}",
                t.kind()
            )));
        }
        for k in t.try_iter()? {
            let v = t.get_item(&k)?;
            out.push(Value::from_iter([("key", k), ("value", v)]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err, render_with};
    use serde_json::json;

    #[test]
    fn env_lookup() {
        let home = std::env::var("HOME").unwrap_or_default();
        assert_eq!(render("{{ lookup('env', 'HOME') }}"), home);
        assert_eq!(
            render("{{ lookup('ansible.builtin.env', 'CONDAPLAY_SURELY_UNSET') }}"),
            ""
        );
        assert_eq!(
            render("{{ lookup('env', 'CONDAPLAY_SURELY_UNSET', default='d') }}"),
            "d"
        );
        assert_eq!(
            render("{{ lookup('env', 'CONDAPLAY_SURELY_UNSET') | default('x', true) }}"),
            "x"
        );
        assert_eq!(
            render("{{ query('env', 'HOME', 'CONDAPLAY_SURELY_UNSET') | length }}"),
            "2"
        );
    }

    #[test]
    fn file_lookup_searches_role_then_playbook() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("roles/web");
        std::fs::create_dir_all(role.join("files")).unwrap();
        std::fs::write(role.join("files/motd"), "from role\n\n").unwrap();
        std::fs::write(dir.path().join("top.txt"), "from playbook\n").unwrap();
        let vars = json!({"role_path": role, "playbook_dir": dir.path()});
        assert_eq!(
            render_with("{{ lookup('file', 'motd') }}", &vars),
            "from role"
        );
        assert_eq!(
            render_with("{{ lookup('file', 'top.txt') }}", &vars),
            "from playbook"
        );
        assert_eq!(
            render_with("{{ lookup('file', 'motd', rstrip=False) }}", &vars),
            "from role\n\n"
        );
        let abs = dir.path().join("top.txt");
        assert_eq!(
            render_with(
                &format!("{{{{ lookup('file', '{}') }}}}", abs.display()),
                &vars
            ),
            "from playbook"
        );
        assert_eq!(
            render_with("{{ query('file', 'motd', 'top.txt') }}", &vars),
            "['from role', 'from playbook']"
        );
        assert_eq!(
            render_with("{{ lookup('file', 'motd', 'top.txt') }}", &vars),
            "from role,from playbook"
        );
        let err =
            super::super::render_tests::render_err_with("{{ lookup('file', 'nope.txt') }}", &vars);
        assert!(err.contains("could not find file 'nope.txt'"), "{err}");
        assert!(
            err.contains(&role.join("files/nope.txt").display().to_string()),
            "{err}"
        );
        assert!(
            err.contains(&dir.path().join("nope.txt").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn first_found_lookup() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/default.conf"), "x").unwrap();
        let vars = json!({"playbook_dir": dir.path()});
        let found = render_with(
            "{{ lookup('first_found', ['debian.conf', 'default.conf']) }}",
            &vars,
        );
        assert_eq!(
            found,
            dir.path().join("files/default.conf").display().to_string()
        );
        let found = render_with(
            "{{ lookup('first_found', {'files': ['nope', 'default.conf'], 'paths': ['files']}) }}",
            &vars,
        );
        assert_eq!(
            found,
            dir.path().join("files/default.conf").display().to_string()
        );
        assert_eq!(
            render_with("{{ query('first_found', ['nope'], skip=True) }}", &vars),
            "[]"
        );
        assert!(
            super::super::render_tests::render_err_with(
                "{{ lookup('first_found', ['nope']) }}",
                &vars
            )
            .contains("no file found")
        );
    }

    #[test]
    fn vars_items_list_dict_pipe_lookups() {
        assert_eq!(render("{{ lookup('vars', 'zero') }}"), "0");
        assert_eq!(render("{{ lookup('vars', 'nothing', default='d') }}"), "d");
        assert!(render_err("{{ lookup('vars', 'nothing') }}").contains("No variable found"));
        assert_eq!(render("{{ query('items', [1, 2], 3) }}"), "[1, 2, 3]");
        assert_eq!(render("{{ q('list', [1, 2], 3) }}"), "[[1, 2], 3]");
        assert_eq!(
            render("{{ query('dict', {'a': 1}) }}"),
            "[{'key': 'a', 'value': 1}]"
        );
        assert_eq!(render("{{ lookup('pipe', 'echo hello') }}"), "hello");
        assert_eq!(render("{{ lookup('list', [1, 2]) }}"), "[1, 2]");
        assert!(render_err("{{ lookup('password', 'x') }}").contains("not supported"));
    }

    #[test]
    fn range_function() {
        assert_eq!(render("{{ range(3) | list }}"), "[0, 1, 2]");
        assert_eq!(render("{{ range(1, 10, 3) | list }}"), "[1, 4, 7]");
    }
}

#[cfg(test)]
mod template_lookup_tests {
    use super::super::render_tests::{render_err_with, render_with};
    use serde_json::json;

    #[test]
    fn template_lookup_renders_with_callers_vars() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(
            dir.path().join("templates/greet.j2"),
            "hello {{ name }}{% if flag %}!{% endif %} {{ extra | default('') }}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("templates/bad.j2"),
            "line\n{{ missing_var }}\n",
        )
        .unwrap();
        let vars = json!({"playbook_dir": dir.path()});
        assert_eq!(
            render_with("{{ lookup('template', 'greet.j2') }}", &vars),
            "hello world! \n"
        );
        assert_eq!(
            render_with(
                "{% set name = 'local' %}{{ lookup('template', 'greet.j2', template_vars={'extra': 'x'}) }}",
                &vars
            ),
            "hello local! x\n"
        );
        let err = render_err_with("{{ lookup('template', 'bad.j2') }}", &vars);
        assert!(
            err.contains("'missing_var' is undefined (in template bad.j2, line 2)"),
            "{err}"
        );
        assert!(
            render_err_with("{{ lookup('template', 'nope.j2') }}", &vars)
                .contains("could not find template 'nope.j2'")
        );
    }

    #[test]
    fn lines_lookup() {
        assert_eq!(
            super::super::render_tests::render("{{ query('lines', 'printf \"a\\nb\\n\"') }}"),
            "['a', 'b']"
        );
    }
}
