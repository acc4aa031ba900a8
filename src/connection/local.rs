use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::{ConnError, ExecOutput};

/// `ansible_connection=local`: programs run on the controller itself.
pub struct LocalConnection;

impl LocalConnection {
    pub async fn exec(&self, argv: &[String], input: &[u8]) -> Result<ExecOutput, ConnError> {
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
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_vec();
        // Write while reading, so a program that prints a lot cannot dead-lock us.
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
        });
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| ConnError::Lost(e.to_string()))?;
        let _ = writer.await;
        Ok(ExecOutput {
            stdout: out.stdout,
            stderr: out.stderr,
            status: out.status.code(),
        })
    }
}
