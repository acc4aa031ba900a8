//! Ansible's data-structure filters: combine, dict2items/items2dict, flatten,
//! set theory, extract, and JSON/YAML conversion.

use std::path::Path;

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

use super::native;
use super::pyfmt::{JsonStyle, py_json};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("flatten", flatten);
    env.add_filter("difference", difference);
    env.add_filter("intersect", intersect);
    env.add_filter("union", union);
    env.add_filter("symmetric_difference", symmetric_difference);
    env.add_filter("extract", extract);
    env.add_filter("to_json", to_json);
    env.add_filter("to_nice_json", to_nice_json);
    env.add_filter("from_json", from_json);
    env.add_filter("to_yaml", to_yaml);
    env.add_filter("to_nice_yaml", to_nice_yaml);
    env.add_filter("from_yaml", from_yaml);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn undefined() -> Error {
    Error::from(ErrorKind::UndefinedError)
}

fn check_defined(v: &Value) -> Result<(), Error> {
    if v.is_undefined() {
        Err(undefined())
    } else {
        Ok(())
    }
}

/// A map's entries in order.
fn entries(v: &Value) -> Result<Vec<(Value, Value)>, Error> {
    check_defined(v)?;
    if v.kind() != ValueKind::Map {
        return Err(invalid(format!("expected a dictionary, got {}", v.kind())));
    }
    v.try_iter()?
        .map(|k| v.get_item(&k).map(|val| (k, val)))
        .collect()
}

fn list(v: &Value) -> Result<Vec<Value>, Error> {
    check_defined(v)?;
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(v.try_iter()?.collect()),
        other => Err(invalid(format!("expected a list, got {other}"))),
    }
}

/// How `combine` merges two lists under the same key.
#[derive(Clone, Copy)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

/// `combine(*dicts, recursive=False, list_merge='replace')`; the input and
/// arguments may also be lists of dicts (flattened one level).
fn combine(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = match kwargs
        .get::<Option<&str>>("list_merge")?
        .unwrap_or("replace")
    {
        "replace" => ListMerge::Replace,
        "keep" => ListMerge::Keep,
        "append" => ListMerge::Append,
        "prepend" => ListMerge::Prepend,
        "append_rp" => ListMerge::AppendRp,
        "prepend_rp" => ListMerge::PrependRp,
        other => return Err(invalid(format!("combine: unknown list_merge '{other}'"))),
    };
    kwargs.assert_all_used()?;
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(args.iter()) {
        check_defined(term)?;
        match term.kind() {
            ValueKind::Seq | ValueKind::Iterable => dicts.extend(term.try_iter()?),
            _ => dicts.push(term.clone()),
        }
    }
    let mut result: Vec<(Value, Value)> = Vec::new();
    for d in &dicts {
        if d.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "combine: expected dictionaries, got {}",
                d.kind()
            )));
        }
        merge_into(&mut result, d, recursive, list_merge)?;
    }
    Ok(Value::from_iter(result))
}

fn merge_into(
    base: &mut Vec<(Value, Value)>,
    add: &Value,
    recursive: bool,
    lm: ListMerge,
) -> Result<(), Error> {
    for (k, v) in entries(add)? {
        let Some(slot) = base.iter_mut().find(|(bk, _)| *bk == k) else {
            base.push((k, v));
            continue;
        };
        let old = &slot.1;
        let merged = if recursive && old.kind() == ValueKind::Map && v.kind() == ValueKind::Map {
            let mut inner = entries(old)?;
            merge_into(&mut inner, &v, recursive, lm)?;
            Value::from_iter(inner)
        } else if old.kind() == ValueKind::Seq && v.kind() == ValueKind::Seq {
            merge_lists(old, &v, lm)?
        } else {
            v
        };
        slot.1 = merged;
    }
    Ok(())
}

