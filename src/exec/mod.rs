//! Runs plays: hosts in parallel, tasks in order, a recap at the end (being written).

pub mod adhoc;

use crate::cli::RunArgs;
use crate::output::Printer;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("not implemented yet")]
    Todo,
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        crate::cli::exit::ERROR
    }
}

pub fn run_command(_args: RunArgs, _p: &Printer, _check_only: bool) -> Result<i32, RunError> {
    Err(RunError::Todo)
}
