//! Smaller Ansible filters used in templates: `comment` (for
//! `{{ ansible_managed | comment }}` headers), `random`, `shuffle`.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::pyfmt::py_str;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("comment", comment);
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `comment(style='plain', decoration=..., prefix=..., postfix=..., ...)`:
/// the text as a comment block in the style of the target file.
fn comment(text: &Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    if text.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let text = py_str(text)?;
    let style = kwargs
        .get::<Option<String>>("style")?
        .or(style)
        .unwrap_or_else(|| "plain".into());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(invalid(format!(
                "comment: invalid style '{other}' (plain, erlang, c, cblock, xml)"
            )));
        }
    };
    let get = |key: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs
            .get::<Option<String>>(key)?
            .unwrap_or_else(|| default.to_string()))
    };
    let decoration = get("decoration", decoration)?;
    let newline = get("newline", "\n")?;
    let beginning = get("beginning", beginning)?;
    let end = get("end", end)?;
    // Prefix and postfix lines default to the decoration without its spaces.
    let prefix = get("prefix", decoration.trim_end())?;
    let postfix = get("postfix", decoration.trim_end())?;
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kwargs.assert_all_used()?;

    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        for _ in 0..prefix_count {
            if prefix != newline {
                out.push_str(&prefix);
            }
            out.push_str(&newline);
        }
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    // A line holding only the decoration loses its trailing spaces.
    let bare = format!("{}{newline}", decoration.trim_end());
    out.push_str(&body.replace(&format!("{decoration}{newline}"), &bare));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

fn rng(seed: Option<Value>) -> Result<rand::rngs::StdRng, Error> {
    Ok(match seed {
        // Same seed, same result (not the same numbers as Python's).
        Some(s) => {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(py_str(&s)?.as_bytes());
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&digest);
            rand::rngs::StdRng::from_seed(bytes)
        }
        None => rand::rngs::StdRng::from_entropy(),
    })
}

/// `random(start=0, step=1, seed=None)`: a number below an integer end, or an
/// item of a list.
fn random(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let start = kwargs.get::<Option<i64>>("start")?.unwrap_or(0);
    let step = kwargs.get::<Option<i64>>("step")?.unwrap_or(1);
    let mut rng = rng(kwargs.get::<Option<Value>>("seed")?)?;
    kwargs.assert_all_used()?;
    match value.kind() {
        ValueKind::Undefined => Err(Error::from(ErrorKind::UndefinedError)),
        ValueKind::Number if value.is_integer() => {
            let end = value
                .as_i64()
                .ok_or_else(|| invalid("random: end out of range"))?;
            if step <= 0 || end <= start {
                return Err(invalid(format!(
                    "random: empty range [{start}, {end}) with step {step}"
                )));
            }
            let n = (end - start + step - 1) / step;
            Ok(Value::from(start + rng.gen_range(0..n) * step))
        }
        ValueKind::Seq | ValueKind::String => {
            let items: Vec<Value> = value.try_iter()?.collect();
            items
                .choose(&mut rng)
                .cloned()
                .ok_or_else(|| invalid("random: empty sequence"))
        }
        other => Err(invalid(format!(
            "random: expects an integer or a list, got {other}"
        ))),
    }
}

/// `shuffle(seed=None)`: the items in random order.
fn shuffle(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let mut rng = rng(kwargs.get::<Option<Value>>("seed")?)?;
    kwargs.assert_all_used()?;
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    let mut items: Vec<Value> = value.try_iter()?.collect();
    items.shuffle(&mut rng);
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use super::super::render_tests::{render, render_err};

    #[test]
    fn comment_styles_match_ansible() {
        // Ansible docs: {{ "Plain style (default)" | comment }}
        assert_eq!(
            render("{{ 'Plain style (default)' | comment }}"),
            "#\n# Plain style (default)\n#"
        );
        assert_eq!(
            render("{{ 'C style' | comment('c') }}"),
            "//\n// C style\n//"
        );
        assert_eq!(
            render("{{ 'C block style' | comment('cblock') }}"),
            "/*\n *\n * C block style\n *\n */"
        );
        assert_eq!(
            render("{{ 'Erlang style' | comment('erlang') }}"),
            "%\n% Erlang style\n%"
        );
        assert_eq!(
            render("{{ 'XML style' | comment('xml') }}"),
            "<!--\n -\n - XML style\n -\n-->"
        );
        assert_eq!(render("{{ 'a\\n\\nb' | comment }}"), "#\n# a\n#\n# b\n#");
        assert_eq!(
            render(
                "{{ 'Custom style' | comment('plain', prefix='#######\\n#', postfix='#\\n#######\\n   ###\\n    #') }}"
            ),
            "#######\n#\n# Custom style\n#\n#######\n   ###\n    #"
        );
        assert!(render_err("{{ 'x' | comment('fortran') }}").contains("invalid style"));
    }

    #[test]
    fn random_and_shuffle() {
        for _ in 0..20 {
            let n: i64 = render("{{ 60 | random }}").parse().unwrap();
            assert!((0..60).contains(&n));
            let n: i64 = render("{{ 101 | random(start=1, step=10) }}")
                .parse()
                .unwrap();
            assert!((1..=101).contains(&n) && (n - 1) % 10 == 0, "{n}");
        }
        assert!(["a", "b"].contains(&render("{{ ['a', 'b'] | random }}").as_str()));
        // A seed makes it repeatable (cron minutes per host).
        let a = render("{{ 60 | random(seed='web1') }}");
        assert_eq!(a, render("{{ 60 | random(seed='web1') }}"));
        let mut shuffled: Vec<i64> =
            serde_json::from_str(&render("{{ [1, 2, 3, 4] | shuffle | to_json }}")).unwrap();
        shuffled.sort();
        assert_eq!(shuffled, [1, 2, 3, 4]);
        assert_eq!(
            render("{{ [1, 2, 3] | shuffle(seed=1) }}"),
            render("{{ [1, 2, 3] | shuffle(seed=1) }}")
        );
        assert!(render_err("{{ 0 | random }}").contains("empty range"));
    }
}