fn merge_lists(old: &Value, new: &Value, lm: ListMerge) -> Result<Value, Error> {
    let (old, new) = (list(old)?, list(new)?);
    let without = |a: &[Value], b: &[Value]| {
        a.iter()
            .filter(|x| !b.contains(x))
            .cloned()
            .collect::<Vec<_>>()
    };
    let out: Vec<Value> = match lm {
        ListMerge::Replace => new,
        ListMerge::Keep => old,
        ListMerge::Append => old.into_iter().chain(new).collect(),
        ListMerge::Prepend => new.into_iter().chain(old).collect(),
        ListMerge::AppendRp => without(&old, &new).into_iter().chain(new).collect(),
        ListMerge::PrependRp => new.iter().cloned().chain(without(&old, &new)).collect(),
    };
    Ok(Value::from(out))
}

/// `dict2items(key_name='key', value_name='value')`.
fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs.get::<Option<&str>>("key_name")?.unwrap_or("key");
    let value_name = kwargs.get::<Option<&str>>("value_name")?.unwrap_or("value");
    kwargs.assert_all_used()?;
    let items = entries(value)?
        .into_iter()
        .map(|(k, v)| Value::from_iter([(key_name, k), (value_name, v)]))
        .collect::<Vec<_>>();
    Ok(Value::from(items))
}

/// `items2dict(key_name='key', value_name='value')`.
fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs.get::<Option<&str>>("key_name")?.unwrap_or("key");
    let value_name = kwargs.get::<Option<&str>>("value_name")?.unwrap_or("value");
    kwargs.assert_all_used()?;
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in list(value)? {
        let k = item.get_attr(key_name)?;
        let v = item.get_attr(value_name)?;
        if k.is_undefined() || v.is_undefined() {
            return Err(invalid(format!(
                "items2dict: each item needs '{key_name}' and '{value_name}'"
            )));
        }
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(Value::from_iter(out))
}

/// `flatten(levels=None, skip_nulls=True)`.
fn flatten(value: &Value, levels: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = kwargs.get::<Option<i64>>("levels")?.or(levels);
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    fn walk(
        items: Vec<Value>,
        levels: Option<i64>,
        skip_nulls: bool,
        out: &mut Vec<Value>,
    ) -> Result<(), Error> {
        for item in items {
            let is_null = item.is_none() || matches!(item.as_str(), Some("None" | "null"));
            if skip_nulls && is_null {
                continue;
            }
            match (item.kind(), levels) {
                (ValueKind::Seq | ValueKind::Iterable, None) => {
                    walk(list(&item)?, None, skip_nulls, out)?
                }
                (ValueKind::Seq | ValueKind::Iterable, Some(n)) if n >= 1 => {
                    walk(list(&item)?, Some(n - 1), skip_nulls, out)?
                }
                _ => out.push(item),
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(list(value)?, levels, skip_nulls, &mut out)?;
    Ok(Value::from(out))
}

fn unique(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = list(b)?;
    Ok(Value::from(unique(
        list(a)?.into_iter().filter(|x| !b.contains(x)),
    )))
}

fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = list(b)?;
    Ok(Value::from(unique(
        list(a)?.into_iter().filter(|x| b.contains(x)),
    )))
}

fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    Ok(Value::from(unique(list(a)?.into_iter().chain(list(b)?))))
}

fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (list(a)?, list(b)?);
    let both: Vec<Value> = a.iter().filter(|x| b.contains(x)).cloned().collect();
    Ok(Value::from(unique(
        a.into_iter().chain(b).filter(|x| !both.contains(x)),
    )))
}

/// `extract(container, morekeys=None)`: `container[item]`, then deeper keys.
fn extract(item: &Value, container: &Value, morekeys: Option<Value>) -> Result<Value, Error> {
    check_defined(item)?;
    let mut value = container.get_item(item)?;
    if let Some(keys) = morekeys {
        let keys = match keys.kind() {
            ValueKind::Seq => list(&keys)?,
            _ => vec![keys],
        };
        for key in keys {
            if value.is_undefined() {
                break;
            }
            value = value.get_item(&key)?;
        }
    }
    Ok(value)
}

