//! `template`: a Jinja2 file rendered on the controller with the task's
//! variables, then installed like `copy` (atomic write, mode, owner, backup,
//! validate, --diff).

use std::path::Path;

use serde_json::Value;

use super::{Arg, Args, Module, ModuleError, Plan, PlanCtx, Spec, copy};
use crate::template::Vars;

pub struct Template;

static SPEC: Spec = Spec::new(&[
    Arg::str("src").required(),
    Arg::str("dest").required().aliases(&["path"]),
    Arg::mode("mode"),
    Arg::str("owner"),
    Arg::str("group"),
    Arg::bool("force"),
    Arg::bool("backup"),
    Arg::str("validate"),
    Arg::str("newline_sequence").choices(&["\\n", "\\r", "\\r\\n"]),
    Arg::bool("trim_blocks"),
    Arg::bool("lstrip_blocks"),
    Arg::str("output_encoding"),
    Arg::bool("follow"),
    Arg::bool("unsafe_writes"),
]);

impl Module for Template {
    fn name(&self) -> &'static str {
        "template"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let src = args.req_str("src")?;
        let dest = args.req_str("dest")?;
        if args.bool("follow", false)? {
            // The shared atomic write replaces a link at dest with a file.
            return Err(ModuleError::BadArg {
                module: "template",
                arg: "follow".into(),
                msg: "follow: true is not supported; give the link's target as dest".into(),
            });
        }
        let path = ctx.find_file("template", "templates", &src)?;
        let text = std::fs::read_to_string(&path).map_err(|e| ModuleError::Other {
            module: "template",
            msg: format!("cannot read template {}: {e}", path.display()),
        })?;
        let enc = args
            .str_or("output_encoding", "utf-8")?
            .to_ascii_lowercase();
        if !matches!(enc.as_str(), "utf-8" | "utf8") {
            // Every target we drive is UTF-8; re-encoding would need tables we
            // do not carry, and silently writing UTF-8 would be wrong.
            return Err(ModuleError::BadArg {
                module: "template",
                arg: "output_encoding".into(),
                msg: format!("only utf-8 is supported, got {enc}"),
            });
        }
        let text = whitespace_options(
            &text,
            args.bool("trim_blocks", true)?,
            args.bool("lstrip_blocks", false)?,
        );
        let name = path.display().to_string();
        let vctx = ctx
            .vars
            .with_raw(&template_vars(&path, &src, &dest, ctx.host));
        let mut out =
            ctx.templar
                .render_text(&name, &text, &vctx)
                .map_err(|e| ModuleError::Other {
                    module: "template",
                    msg: e.to_string(),
                })?;
        let nl = match args.str_or("newline_sequence", "\\n")?.as_str() {
            "\\r" => "\r",
            "\\r\\n" => "\r\n",
            _ => "\n",
        };
        if nl != "\n" {
            out = out.replace('\n', nl);
        }
        Ok(Plan::Remote(copy::put_body(
            &dest,
            out.as_bytes(),
            args,
            "template",
        )?))
    }
}

/// The variables Ansible's template module adds for the template itself.
fn template_vars(path: &Path, src: &str, dest: &str, host: &str) -> Vars {
    let mut v = Vars::new();
    let full = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let uid = std::fs::metadata(path)
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid().to_string()
        })
        .unwrap_or_default();
    let s = |x: &str| Value::String(x.to_string());
    v.insert("template_path".into(), s(src));
    v.insert("template_fullpath".into(), s(&full.display().to_string()));
    v.insert("template_destpath".into(), s(dest));
    v.insert("template_host".into(), s(host));
    v.insert("template_uid".into(), s(&uid));
    // Ansible's default DEFAULT_MANAGED_STR since 2.x; a fixed string keeps
    // the output stable so a second run changes nothing.
    v.insert("ansible_managed".into(), s("Ansible managed"));
    v
}

/// Ansible exposes Jinja2's `trim_blocks` and `lstrip_blocks`; our shared
/// environment always trims and never lstrips, so other settings are written
/// into the template text with Jinja's own per-tag markers (`+%}` keeps the
/// newline after a tag; lstrip removes the indentation before a tag that
/// starts a line). Lines stay where they were, so error lines still match.
fn whitespace_options(text: &str, trim_blocks: bool, lstrip_blocks: bool) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut line = line;
        if lstrip_blocks {
            let body = line.trim_start_matches([' ', '\t']);
            if (body.starts_with("{%") && !body.starts_with("{%+"))
                || (body.starts_with("{#") && !body.starts_with("{#+"))
            {
                line = body;
            }
        }
        if trim_blocks {
            out.push_str(line);
        } else {
            // `%}` not already carrying a marker gets `+`.
            let mut rest = line;
            while let Some(pos) = rest.find("%}") {
                let before = &rest[..pos];
                out.push_str(before);
                if !before.ends_with(['-', '+']) {
                    out.push('+');
                }
                out.push_str("%}");
                rest = &rest[pos + 2..];
            }
            out.push_str(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::whitespace_options;

    #[test]
    fn whitespace_options_rewrite_tags_only() {
        let t = "a\n  {% if x %}\nb\n  {%- endif -%}\n";
        assert_eq!(whitespace_options(t, true, false), t);
        assert_eq!(
            whitespace_options(t, true, true),
            "a\n{% if x %}\nb\n{%- endif -%}\n"
        );
        assert_eq!(
            whitespace_options(t, false, false),
            "a\n  {% if x +%}\nb\n  {%- endif -%}\n"
        );
    }
}
