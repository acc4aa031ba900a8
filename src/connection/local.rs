use std::process::Stdio;

use super::ConnError;

/// `ansible_connection=local`: programs run on the controller itself.
pub struct LocalConnection;

impl LocalConnection {
    /// Starts a long-lived program (the task shell) with piped stdio.
    pub fn spawn(&self, argv: &[String]) -> Result<super::Spawned, ConnError> {
        let mut child = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ConnError::Spawn {
                what: argv[0].clone(),
                source,
            })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        Ok((
            Box::pin(stdin),
            Box::pin(stdout),
            Box::pin(stderr),
            super::shell::Proc::Local(child),
        ))
    }
}