fn json_style(kwargs: &Kwargs, indent: Option<usize>, sort_keys: bool) -> Result<JsonStyle, Error> {
    let style = JsonStyle {
        indent: kwargs.get::<Option<usize>>("indent")?.or(indent),
        sort_keys: kwargs
            .get::<Option<bool>>("sort_keys")?
            .unwrap_or(sort_keys),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true),
    };
    kwargs.assert_all_used()?;
    Ok(style)
}

/// `to_json`: Python's `json.dumps` (`", "` and `": "` separators, ASCII).
fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    py_json(value, json_style(&kwargs, None, false)?)
}

/// `to_nice_json(indent=4)`: indented, keys sorted.
fn to_nice_json(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    py_json(value, json_style(&kwargs, Some(indent.unwrap_or(4)), true)?)
}

fn from_json(value: &str) -> Result<Value, Error> {
    let parsed: serde_json::Value = serde_json::from_str(value)
        .map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(native::from_json(&parsed))
}

fn yaml_text(value: &Value) -> Result<String, Error> {
    let data = native::to_json(value)?;
    crate::yaml::to_string(&data).map_err(|e| invalid(e.to_string()))
}

/// `to_yaml`: block-style YAML.
fn to_yaml(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    // PyYAML options Ansible users pass; our emitter has one style.
    let _ = kwargs.get::<Option<Value>>("default_flow_style")?;
    let _ = kwargs.get::<Option<Value>>("width")?;
    let _ = kwargs.get::<Option<Value>>("allow_unicode")?;
    kwargs.assert_all_used()?;
    yaml_text(value)
}

/// `to_nice_yaml(indent=4)`: block-style YAML indented by `indent`.
fn to_nice_yaml(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs
        .get::<Option<usize>>("indent")?
        .or(indent)
        .unwrap_or(4);
    let _ = kwargs.get::<Option<Value>>("width")?;
    let _ = kwargs.get::<Option<Value>>("allow_unicode")?;
    kwargs.assert_all_used()?;
    let text = yaml_text(value)?;
    Ok(reindent(&text, indent))
}

/// Re-indents block YAML written with a two-space step to `step` spaces.
/// Lines inside block scalars (`|`, `>`) keep their content, only their
/// leading structural indent is scaled.
fn reindent(text: &str, step: usize) -> String {
    if step == 2 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() * 2);
    // Indent of the line that opened a block scalar, while inside one.
    let mut scalar_parent: Option<usize> = None;
    let mut scalar_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_start_matches(' ');
        let spaces = line.len() - body.len();
        if let Some(parent) = scalar_parent {
            let blank = body.trim().is_empty();
            let inside = blank || spaces > parent;
            if inside {
                let base = *scalar_indent.get_or_insert(spaces);
                if blank {
                    out.push_str(line.trim_start_matches(' '));
                } else {
                    // Scale the structural part, keep extra content spaces.
                    let extra = spaces.saturating_sub(base);
                    out.extend(std::iter::repeat_n(' ', base / 2 * step + extra));
                    out.push_str(body);
                }
                continue;
            }
            scalar_parent = None;
            scalar_indent = None;
        }
        // "- " items nest one step too: count them as structure.
        out.extend(std::iter::repeat_n(' ', spaces / 2 * step));
        let mut rest = body;
        while let Some(after) = rest.strip_prefix("- ") {
            out.push('-');
            out.extend(std::iter::repeat_n(' ', step - 1));
            rest = after;
        }
        out.push_str(rest);
        let trimmed = body.trim_end();
        if trimmed.ends_with('|')
            || trimmed.ends_with('>')
            || trimmed.ends_with("|-")
            || trimmed.ends_with(">-")
            || trimmed.ends_with("|+")
            || trimmed.ends_with(">+")
        {
            scalar_parent = Some(spaces);
        }
    }
    out
}

