//! What a module reports back, and how its shell records become that.

use serde_json::{Map, Value};

/// One file's before and after, for `--diff`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    pub path: String,
    pub before: String,
    pub after: String,
}

/// The result of one module invocation (one loop item).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub changed: bool,
    pub failed: bool,
    pub skipped: bool,
    pub msg: Option<String>,
    pub diffs: Vec<Diff>,
    /// Everything else a module returns (`rc`, `stdout`, `path`, ...); what `register` sees.
    pub ret: Map<String, Value>,
    /// Facts to set on the host (`set_fact`, `ssh_keypair` public keys...).
    pub facts: Option<Map<String, Value>>,
    /// Returned values that are secrets (swarm join tokens...): the runner
    /// masks them in all output from then on, as it does vault values.
    pub secrets: Vec<String>,
}

impl Outcome {
    pub fn ok() -> Outcome {
        Outcome::default()
    }
    pub fn changed() -> Outcome {
        Outcome {
            changed: true,
            ..Outcome::default()
        }
    }
    pub fn fail(msg: impl Into<String>) -> Outcome {
        Outcome {
            failed: true,
            msg: Some(msg.into()),
            ..Outcome::default()
        }
    }
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Outcome {
        self.ret.insert(key.to_string(), value.into());
        self
    }

    /// The dict `register:` stores, as Ansible shapes it.
    pub fn to_registered(&self) -> Value {
        let mut m = self.ret.clone();
        m.insert("changed".into(), Value::Bool(self.changed));
        m.insert("failed".into(), Value::Bool(self.failed));
        if self.skipped {
            m.insert("skipped".into(), Value::Bool(true));
        }
        if let Some(msg) = &self.msg {
            m.insert("msg".into(), Value::String(msg.clone()));
        }
        if let Some(f) = &self.facts {
            m.insert("ansible_facts".into(), Value::Object(f.clone()));
        }
        Value::Object(m)
    }
}

/// Records a shell body printed, before a module interprets them.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    pub changed: bool,
    pub failed: Option<String>,
    pub skipped: Option<String>,
    pub msg: Option<String>,
    pub ret: Map<String, Value>,
    pub diffs: Vec<Diff>,
    /// The body's exit status (it ran in a subshell).
    pub status: Option<i32>,
    /// What the body wrote on stderr.
    pub stderr: String,
}

impl Raw {
    /// The default interpretation: records as they are; a body that exited
    /// non-zero without saying why has failed with its stderr as the reason.
    pub fn into_outcome(self) -> Outcome {
        let mut failed = self.failed.is_some();
        let mut msg = self.failed.or(self.msg);
        if !failed && self.status.is_some_and(|s| s != 0) {
            failed = true;
            let err = self.stderr.trim();
            msg = Some(if err.is_empty() {
                format!("module exited with status {}", self.status.unwrap_or(-1))
            } else {
                err.to_string()
            });
        }
        let skipped = self.skipped.is_some();
        let mut ret = self.ret;
        if let Some(reason) = self.skipped {
            ret.insert("skip_reason".into(), Value::String(reason));
        }
        Outcome {
            changed: self.changed,
            failed,
            skipped,
            msg,
            diffs: self.diffs,
            ret,
            facts: None,
            secrets: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.ret.get(key).and_then(Value::as_str)
    }
}
