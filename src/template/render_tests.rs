//! Engine-level tests (native types, strict undefined, conditionals, template
//! files, builtin filters) and the helpers the filter tests share.

use serde_json::{Value as Json, json};

use std::sync::Arc;

use super::{Context, Templar, TemplateError, Vars};

/// Variables every filter test can use.
fn base_vars() -> Json {
    json!({
        "empty": "",
        "zero": 0,
        "dict": {"a": 1, "b": [1, 2]},
        "users": [{"name": "alice", "admin": true, "uid": 1001}, {"name": "bob", "admin": false, "uid": 1002}],
        "ok_result": {"changed": true, "failed": false, "rc": 0},
        "failed_result": {"failed": true, "rc": 2, "msg": "boom"},
        "skipped_result": {"skipped": true, "changed": false},
        "loop_result": {"results": [{"changed": false}, {"changed": true}]},
        "flag": true,
        "name": "world",
    })
}

fn ctx_with(extra: &Json) -> Context {
    let mut vars: Vars = base_vars().as_object().cloned().unwrap_or_default();
    if let Some(extra) = extra.as_object() {
        vars.extend(extra.clone());
    }
    Context::new(&vars)
}

/// Renders `src` (forced to text, as inside a larger string) with the base vars.
pub fn render(src: &str) -> String {
    render_with(src, &json!({}))
}

pub fn render_with(src: &str, extra: &Json) -> String {
    let t = Templar::new();
    match t.render_text("test", src, &ctx_with(extra)) {
        Ok(s) => s,
        Err(e) => panic!("rendering {src:?} failed: {e}"),
    }
}

pub fn render_err(src: &str) -> String {
    render_err_with(src, &json!({}))
}

pub fn render_err_with(src: &str, extra: &Json) -> String {
    match Templar::new().render_text("test", src, &ctx_with(extra)) {
        Ok(s) => panic!("rendering {src:?} should fail, gave {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn native(src: &str) -> Json {
    Templar::new()
        .render_str(src, &ctx_with(&json!({})))
        .unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn cond(expr: &str) -> bool {
    Templar::new()
        .eval_bool(expr, &ctx_with(&json!({})))
        .unwrap_or_else(|e| panic!("{expr:?}: {e}"))
}

#[test]
fn plain_strings_come_back_unchanged() {
    assert_eq!(native("just text { } }}"), json!("just text { } }}"));
    assert!(!Templar::is_template("a { b } c"));
    assert!(Templar::is_template("{# c #}"));
    assert!(Templar::is_template("{% if x %}{% endif %}"));
}

#[test]
fn single_expression_keeps_native_type() {
    assert_eq!(native("{{ dict }}"), json!({"a": 1, "b": [1, 2]}));
    assert_eq!(native("  {{ dict.b }}  "), json!([1, 2]));
    assert_eq!(native("{{ zero + 5 }}"), json!(5));
    assert_eq!(native("{{ flag }}"), json!(true));
    assert_eq!(native("{{ none }}"), json!(null));
    assert_eq!(native("{{ 1.5 }}"), json!(1.5));
    assert_eq!(native("{{- name -}}"), json!("world"));
    assert_eq!(native("{{ name }}\n"), json!("world\n"));
    assert_eq!(native(" {{- name }}\n"), json!("world\n"));
    assert_eq!(native(" {{ name -}}\n"), json!(" world"));
    assert_eq!(native(" {{ zero }}\n"), json!(0));
    assert_eq!(
        native("{{ users | map(attribute='name') | list }}"),
        json!(["alice", "bob"])
    );
    assert_eq!(native("{{ {'a': {'b': 1}} }}"), json!({"a": {"b": 1}}));
    assert_eq!(native("{{ '}}' }}"), json!("}}"));
    // More than one expression, or text around: a string, Python-formatted.
    assert_eq!(native("{{ zero }}{{ zero }}"), json!("00"));
    assert_eq!(native("{{ flag }} and {{ none }}!"), json!("True and !"));
    assert_eq!(native("x={{ dict.b }}"), json!("x=[1, 2]"));
    assert_eq!(native("{{ zero }} {# c #}"), json!("0 "));
}

#[test]
fn strict_undefined_names_the_variable() {
    let t = Templar::new();
    let ctx = ctx_with(&json!({}));
    let err = t.render_str("{{ foo }}", &ctx).unwrap_err();
    assert!(matches!(err, TemplateError::Undefined { .. }), "{err:?}");
    assert_eq!(err.to_string(), "'foo' is undefined (in \"{{ foo }}\")");
    let err = t
        .render_str("x {{ foo + 1 }}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'foo' is undefined"), "{err}");
    let err = t
        .render_str("{{ zero + foo }}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'foo' is undefined"), "{err}");
    let err = t
        .render_str("{{ dict.nope }}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'dict.nope' is undefined"), "{err}");
    let err = t
        .render_str("a {{ dict.nope }} b", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'dict.nope' is undefined"), "{err}");
    let err = t
        .render_str("{{ [1, foo] }}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'foo' is undefined"), "{err}");
    let err = t
        .render_text(
            "motd.j2",
            "line1\n{% for x in nope %}{{ x }}{% endfor %}\n",
            &ctx,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "'nope' is undefined (in template motd.j2, line 2)"
    );
    let err = t.eval_bool("nope", &ctx).unwrap_err().to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    let err = t.eval_bool("nope == 1", &ctx).unwrap_err().to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    let err = t.eval_bool("not nope", &ctx).unwrap_err().to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    // Loop variables set inside the template are not blamed.
    let err = t
        .render_text("t", "{% for u in users %}{{ u.nope }}{% endfor %}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'u.nope' is undefined"), "{err}");
}

