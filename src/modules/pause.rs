//! `pause`: waits on the controller for `seconds` or `minutes`. Like
//! Ansible, one pause serves every host of the task: the first host starts
//! it, the others planned while it runs (or right after) wait only for what
//! is left of it. Prompts are refused: a run never reads the terminal.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Spec};

pub struct Pause;

static SPEC: Spec = Spec::new(&[
    Arg::any("seconds"),
    Arg::any("minutes"),
    Arg::str("prompt"),
    Arg::bool("echo"),
]);

/// The pause in progress: when it ends, what it was, which hosts it served.
struct Window {
    end: Instant,
    what: String,
    hosts: HashSet<String>,
}

static CURRENT: Mutex<Option<Window>> = Mutex::new(None);

/// How long after a pause ended a host still counts as part of it (hosts
/// are planned one after another once the first has waited).
const GRACE: Duration = Duration::from_secs(2);

fn number(args: &Args, name: &str) -> Result<Option<f64>, ModuleError> {
    let bad = |v: &serde_json::Value| ModuleError::BadArg {
        module: "pause",
        arg: name.into(),
        msg: format!("expected a non-negative number, got {v}"),
    };
    match args.raw(name) {
        None => Ok(None),
        Some(v @ serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|f| *f >= 0.0)
            .map(Some)
            .ok_or_else(|| bad(v)),
        Some(v @ serde_json::Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| *f >= 0.0 && f.is_finite())
            .map(Some)
            .ok_or_else(|| bad(v)),
        Some(v) => Err(bad(v)),
    }
}

impl Module for Pause {
    fn name(&self) -> &'static str {
        "pause"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let secs = match (number(args, "seconds")?, number(args, "minutes")?) {
            (Some(s), None) => Some(s),
            (None, Some(m)) => Some(m * 60.0),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(ModuleError::Other {
                    module: "pause",
                    msg: "seconds and minutes are mutually exclusive".into(),
                });
            }
        };
        if args.has("prompt") {
            return Err(ModuleError::Other {
                module: "pause",
                msg: "prompt is not supported: condaplay runs do not read or write the terminal from a task (use debug: before the pause)".into(),
            });
        }
        let Some(secs) = secs else {
            // Ansible would wait for Enter; there is no one to press it.
            return Err(ModuleError::Other {
                module: "pause",
                msg: "a pause without seconds or minutes waits for a keypress; condaplay runs do not read the terminal (give seconds: or minutes:)".into(),
            });
        };
        // Ansible words it in the unit the task gave.
        let stdout = match number(args, "minutes")? {
            Some(m) => format!("Paused for {m} minutes"),
            None => format!("Paused for {secs} seconds"),
        };
        let dur = Duration::from_secs_f64(secs);
        let what = format!("{secs}");
        let started = SystemTime::now();
        let wait = {
            let mut cur = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match cur.as_mut() {
                Some(w) if w.what == what && !w.hosts.contains(ctx.host) && now < w.end + GRACE => {
                    w.hosts.insert(ctx.host.to_string());
                    w.end.saturating_duration_since(now)
                }
                _ => {
                    *cur = Some(Window {
                        end: now + dur,
                        what,
                        hosts: HashSet::from([ctx.host.to_string()]),
                    });
                    dur
                }
            }
        };
        std::thread::sleep(wait);
        let stamp = |t: SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        };
        let stopped = SystemTime::now();
        let delta = stopped
            .duration_since(started)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Ok(Plan::Done(
            Outcome::ok()
                .with("start", stamp(started))
                .with("stop", stamp(stopped))
                .with("delta", delta)
                .with("echo", args.bool("echo", true)?)
                .with("user_input", "")
                .with("stdout", stdout),
        ))
    }
}
