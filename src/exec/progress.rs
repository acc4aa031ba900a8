//! Live progress on a terminal: a spinner line per host while its program
//! runs. Nothing at all on a pipe or with JSON output. Results are printed
//! only after the spinners are cleared, so lines never interleave with them.

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::Printer;

pub struct Progress {
    multi: Option<MultiProgress>,
}

/// One host's spinner; it disappears when dropped (the host answered).
pub struct HostBar(Option<ProgressBar>);

impl Drop for HostBar {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}

impl Progress {
    pub fn new(printer: &Printer) -> Progress {
        let live = printer.is_tty() && !printer.json();
        Progress {
            multi: live
                .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10))),
        }
    }

    pub fn host(&self, name: &str) -> HostBar {
        HostBar(self.multi.as_ref().map(|m| {
            let style = ProgressStyle::with_template("{spinner} [{prefix}] {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let b = m.add(
                ProgressBar::new_spinner()
                    .with_style(style)
                    .with_prefix(name.to_string()),
            );
            b.enable_steady_tick(Duration::from_millis(100));
            b
        }))
    }

    pub fn clear(&self) {
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}