#[test]
fn syntax_and_filter_errors_are_reported() {
    let t = Templar::new();
    let ctx = ctx_with(&json!({}));
    let err = t
        .render_str("{{ zero | no_such_filter }}", &ctx)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "filter no_such_filter is unknown (in \"{{ zero | no_such_filter }}\")"
    );
    let err = t.render_text("bad.j2", "ok\n{% if %}\n", &ctx).unwrap_err();
    assert!(matches!(err, TemplateError::Syntax { .. }), "{err:?}");
    assert!(err.to_string().contains("bad.j2, line 2"), "{err}");
    let err = t.eval_bool("zero ==", &ctx).unwrap_err();
    assert!(matches!(err, TemplateError::Syntax { .. }), "{err:?}");
}

#[test]
fn eval_bool_truthiness() {
    assert!(cond("flag"));
    assert!(cond("{{ flag }}"));
    assert!(cond("zero == 0"));
    assert!(!cond("zero"));
    assert!(cond(
        "dict.a == 1 and 'alice' in users | map(attribute='name')"
    ));
    assert!(!cond("empty"));
    assert!(!cond("'False'"));
    assert!(!cond("'no'"));
    assert!(cond("'yes'"));
    assert!(cond("'some text'"));
    assert!(!cond("none"));
    assert!(!cond("[]"));
    assert!(cond("dict"));
    assert!(cond("nope is not defined"));
    assert!(cond("dict.missing is undefined"));
    assert!(cond("failed_result is failed"));
    assert!(cond("ok_result.rc == 0"));
    // Old style with templates inside.
    assert!(cond("{{ zero }} == 0"));
    let t = Templar::new();
    let vars = json!({"s": "False", "y": "yes"});
    let ctx = ctx_with(&vars);
    assert!(!t.eval_bool("s", &ctx).unwrap());
    assert!(t.eval_bool("y", &ctx).unwrap());
    assert_eq!(t.eval("dict.b | length", &ctx).unwrap(), json!(2));
    assert_eq!(t.eval("{{ dict.b }}", &ctx).unwrap(), json!([1, 2]));
}

#[test]
fn render_value_renders_nested_strings_and_keys() {
    let t = Templar::new();
    let ctx = ctx_with(&json!({}));
    let v = json!({"a": "{{ zero }}", "{{ name }}_key": ["x {{ name }}", 3, {"n": "{{ dict.b }}"}], "plain": true});
    assert_eq!(
        t.render_value(&v, &ctx).unwrap(),
        json!({"a": 0, "world_key": ["x world", 3, {"n": [1, 2]}], "plain": true})
    );
}

