//! Running host commands with errors that say which command failed and why.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::LabError;

/// Runs `program args...`, returns its stdout; a non-zero exit is an error
/// carrying the command line and its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, LabError> {
    let out = output(program, args)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(failed(program, args, &out))
    }
}

/// Runs a command and only reports whether it succeeded (for probes such as
/// `iptables -C`, where failure is an answer, not an error).
pub fn ok(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs a command and returns its raw output whatever the exit status.
pub fn output(program: &str, args: &[&str]) -> Result<Output, LabError> {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::Command {
            cmd: line(program, args),
            status: "could not start".into(),
            stderr: e.to_string(),
        })
}

/// The error for a command that ran and failed.
pub fn failed(program: &str, args: &[&str], out: &Output) -> LabError {
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if stderr.is_empty() {
        stderr = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    // Keep the tail: the reason is usually at the end of a long log.
    if stderr.len() > 4000 {
        let cut = stderr.len() - 4000;
        let cut = (cut..stderr.len())
            .find(|i| stderr.is_char_boundary(*i))
            .unwrap_or(cut);
        stderr = format!("...{}", &stderr[cut..]);
    }
    LabError::Command {
        cmd: line(program, args),
        status: out.status.to_string(),
        stderr,
    }
}

/// A command line as a shell would show it.
pub fn line(program: &str, args: &[&str]) -> String {
    let mut words = vec![program.to_string()];
    words.extend(args.iter().map(|a| {
        shlex::try_quote(a)
            .map(|q| q.into_owned())
            .unwrap_or_else(|_| a.to_string())
    }));
    words.join(" ")
}

/// Writes a file, with its path in the error.
pub fn write(path: &Path, content: &str) -> Result<(), LabError> {
    std::fs::write(path, content).map_err(|e| io(path, e))
}

/// Writes a file through a temporary sibling and a rename, so readers never
/// see it half written (known_hosts is read by parallel ssh clients).
pub fn write_atomic(path: &Path, content: &str) -> Result<(), LabError> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    write(&tmp, content)?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

pub fn io(path: &Path, e: std::io::Error) -> LabError {
    LabError::Io {
        path: path.display().to_string(),
        source: e,
    }
}
