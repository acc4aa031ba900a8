//! The modules: one file each, all with the same small contract.
//!
//! A module declares its arguments ([`Spec`], checked when the playbook is
//! parsed), then for each invocation [`Module::plan`]s either a POSIX shell
//! body that runs on the host (it checks the state, changes it unless in check
//! mode, and reports through the prelude's `cp_*` records) or an outcome decided
//! on the controller. [`Module::finish`] turns the host's records into an
//! [`Outcome`]. Adding a module: write the file, add it to [`ALL`].

mod args;
mod outcome;
pub mod protocol;
pub mod sh;
mod spec;

mod assert;
mod command;
mod copy;
mod debug;
mod fail;
mod file;
mod set_fact;
mod shell;

// Core modules (files, text, waiting): one line each.
mod blockinfile;
mod lineinfile;
mod pause;
mod raw;
mod replace;
mod slurp;
mod stat;
mod template;
mod uri;
mod wait_for;

// System modules (packages, services, mounts, users, keys): one line each.
mod apt;
mod authorized_key;
mod group;
mod known_hosts;
mod mount;
mod ssh_keypair;
mod swapfile;
mod sysctl;
mod systemd;
mod user;

// Container and load-balancer modules: one line each.
mod docker;
mod docker_compose;
mod docker_image;
mod docker_stack;
mod docker_swarm;
mod haproxy;

pub use args::{Args, to_bool};
pub use outcome::{Diff, Outcome, Raw};
pub use spec::{Arg, FreeForm, Kind, Spec};

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::template::{Context, Templar};

#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("{module}: missing required argument: {arg}")]
    Missing { module: &'static str, arg: String },
    #[error("{module}: argument {arg}: {msg}")]
    BadArg {
        module: &'static str,
        arg: String,
        msg: String,
    },
    #[error("{module}: {msg}")]
    Other { module: &'static str, msg: String },
}

/// What the controller knows when it plans a module for one host.
pub struct PlanCtx<'a> {
    pub host: &'a str,
    pub check: bool,
    pub diff: bool,
    pub templar: &'a Templar,
    pub vars: &'a Context,
    /// Where `src:` of copy/template is looked for, most specific first
    /// (the role's files/ or templates/, the role, the playbook's directory).
    pub search: &'a [PathBuf],
}

impl PlanCtx<'_> {
    /// Finds a controller-side file for `src:`.
    pub fn find_file(
        &self,
        module: &'static str,
        sub: &str,
        name: &str,
    ) -> Result<PathBuf, ModuleError> {
        let p = PathBuf::from(name);
        if p.is_absolute() {
            return if p.exists() {
                Ok(p)
            } else {
                Err(ModuleError::Other {
                    module,
                    msg: format!("could not find src={name}"),
                })
            };
        }
        let mut tried = Vec::new();
        for dir in self.search {
            for cand in [dir.join(sub).join(name), dir.join(name)] {
                if cand.exists() {
                    return Ok(cand);
                }
                tried.push(cand.display().to_string());
            }
        }
        Err(ModuleError::Other {
            module,
            msg: format!("could not find src={name} (searched {})", tried.join(", ")),
        })
    }
}

pub enum Plan {
    /// A shell body to run on the host.
    Remote(String),
    /// Decided on the controller; nothing runs on the host.
    Done(Outcome),
}

pub trait Module: Sync {
    fn name(&self) -> &'static str;
    fn spec(&self) -> &'static Spec;
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError>;
    /// Interprets the records the body printed. The default keeps them as they are.
    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        raw.into_outcome()
    }
    /// Whether the module runs even in check mode because it changes nothing.
    fn read_only(&self) -> bool {
        false
    }
}

/// Every module condaplay has.
pub static ALL: &[&dyn Module] = &[
    &assert::Assert,
    &command::Command,
    &copy::Copy,
    &debug::Debug,
    &fail::Fail,
    &file::File,
    &set_fact::SetFact,
    &shell::Shell,
    // Core modules:
    &blockinfile::Blockinfile,
    &lineinfile::Lineinfile,
    &pause::Pause,
    &raw::RawCmd,
    &replace::Replace,
    &slurp::Slurp,
    &stat::Stat,
    &template::Template,
    &uri::Uri,
    &wait_for::WaitFor,
    // System modules:
    &apt::Apt,
    &authorized_key::AuthorizedKey,
    &group::Group,
    &known_hosts::KnownHosts,
    &mount::Mount,
    &ssh_keypair::SshKeypair,
    &swapfile::Swapfile,
    &sysctl::Sysctl,
    &systemd::Systemd,
    &user::User,
    // Container and load-balancer modules:
    &docker_compose::DockerCompose,
    &docker_image::DockerImage,
    &docker_stack::DockerStack,
    &docker_swarm::DockerSwarm,
    &haproxy::Haproxy,
];

/// The module a task names, with or without a collection prefix
/// (`ansible.builtin.copy`, `ansible.posix.mount`, `community.docker.docker_image`).
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let short = match short {
        "package" => "apt",
        "service" => "systemd",
        "systemd_service" => "systemd",
        "docker_compose_v2" => "docker_compose",
        other => other,
    };
    ALL.iter().copied().find(|m| m.name() == short)
}

/// Whether a task key names a module (used to tell modules from keywords).
pub fn is_module(name: &str) -> bool {
    lookup(name).is_some()
}