#[test]
fn template_files_keep_trailing_newline_and_trim_blocks() {
    let t = Templar::new();
    let ctx = ctx_with(&json!({}));
    let src = "# managed\n{% for u in users %}\nuser {{ u.name }} admin={{ u.admin }}\n{% endfor %}\n{% if flag %}\nflag on\n{% endif %}\n";
    assert_eq!(
        t.render_text("users.conf.j2", src, &ctx).unwrap(),
        "# managed\nuser alice admin=True\nuser bob admin=False\nflag on\n"
    );
    assert_eq!(
        t.render_text("x.html", "<{{ '<b>' }}>\n\n", &ctx).unwrap(),
        "<<b>>\n\n"
    );
    assert_eq!(native("a\n{{ name }}\n"), json!("a\nworld\n"));
}

#[test]
fn context_layers_share_the_base() {
    let base = ctx_with(&json!({}));
    let mut extra = Vars::new();
    extra.insert("item".into(), json!({"n": 1}));
    extra.insert("name".into(), json!("override"));
    let layered = base.with(&extra);
    let t = Templar::new();
    assert_eq!(
        t.render_str("{{ item.n }} {{ name }} {{ zero }}", &layered)
            .unwrap(),
        json!("1 override 0")
    );
    assert!(layered.contains("item") && !base.contains("item"));
    assert!(t.render_str("{{ item }}", &base).is_err());
}

#[test]
fn python_methods_work() {
    assert_eq!(render("{{ 'a,b'.split(',') }}"), "['a', 'b']");
    assert_eq!(render("{{ name.startswith('wor') }}"), "True");
    assert_eq!(render("{{ name.upper() }}"), "WORLD");
    assert_eq!(render("{{ ' x '.strip() }}"), "x");
    assert_eq!(
        render("{{ dict.items() | list }}"),
        "[['a', 1], ['b', [1, 2]]]"
    );
    assert_eq!(render("{{ dict.keys() | list }}"), "['a', 'b']");
    assert_eq!(render("{{ dict.get('zz', 'dflt') }}"), "dflt");
    assert_eq!(render("{{ True and not False }}"), "True");
    assert_eq!(render("{{ None is none }}"), "True");
}

#[test]
fn builtin_filters_behave_like_jinja2() {
    assert_eq!(render("{{ 'HeLLo' | lower }}"), "hello");
    assert_eq!(render("{{ 'HeLLo' | upper }}"), "HELLO");
    assert_eq!(render("{{ '  x  ' | trim }}"), "x");
    assert_eq!(render("{{ 'aXbX' | replace('X', '-') }}"), "a-b-");
    // Ansible docs: {{ csv_string | split(",") }}
    assert_eq!(
        render("{{ 'jan,feb,mar' | split(',') }}"),
        "['jan', 'feb', 'mar']"
    );
    assert_eq!(render("{{ 'a b  c' | split }}"), "['a', 'b', 'c']");
    assert_eq!(render("{{ [1, 2, 3] | length }}"), "3");
    assert_eq!(render("{{ 'abc' | length }}"), "3");
    assert_eq!(render("{{ dict | length }}"), "2");
    assert_eq!(render("{{ [1, 2, 3] | first }}"), "1");
    assert_eq!(render("{{ [1, 2, 3] | last }}"), "3");
    // Ansible docs: {{ [1, 2, 5, 1, 3, 4, 10] | unique }} -> [1, 2, 5, 3, 4, 10]
    assert_eq!(
        render("{{ [1, 2, 5, 1, 3, 4, 10] | unique }}"),
        "[1, 2, 5, 3, 4, 10]"
    );
    assert_eq!(render("{{ [3, 1, 2] | sort }}"), "[1, 2, 3]");
    assert_eq!(render("{{ ['b', 'A', 'c'] | sort }}"), "['A', 'b', 'c']");
    assert_eq!(render("{{ [3, 1, 2] | sort(reverse=true) }}"), "[3, 2, 1]");
    assert_eq!(
        render(
            "{{ users | sort(attribute='uid', reverse=true) | map(attribute='name') | join(',') }}"
        ),
        "bob,alice"
    );
    assert_eq!(render("{{ ['1', '2'] | map('int') | sum }}"), "3");
    assert_eq!(
        render("{{ users | map(attribute='name') | map('upper') | list }}"),
        "['ALICE', 'BOB']"
    );
    assert_eq!(render("{{ [0, 1, '', 'a'] | select | list }}"), "[1, 'a']");
    assert_eq!(
        render("{{ [1, 2, 3, 4] | select('odd') | list }}"),
        "[1, 3]"
    );
    assert_eq!(
        render("{{ [1, 2, 3, 4] | reject('odd') | list }}"),
        "[2, 4]"
    );
    assert_eq!(render("{{ [1, 5, 9] | select('gt', 4) | list }}"), "[5, 9]");
    assert_eq!(
        render("{{ users | selectattr('admin') | map(attribute='name') | list }}"),
        "['alice']"
    );
    assert_eq!(
        render("{{ users | rejectattr('admin') | map(attribute='name') | list }}"),
        "['bob']"
    );
    assert_eq!(
        render("{{ users | selectattr('name', 'equalto', 'bob') | map(attribute='uid') | first }}"),
        "1002"
    );
    assert_eq!(
        render("{{ users | selectattr('name', 'match', 'a.*') | list | length }}"),
        "1"
    );
    assert_eq!(render("{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }}"), "1 3");
    assert_eq!(render("{{ dict | dictsort | first }}"), "['a', 1]");
    assert_eq!(render("{{ 'x' ~ 1 }}"), "x1");
    assert_eq!(render("{{ 7 // 2 }} {{ 7 % 4 }} {{ 2 ** 3 }}"), "3 3 8");
}

