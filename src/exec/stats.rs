//! Per-host counters for the PLAY RECAP, as Ansible counts them.

use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// How one task ended on one host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    /// Failed, but `ignore_errors` said to go on.
    Ignored,
    Unreachable,
}

impl Stats {
    pub fn count(&mut self, s: Status, changed: bool) {
        match s {
            Status::Ok => self.ok += 1,
            Status::Changed => {
                self.ok += 1;
                self.changed += 1;
            }
            Status::Skipped => self.skipped += 1,
            Status::Failed => self.failed += 1,
            Status::Ignored => {
                self.ok += 1;
                self.ignored += 1;
                if changed {
                    self.changed += 1;
                }
            }
            Status::Unreachable => self.unreachable += 1,
        }
    }
}