/// Checks a task's arguments against the module's spec and returns them under
/// their canonical names. `value` is the YAML value after the module name.
pub fn normalize(module: &'static dyn Module, value: &Value) -> Result<Map<String, Value>, String> {
    let spec = module.spec();
    let mut out = Map::new();
    match value {
        Value::Null => {}
        Value::Object(m) => {
            for (k, v) in m {
                if k == "_raw_params" && spec.free_form != FreeForm::No {
                    out.insert(k.clone(), v.clone());
                    continue;
                }
                if spec.open {
                    out.insert(k.clone(), v.clone());
                    continue;
                }
                let arg = spec.find(k).ok_or_else(|| unknown_arg(module, spec, k))?;
                out.insert(arg.name.to_string(), v.clone());
            }
        }
        Value::String(s) => match spec.free_form {
            FreeForm::Whole => {
                out.insert("_raw_params".into(), Value::String(s.clone()));
            }
            FreeForm::Command => {
                let (params, rest) = split_kv(s, |k| spec.find(k).map(|a| a.name));
                out.extend(params);
                if !rest.trim().is_empty() {
                    out.insert("_raw_params".into(), Value::String(rest));
                }
            }
            FreeForm::No => {
                for w in template_aware_words(s) {
                    let (k, v) = w.split_once('=').ok_or_else(|| {
                        format!("{}: expected key=value arguments, got {w:?}", module.name())
                    })?;
                    let name = if spec.open {
                        k
                    } else {
                        spec.find(k)
                            .ok_or_else(|| unknown_arg(module, spec, k))?
                            .name
                    };
                    out.insert(name.to_string(), Value::String(unquote(v).to_string()));
                }
            }
        },
        other => {
            return Err(format!(
                "{}: arguments must be a mapping or a string, got {other}",
                module.name()
            ));
        }
    }
    for a in spec.args {
        if a.required
            && !out.contains_key(a.name)
            && !(spec.free_form != FreeForm::No && out.contains_key("_raw_params"))
        {
            return Err(format!(
                "{}: missing required argument: {}",
                module.name(),
                a.name
            ));
        }
    }
    Ok(out)
}

fn unknown_arg(module: &dyn Module, spec: &Spec, k: &str) -> String {
    format!(
        "{}: unsupported argument {k:?} (supported: {})",
        module.name(),
        spec.names()
    )
}

/// Takes `key=value` words naming known arguments out of a free-form command,
/// keeping the rest of the text as it was written.
fn split_kv(s: &str, known: impl Fn(&str) -> Option<&'static str>) -> (Map<String, Value>, String) {
    let mut params = Map::new();
    let mut rest = Vec::new();
    for word in template_aware_words(s) {
        if let Some((k, v)) = word.split_once('=') {
            if let Some(name) = known(k) {
                params.insert(name.to_string(), Value::String(unquote(v).to_string()));
                continue;
            }
        }
        rest.push(word);
    }
    (params, rest.join(" ").trim().to_string())
}

/// `'a b'` or `"a b"` without its quotes.
fn unquote(v: &str) -> &str {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Splits on spaces, but never inside quotes or a `{{ ... }}` expression, so
/// `creates={{ dir }}/x` stays one word.
fn template_aware_words(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut words = Vec::new();
    let (mut start, mut depth, mut quote) = (0usize, 0usize, None::<u8>);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'{') if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            (None, b'}') if depth > 0 && bytes.get(i + 1) == Some(&b'}') => {
                depth -= 1;
                i += 1;
            }
            (None, b' ') if depth == 0 => {
                if i > start {
                    words.push(&s[start..i]);
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < s.len() {
        words.push(&s[start..]);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collection_prefixes_and_aliases_resolve() {
        assert_eq!(lookup("ansible.builtin.copy").unwrap().name(), "copy");
        assert_eq!(lookup("copy").unwrap().name(), "copy");
        assert!(lookup("no_such_module").is_none());
    }

    #[test]
    fn the_book_roles_collection_names_resolve() {
        for (name, module) in [
            ("community.docker.docker_compose_v2", "docker_compose"),
            ("community.docker.docker_swarm", "docker_swarm"),
            ("community.docker.docker_stack", "docker_stack"),
            ("community.docker.docker_image", "docker_image"),
            ("community.general.haproxy", "haproxy"),
            ("ansible.builtin.uri", "uri"),
            ("ansible.builtin.slurp", "slurp"),
        ] {
            assert_eq!(lookup(name).map(|m| m.name()), Some(module), "{name}");
        }
    }

    #[test]
    fn unknown_argument_is_named() {
        let err = normalize(
            lookup("file").unwrap(),
            &json!({"path": "/x", "sate": "touch"}),
        )
        .unwrap_err();
        assert!(err.contains("\"sate\""), "{err}");
    }

    #[test]
    fn key_value_strings_and_free_form() {
        let m = normalize(
            lookup("file").unwrap(),
            &json!("path={{ d }}/x state=touch mode='0644'"),
        )
        .unwrap();
        assert_eq!(m["path"], "{{ d }}/x");
        assert_eq!(m["mode"], "0644");
        let m = normalize(lookup("file").unwrap(), &json!("path=/tmp/x state=touch")).unwrap();
        assert_eq!(m["state"], "touch");
        let m = normalize(
            lookup("command").unwrap(),
            &json!("ls -l /tmp creates=/etc/x"),
        )
        .unwrap();
        assert_eq!(m["_raw_params"], "ls -l /tmp");
        assert_eq!(m["creates"], "/etc/x");
        let m = normalize(
            lookup("command").unwrap(),
            &json!("touch {{ d }}/m creates={{ d }}/m"),
        )
        .unwrap();
        assert_eq!(m["_raw_params"], "touch {{ d }}/m");
        assert_eq!(m["creates"], "{{ d }}/m");
    }
}