#[test]
fn templar_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Templar>();
    check::<Context>();
}

#[test]
fn attributes_of_undefined_chain_like_ansible() {
    assert_eq!(render("{{ nope.bar | default('x') }}"), "x");
    assert_eq!(render("{{ nope['a'].b | default('x') }}"), "x");
    assert_eq!(render("{{ dict.missing.deeper | default(1) }}"), "1");
    assert_eq!(render("{{ nope.bar.baz is defined }}"), "False");
    assert_eq!(render("{% if nope.bar is undefined %}u{% endif %}"), "u");
    assert!(!cond("nope.x is defined"));
    assert!(cond("dict.missing.deeper is undefined"));
    assert_eq!(
        native(
            "{{ nope.x | default(omitted) }}"
                .replace("omitted", "[1]")
                .as_str()
        ),
        json!([1])
    );
    // Using the undefined result is still an error.
    assert!(
        render_err("{{ nope.bar }}").starts_with("'nope' is undefined"),
        "{}",
        render_err("{{ nope.bar }}")
    );
    assert!(
        render_err("{{ dict.missing.deeper }}").starts_with("'dict.missing.deeper' is undefined")
    );
    let t = Templar::new();
    let err = t
        .eval_bool("nope.bar", &ctx_with(&json!({})))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    let err = t
        .render_str("{{ nope.bar }}", &ctx_with(&json!({})))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    assert!(render_err("{% if nope %}x{% endif %}").starts_with("'nope' is undefined"));
    assert!(render_err("{% for x in nope %}{% endfor %}").starts_with("'nope' is undefined"));
    // Anything but default/defined on the chain is an error, as in Ansible.
    assert!(render_err("{{ nope.x | upper }}").starts_with("'nope' is undefined"));
    assert!(render_err("{% for i in nope.x %}{% endfor %}").starts_with("'nope' is undefined"));
    let err = t
        .eval_bool("dict.b | length > nope.x", &ctx_with(&json!({})))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    let err = t
        .eval_bool("nope | bool", &ctx_with(&json!({})))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
    let err = t
        .render_str("{{ range(nope) }}", &ctx_with(&json!({})))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'nope' is undefined"), "{err}");
}

