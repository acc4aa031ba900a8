//! What a run shows: task headers, a line per host, diffs, the recap, and the
//! JSON document for `--output json`.

use serde_json::{Map, Value, json};

use super::stats::{Stats, Status};
use crate::modules::Diff;
use crate::output::Printer;

pub const HIDDEN: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

pub struct Report<'a> {
    pub printer: &'a Printer,
    pub verbose: u8,
    pub diff: bool,
    plays: Vec<Value>,
}

impl<'a> Report<'a> {
    pub fn new(printer: &'a Printer, verbose: u8, diff: bool) -> Report<'a> {
        Report {
            printer,
            verbose,
            diff,
            plays: Vec::new(),
        }
    }

    /// The per-host results of the task being reported (JSON output).
    fn current_hosts(&mut self) -> Option<&mut serde_json::Map<String, Value>> {
        self.plays
            .last_mut()
            .and_then(|p| p.get_mut("tasks"))
            .and_then(|t| t.as_array_mut())
            .and_then(|t| t.last_mut())
            .and_then(|t| t.get_mut("hosts"))
            .and_then(Value::as_object_mut)
    }

    fn banner(&self, kind: &str, name: &str) {
        let head = format!("{kind} [{name}] ");
        let stars = "*".repeat(79usize.saturating_sub(head.len()).max(3));
        self.printer.line(&format!("\n{head}{stars}"));
    }

    pub fn play(&mut self, name: &str) {
        self.banner("PLAY", name);
        self.plays
            .push(json!({"play": {"name": name}, "tasks": []}));
    }

    pub fn task(&mut self, name: &str, kind: &str) {
        self.banner(kind, name);
        if let Some(Value::Array(tasks)) = self.plays.last_mut().and_then(|p| p.get_mut("tasks")) {
            tasks.push(json!({"task": {"name": name}, "hosts": {}}));
        }
    }

    /// One host's result line (and item lines for loops).
    pub fn host_result(
        &mut self,
        host: &str,
        status: Status,
        result: &Value,
        items: &[(String, Status, Value)],
        no_log: bool,
        diffs: &[Diff],
    ) {
        let shown = if no_log {
            json!({"censored": HIDDEN, "changed": result.get("changed").cloned().unwrap_or(Value::Bool(false))})
        } else {
            result.clone()
        };
        if let Some(hosts) = self.current_hosts() {
            hosts.insert(host.to_string(), shown.clone());
        }
        if self.diff && !no_log {
            for d in diffs {
                self.print_diff(d);
            }
        }
        for (label, st, res) in items {
            let res = if no_log {
                json!({"censored": HIDDEN})
            } else {
                res.clone()
            };
            self.line(host, *st, Some(label), &res);
        }
        if items.is_empty()
            || matches!(status, Status::Failed | Status::Unreachable)
                && items.iter().all(|(_, s, _)| *s != Status::Failed)
        {
            self.line(host, status, None, &shown);
        } else if !items.is_empty() && self.verbose == 0 {
            // Ansible prints only item lines for loops, then nothing more.
        }
    }

    /// One item of a looped include (run, or skipped by `when`), the way
    /// Ansible shows it.
    pub fn included(&mut self, host: &str, what: &str, item: &str, skipped: bool) {
        if let Some(hosts) = self.current_hosts() {
            let entry = hosts
                .entry(host.to_string())
                .or_insert_with(|| json!({"changed": false, "results": []}));
            if let Some(Value::Array(r)) = entry.get_mut("results") {
                r.push(json!({"include": what, "item": item, "skipped": skipped}));
            }
        }
        let text = if skipped {
            format!("skipping: [{host}] => (item={item})")
        } else {
            format!("included: {what} for {host} => (item={item})")
        };
        self.printer.line(&self.printer.paint("36", &text));
    }

    fn line(&self, host: &str, status: Status, item: Option<&str>, result: &Value) {
        let (word, color) = match status {
            Status::Ok => ("ok", "32"),
            Status::Changed => ("changed", "33"),
            Status::Skipped => ("skipping", "36"),
            Status::Failed => ("failed", "31"),
            Status::Ignored => ("failed", "31"),
            Status::Unreachable => ("fatal", "31"),
        };
        let item = item.map(|i| format!(" => (item={i})")).unwrap_or_default();
        let mut text = format!("{word}: [{host}]{item}");
        match status {
            Status::Failed | Status::Ignored | Status::Unreachable => {
                let msg = result.get("msg").and_then(Value::as_str).unwrap_or("");
                let mut detail = Map::new();
                for k in ["msg", "rc", "stderr", "stdout", "censored"] {
                    if let Some(v) = result.get(k) {
                        if !(v.is_string() && v.as_str() == Some("")) {
                            detail.insert(k.into(), v.clone());
                        }
                    }
                }
                if status == Status::Unreachable {
                    detail.insert("unreachable".into(), Value::Bool(true));
                }
                let _ = msg;
                text = format!("{text} => {}", Value::Object(detail));
                if status == Status::Ignored {
                    text.push_str("\n...ignoring");
                }
            }
            _ => {
                if self.verbose > 0 {
                    text = format!(
                        "{text} => {}",
                        serde_json::to_string_pretty(result).unwrap_or_default()
                    );
                } else if let Some(msg) =
                    result.get("msg").filter(|_| result.get("_debug").is_some())
                {
                    text = format!(
                        "{text} => {{\n    \"msg\": {}\n}}",
                        serde_json::to_string_pretty(msg)
                            .unwrap_or_default()
                            .replace('\n', "\n    ")
                    );
                }
            }
        }
        self.printer.line(&self.printer.paint(color, &text));
    }

    /// A debug task's message, the way Ansible shows it.
    pub fn debug(&mut self, host: &str, result: &Value) {
        let mut shown = result.clone();
        if let Value::Object(m) = &mut shown {
            m.remove("changed");
            m.remove("failed");
        }
        if let Some(hosts) = self.current_hosts() {
            hosts.insert(host.to_string(), result.clone());
        }
        let body = serde_json::to_string_pretty(&shown).unwrap_or_default();
        self.printer
            .line(&self.printer.paint("32", &format!("ok: [{host}] => {body}")));
    }

    fn print_diff(&self, d: &Diff) {
        let diff = similar::TextDiff::from_lines(&d.before, &d.after);
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(
                &format!("before: {}", d.path),
                &format!("after: {}", d.path),
            )
            .to_string();
        if !text.is_empty() {
            let mut colored = String::new();
            for l in text.lines() {
                let c = if l.starts_with('+') {
                    "32"
                } else if l.starts_with('-') {
                    "31"
                } else if l.starts_with("@@") {
                    "36"
                } else {
                    "0"
                };
                colored.push_str(&self.printer.paint(c, l));
                colored.push('\n');
            }
            self.printer.line(colored.trim_end());
        }
    }

    pub fn warn(&self, msg: &str) {
        self.printer.warn(msg);
    }

    /// The PLAY RECAP, and the JSON document when asked for.
    pub fn recap(&mut self, stats: &[(String, Stats)]) {
        self.printer.line(
            "\nPLAY RECAP *********************************************************************",
        );
        let width = stats
            .iter()
            .map(|(h, _)| h.len())
            .max()
            .unwrap_or(0)
            .max(26);
        for (host, s) in stats {
            let color = if s.failed > 0 || s.unreachable > 0 {
                "31"
            } else if s.changed > 0 {
                "33"
            } else {
                "32"
            };
            let line = format!(
                "{} : ok={:<4} changed={:<4} unreachable={:<4} failed={:<4} skipped={:<4} rescued={:<4} ignored={}",
                self.printer.paint(color, &format!("{host:<width$}")),
                s.ok,
                s.changed,
                s.unreachable,
                s.failed,
                s.skipped,
                s.rescued,
                s.ignored
            );
            self.printer.line(line.trim_end());
        }
        if self.printer.json() {
            let stats_json: Map<String, Value> = stats
                .iter()
                .map(|(h, s)| (h.clone(), serde_json::to_value(s).unwrap_or_default()))
                .collect();
            let doc = json!({"plays": self.plays, "stats": stats_json});
            let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            self.printer.data(&self.printer.mask(&text));
        }
    }
}