/// `from_yaml`: one YAML document to data.
fn from_yaml(value: &str) -> Result<Value, Error> {
    let data = crate::yaml::to_json(value, Path::new("<from_yaml>"))
        .map_err(|e| invalid(e.to_string()))?;
    Ok(native::from_json(&data))
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};
    use super::*;

    #[test]
    fn combine_overrides_and_recursive_merges() {
        // Ansible docs: {{ {'a':1, 'b':2} | combine({'b':3}) }} -> {'a':1, 'b':3}
        assert_eq!(
            render("{{ {'a':1, 'b':2} | combine({'b':3}) }}"),
            "{'a': 1, 'b': 3}"
        );
        // Ansible docs, recursive example.
        let src = "{{ {'a':{'foo':1, 'bar':2}, 'b':2} | combine({'a':{'bar':3, 'baz':4}}, recursive=True) }}";
        assert_eq!(render(src), "{'a': {'foo': 1, 'bar': 3, 'baz': 4}, 'b': 2}");
        let src = "{{ {'a':{'foo':1, 'bar':2}, 'b':2} | combine({'a':{'bar':3, 'baz':4}}) }}";
        assert_eq!(render(src), "{'a': {'bar': 3, 'baz': 4}, 'b': 2}");
        // A list of dicts, and several arguments.
        assert_eq!(
            render("{{ [{'a':1}, {'b':2}, {'a':3}] | combine }}"),
            "{'a': 3, 'b': 2}"
        );
        assert_eq!(
            render("{{ {'a':1} | combine({'b':2}, {'c':3}) }}"),
            "{'a': 1, 'b': 2, 'c': 3}"
        );
    }

    #[test]
    fn combine_list_merge() {
        // Ansible docs: list_merge examples with default: [1,2] patch: [3,4,1]... simplified.
        let base = "{'a': [1, 2]}";
        let patch = "{'a': [2, 3]}";
        let r = |lm: &str| {
            render(&format!(
                "{{{{ {base} | combine({patch}, list_merge='{lm}') }}}}"
            ))
        };
        assert_eq!(r("replace"), "{'a': [2, 3]}");
        assert_eq!(r("keep"), "{'a': [1, 2]}");
        assert_eq!(r("append"), "{'a': [1, 2, 2, 3]}");
        assert_eq!(r("prepend"), "{'a': [2, 3, 1, 2]}");
        assert_eq!(r("append_rp"), "{'a': [1, 2, 3]}");
        assert_eq!(r("prepend_rp"), "{'a': [2, 3, 1]}");
        assert!(render_err("{{ {'a':1} | combine(3) }}").contains("expected dictionaries"));
    }

    #[test]
    fn dict2items_and_items2dict() {
        // Ansible docs: tags: {Application: payment, Environment: dev}
        let src = "{{ {'Application': 'payment', 'Environment': 'dev'} | dict2items }}";
        assert_eq!(
            render(src),
            "[{'key': 'Application', 'value': 'payment'}, {'key': 'Environment', 'value': 'dev'}]"
        );
        let src = "{{ {'a': 1} | dict2items(key_name='k', value_name='v') }}";
        assert_eq!(render(src), "[{'k': 'a', 'v': 1}]");
        let src = "{{ [{'key': 'Application', 'value': 'payment'}, {'key': 'Environment', 'value': 'dev'}] | items2dict }}";
        assert_eq!(
            render(src),
            "{'Application': 'payment', 'Environment': 'dev'}"
        );
        let src = "{{ [{'fruit': 'apple', 'color': 'red'}] | items2dict(key_name='fruit', value_name='color') }}";
        assert_eq!(render(src), "{'apple': 'red'}");
    }

    #[test]
    fn flatten_and_set_theory() {
        // Ansible docs: {{ [3, [4, 2] ] | flatten }} -> [3, 4, 2]
        assert_eq!(render("{{ [3, [4, 2]] | flatten }}"), "[3, 4, 2]");
        assert_eq!(
            render("{{ [3, [4, [2]]] | flatten(levels=1) }}"),
            "[3, 4, [2]]"
        );
        assert_eq!(render("{{ [1, none, [2, 'null']] | flatten }}"), "[1, 2]");
        assert_eq!(
            render("{{ [1, none] | flatten(skip_nulls=false) }}"),
            "[1, None]"
        );
        assert_eq!(
            render("{{ [1, 2, 5, 1, 3, 4, 10] | difference([1, 2, 3, 4, 5, 11, 99]) }}"),
            "[10]"
        );
        assert_eq!(
            render("{{ [1, 2, 5, 3, 4, 10] | intersect([1, 2, 3, 4, 5, 11, 99]) }}"),
            "[1, 2, 5, 3, 4]"
        );
        assert_eq!(
            render("{{ [1, 2, 5, 1, 3, 4, 10] | union([1, 2, 3, 4, 5, 11, 99]) }}"),
            "[1, 2, 5, 3, 4, 10, 11, 99]"
        );
        assert_eq!(
            render("{{ [1, 2, 5, 1, 3, 4, 10] | symmetric_difference([1, 2, 3, 4, 5, 11, 99]) }}"),
            "[10, 11, 99]"
        );
    }

    #[test]
    fn extract_filter() {
        // Ansible docs: {{ [0,2] | map('extract', ['x','y','z']) | list }} -> ['x','z']
        assert_eq!(
            render("{{ [0, 2] | map('extract', ['x', 'y', 'z']) | list }}"),
            "['x', 'z']"
        );
        assert_eq!(
            render("{{ ['x', 'y'] | map('extract', {'x': 42, 'y': 31}) | list }}"),
            "[42, 31]"
        );
        assert_eq!(
            render("{{ ['a'] | map('extract', {'a': {'b': {'c': 5}}}, ['b', 'c']) | list }}"),
            "[5]"
        );
    }

    #[test]
    fn json_filters_match_python() {
        assert_eq!(
            render("{{ {'b': [1, true, none], 'a': 'x'} | to_json }}"),
            r#"{"b": [1, true, null], "a": "x"}"#
        );
        assert_eq!(
            render("{{ {'b': 1, 'a': [2]} | to_nice_json }}"),
            "{\n    \"a\": [\n        2\n    ],\n    \"b\": 1\n}"
        );
        assert_eq!(
            render("{{ {'b': 1} | to_nice_json(indent=2) }}"),
            "{\n  \"b\": 1\n}"
        );
        assert_eq!(
            render("{{ ('{\"a\": [1, 2.5, null]}' | from_json).a }}"),
            "[1, 2.5, None]"
        );
        assert!(render_err("{{ '{' | from_json }}").contains("invalid JSON"));
    }

    #[test]
    fn yaml_filters() {
        assert_eq!(
            render("{{ ('a: 1\\nb: [x, y]\\n' | from_yaml).b }}"),
            "['x', 'y']"
        );
        assert_eq!(render("{{ ('mode: 0644' | from_yaml).mode }}"), "420");
        let y = render("{{ {'a': 1, 'b': ['x', 'y']} | to_yaml }}");
        assert_eq!(
            crate::yaml::to_json(&y, Path::new("t")).unwrap(),
            serde_json::json!({"a": 1, "b": ["x", "y"]})
        );
        let nice =
            render("{{ {'a': {'b': {'c': 1}}, 'l': ['x', {'k': 'v', 'w': 2}]} | to_nice_yaml }}");
        assert!(nice.contains("\n    b:\n        c: 1\n"), "{nice}");
        assert_eq!(
            crate::yaml::to_json(&nice, Path::new("t")).unwrap(),
            serde_json::json!({"a": {"b": {"c": 1}}, "l": ["x", {"k": "v", "w": 2}]})
        );
    }

    #[test]
    fn reindent_keeps_block_scalar_content() {
        let text = "a:\n  b: |\n    line\n      indented\n\n    end\n  c: 1\n";
        assert_eq!(
            reindent(text, 4),
            "a:\n    b: |\n        line\n          indented\n\n        end\n    c: 1\n"
        );
        assert_eq!(
            reindent("- a\n- - b\n  - c\n", 4),
            "-   a\n-   -   b\n    -   c\n"
        );
    }
}