#[test]
fn lazy_context_converts_on_use_and_shares() {
    let mut hosts = Vars::new();
    hosts.insert("web1".into(), json!({"ip": "10.0.0.1", "roles": ["web"]}));
    hosts.insert("db1".into(), json!({"ip": "10.0.0.2"}));
    let hostvars = Context::lazy(Arc::new(hosts));
    let host = ctx_with(&json!({"inventory_hostname": "web1"}));
    let ctx = host.with_context("hostvars", &hostvars);
    let t = Templar::new();
    assert_eq!(
        t.render_str("{{ hostvars[inventory_hostname].ip }}", &ctx)
            .unwrap(),
        json!("10.0.0.1")
    );
    assert_eq!(
        t.render_str("{{ hostvars['db1']['ip'] }}", &ctx).unwrap(),
        json!("10.0.0.2")
    );
    assert_eq!(
        t.render_str("{{ hostvars.keys() | list }}", &ctx).unwrap(),
        json!(["web1", "db1"])
    );
    assert_eq!(
        t.render_str("{{ hostvars | length }}", &ctx).unwrap(),
        json!(2)
    );
    assert_eq!(
        t.render_str("{{ hostvars }}", &ctx).unwrap(),
        json!({"web1": {"ip": "10.0.0.1", "roles": ["web"]}, "db1": {"ip": "10.0.0.2"}})
    );
    assert!(t.eval_bool("hostvars.nope is undefined", &ctx).unwrap());
    assert_eq!(ctx.get("inventory_hostname"), Some(json!("web1")));
    assert_eq!(ctx.get("nope"), None);
    let err = t
        .render_str("{{ hostvars.db1.nope }}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("'hostvars.db1.nope' is undefined"), "{err}");
}

#[test]
fn template_files_can_include_import_and_extend() {
    let dir = tempfile::tempdir().unwrap();
    let tdir = dir.path().join("templates");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(tdir.join("header.j2"), "# header for {{ name }}\n").unwrap();
    std::fs::write(
        tdir.join("macros.j2"),
        "{% macro kv(k, v) %}{{ k }}={{ v }}{% endmacro %}",
    )
    .unwrap();
    std::fs::write(
        tdir.join("base.j2"),
        "start\n{% block body %}{% endblock %}\nend\n",
    )
    .unwrap();
    std::fs::write(tdir.join("broken.j2"), "ok\n{{ missing_in_include }}\n").unwrap();
    let t = Templar::new();
    let ctx = ctx_with(&json!({"playbook_dir": dir.path()}));
    let main = "{% include 'header.j2' %}{% import 'macros.j2' as m %}{{ m.kv('a', 1) }}\n";
    assert_eq!(
        t.render_text("main.j2", main, &ctx).unwrap(),
        "# header for world\na=1\n"
    );
    let child = "{% extends 'base.j2' %}{% block body %}body {{ zero }}{% endblock %}";
    // trim_blocks eats the newline after `{% endblock %}`, as in Jinja2.
    assert_eq!(
        t.render_text("child.j2", child, &ctx).unwrap(),
        "start\nbody 0end\n"
    );
    let err = t
        .render_text("main.j2", "{% include 'broken.j2' %}", &ctx)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "'missing_in_include' is undefined (in template broken.j2, line 2)"
    );
    let err = t
        .render_text("main.j2", "{% include 'absent.j2' %}", &ctx)
        .unwrap_err()
        .to_string();
    assert!(err.contains("could not find template 'absent.j2'"), "{err}");
    // Next to the template itself.
    let local = dir.path().join("local");
    std::fs::create_dir_all(&local).unwrap();
    std::fs::write(local.join("part.j2"), "part").unwrap();
    let main_path = local.join("main.j2");
    let out = t
        .render_text(
            &main_path.display().to_string(),
            "[{% include 'part.j2' %}]",
            &ctx,
        )
        .unwrap();
    assert_eq!(out, "[part]");
}

#[test]
fn variable_compiling_a_new_template_inside_a_cached_one_does_not_deadlock() {
    let t = Templar::new();
    let outer = "{{ regression_deadlock_var }} outer 5b1e";
    let plain = ctx_with(&json!({"regression_deadlock_var": "plain"}));
    // The first render puts the outer template in the cache.
    assert_eq!(
        t.render_str(outer, &plain).unwrap(),
        json!("plain outer 5b1e")
    );
    // Now the variable holds a template never seen before: compiling it while
    // the cached outer template renders must not wait on the cache's lock.
    let nested = ctx_with(&json!({"regression_deadlock_var": "{{ zero }} nested 5b1e"}));
    assert_eq!(
        t.render_str(outer, &nested).unwrap(),
        json!("0 nested 5b1e outer 5b1e")
    );
}

#[test]
fn fuzz_crash_empty_lexer_stack_is_an_error_not_a_panic() {
    let t = Templar::new();
    let ctx = ctx_with(&json!({"name": "web1", "items": [1]}));
    let text = "{{ name | minupper }}ii n items %} }}\n";
    assert!(t.render_text("fuzz.j2", text, &ctx).is_err());
    assert!(t.eval_bool(text, &ctx).is_err());
    assert!(t.eval("x }} y", &ctx).is_err());
    assert_eq!(
        t.eval("{'a': {'b': 2}}", &ctx).unwrap(),
        json!({"a": {"b": 2}})
    );
}
