use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// Which of the process's streams a line goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Out,
    Err,
}

/// The one printer. It knows whether stdout is a terminal, whether colour is
/// wanted (`NO_COLOR`), and whether stdout is reserved for one JSON document.
pub struct Printer {
    color: bool,
    tty: bool,
    json: bool,
    /// Strings that must never be shown (vault values); replaced by `********`.
    secrets: Mutex<Vec<String>>,
    lock: Mutex<()>,
}

pub const MASK: &str = "********";

impl Printer {
    pub fn new(json: bool) -> Printer {
        let tty = std::io::stdout().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer { color, tty, json, secrets: Mutex::default(), lock: Mutex::default() }
    }

    /// A printer for tests and pipes: no colour, no terminal.
    pub fn plain() -> Printer {
        Printer { color: false, tty: false, json: false, secrets: Mutex::default(), lock: Mutex::default() }
    }

    pub fn is_tty(&self) -> bool {
        self.tty
    }
    pub fn color(&self) -> bool {
        self.color
    }
    pub fn json(&self) -> bool {
        self.json
    }

    /// Registers a secret: from now on it is masked in everything printed.
    pub fn add_secret(&self, secret: &str) {
        if secret.len() >= 3 {
            let mut s = self.secrets.lock().unwrap();
            if !s.iter().any(|x| x == secret) {
                s.push(secret.to_string());
                // Longest first, so a secret containing another is masked whole.
                s.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    /// `text` with every registered secret replaced by the mask.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap();
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// Data for stdout (a listing, a plaintext the user asked for). Not masked:
    /// callers print secrets here only when the user asked to see them.
    pub fn data(&self, text: &str) {
        let _g = self.lock.lock().unwrap();
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A human line: stdout normally, stderr when stdout carries JSON.
    pub fn line(&self, text: &str) {
        let stream = if self.json { Stream::Err } else { Stream::Out };
        self.write(stream, text);
    }

    /// A notice on stderr (progress, warnings, errors).
    pub fn info(&self, text: &str) {
        self.write(Stream::Err, text);
    }

    pub fn warn(&self, text: &str) {
        let t = if self.color { format!("\x1b[35m[WARNING]: {text}\x1b[0m") } else { format!("[WARNING]: {text}") };
        self.write(Stream::Err, &t);
    }

    pub fn error(&self, text: &str) {
        let t = if self.color { format!("\x1b[31mERROR: {text}\x1b[0m") } else { format!("ERROR: {text}") };
        self.write(Stream::Err, &t);
    }

    /// Wraps `text` in an ANSI colour when colour is on.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn write(&self, stream: Stream, text: &str) {
        let text = self.mask(text);
        let _g = self.lock.lock().unwrap();
        let mut buf = text.into_bytes();
        if buf.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
        match stream {
            Stream::Out => {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(&buf);
                let _ = o.flush();
            }
            Stream::Err => {
                let mut e = std::io::stderr().lock();
                let _ = e.write_all(&buf);
            }
        }
    }
}
