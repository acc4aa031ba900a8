//! The wire between the controller and a host: one long-lived shell per host
//! and become user ([`session_init`]), one program per task (all its loop
//! items, [`task_program`]) sent to it as a unit ([`task_unit`]), results back
//! as records on stdout, each unit closed by an end record ([`split_unit`]).

use serde_json::Value;

use super::outcome::{Diff, Raw};
use super::sh;

const PRELUDE: &str = include_str!("prelude.sh");

/// Settings that hold for a whole program.
#[derive(Debug, Clone, Default)]
pub struct ProgramOptions<'a> {
    pub check: bool,
    pub diff: bool,
    /// `environment:` of the task, exported before the bodies run.
    pub env: &'a [(String, String)],
    /// Every body in a subshell of its own that reports its status, even a
    /// single one: for programs whose outputs are merged into one.
    pub items_apart: bool,
}

/// Joins module bodies (one per loop item) into one standalone program: the
/// prelude, then [`task_program`].
pub fn program(bodies: &[String], opts: &ProgramOptions) -> Vec<u8> {
    let mut p = String::from(PRELUDE);
    p.push_str(&task_program(bodies, opts));
    p.into_bytes()
}

/// The program of one task for a shell that already ran the prelude
/// ([`session_init`]): settings, then each body in its own subshell.
pub fn task_program(bodies: &[String], opts: &ProgramOptions) -> String {
    let mut p = String::with_capacity(bodies.iter().map(String::len).sum::<usize>() + 256);
    p.push_str(if opts.check {
        "CP_CHECK=1\n"
    } else {
        "CP_CHECK=0\n"
    });
    p.push_str(if opts.diff {
        "CP_DIFF=1\n"
    } else {
        "CP_DIFF=0\n"
    });
    for (k, v) in opts.env {
        if valid_name(k) {
            p.push_str(&format!("export {k}={}\n", sh::quote(v)));
        }
    }
    if let ([body], false) = (bodies, opts.items_apart) {
        // One item: the body runs directly in the task's subshell (one fork
        // less per task); its exit status and stderr are the unit's, which
        // cp_task reports (`cp.status`, `cp.stderr`; see parse_unit).
        p.push_str("cp_rec item 0\n");
        p.push_str(body);
        if !body.ends_with('\n') {
            p.push('\n');
        }
        return p;
    }
    for (i, body) in bodies.iter().enumerate() {
        p.push_str(&format!("cp_rec item {i}\n(\n"));
        p.push_str(body);
        if !body.ends_with('\n') {
            p.push('\n');
        }
        // An empty stderr needs no record (and no fork of tr).
        p.push_str(") 2>\"$CP_BASE/e\" </dev/null\ncp_st=$?\ncp_rec status $cp_st\n[ $cp_st = 0 ] || cp_bad=1\n[ -s \"$CP_BASE/e\" ] && cp_recf stderr \"$CP_BASE/e\"\n");
    }
    // A failed item fails the program: the tasks chained after it in the
    // same round trip do not run (see task_unit).
    p.push_str("exit ${cp_bad:-0}\n");
    p
}

/// What a long-lived shell reads once: the prelude and `cp_task`, which runs
/// one task program in a subshell (so `exit`, `cd`, variables and even a
/// syntax error end there), with stdin from /dev/null, stderr captured as a
/// record, and CP_TMP emptied again when the task left files in it.
pub fn session_init() -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(
        r#"cp_task() {
  ( eval "$1" ) </dev/null 2>"$CP_BASE/t"
  cp_s=$?
  [ -s "$CP_BASE/t" ] && cp_recf cp.stderr "$CP_BASE/t"
  set --
  for cp_f in "$CP_TMP"/* "$CP_TMP"/.[!.]* "$CP_TMP"/..?*; do
    if [ -e "$cp_f" ] || [ -L "$cp_f" ]; then set -- "$@" "$cp_f"; fi
  done
  [ $# = 0 ] || rm -rf -- "$@"
  return $cp_s
}
"#,
    );
    s
}

/// One program for a long-lived shell: it travels as one quoted word (never
/// parsed as code by the long-lived shell itself), and the end record carries
/// the shell's nonce, which the program never sees, so output cannot forge it.
/// A `chained` unit runs only if the unit before it exited 0; otherwise its
/// end record says `-` (not run).
pub fn task_unit(program: &[u8], nonce: &str, chained: bool) -> Vec<u8> {
    let mut u = Vec::with_capacity(program.len() + program.len() / 16 + 160);
    if chained {
        u.extend_from_slice(b"if [ \"$cp_last\" = 0 ]; then\n");
    }
    // Single quotes, byte for byte: only ' itself needs care.
    u.extend_from_slice(b"cp_task '");
    for &b in program {
        if b == b'\'' {
            u.extend_from_slice(br"'\''");
        } else {
            u.push(b);
        }
    }
    u.push(b'\'');
    u.extend_from_slice(
        format!("\ncp_last=$?\nprintf '\\036cp.end\\000{nonce} %s\\000' \"$cp_last\"\n").as_bytes(),
    );
    if chained {
        u.extend_from_slice(
            format!("else printf '\\036cp.end\\000{nonce} -\\000'\nfi\n").as_bytes(),
        );
    }
    u
}

/// A finished unit in a shell's output: the program's stdout, its stderr (from
/// the `cp.stderr` record), its exit status (`None`: a chained unit that did
/// not run), and how many bytes it took.
pub struct Unit {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: Option<i32>,
    pub len: usize,
}

/// Finds the end of the first unit in `buf`, if it arrived whole.
pub fn split_unit(buf: &[u8], nonce: &str) -> Option<Unit> {
    let marker = format!("\x1ecp.end\x00{nonce} ");
    let at = find(buf, marker.as_bytes())?;
    let rest = &buf[at + marker.len()..];
    let end = rest.iter().position(|&b| b == 0)?;
    let word = String::from_utf8_lossy(&rest[..end]);
    let status = match word.trim() {
        "-" => None,
        w => Some(w.parse().unwrap_or(-1)),
    };
    let mut stdout = buf[..at].to_vec();
    let mut stderr = Vec::new();
    // cp_task prints the stderr record last, right before the end record.
    const ERR: &[u8] = b"\x1ecp.stderr\x00";
    if let Some(e) = rfind(&stdout, ERR) {
        let val = &stdout[e + ERR.len()..];
        stderr = val.strip_suffix(b"\0").unwrap_or(val).to_vec();
        stdout.truncate(e);
    }
    Some(Unit {
        stdout,
        stderr,
        status,
        len: at + marker.len() + end + 1,
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn valid_name(k: &str) -> bool {
    let mut chars = k.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Splits a unit's output into one [`Raw`] per item. An item that reported
/// no status of its own ended the program: a single body runs without a
/// subshell of its own (see [`task_program`]), so its status and stderr are
/// the program's. `finished` is the program's exit status when it ran to its
/// end (`None` when the shell died under it).
pub fn parse_unit(stdout: &[u8], stderr: &[u8], finished: Option<i32>) -> Vec<Raw> {
    let mut items = parse(stdout);
    if let (Some(st), Some(last)) = (finished, items.last_mut()) {
        if last.status.is_none() {
            last.status = Some(st);
            last.stderr = String::from_utf8_lossy(stderr).into_owned();
        }
    }
    items
}

/// Splits a program's stdout into one [`Raw`] per item, in order. Bytes
/// outside records (a profile script that prints, say) are ignored.
pub fn parse(stdout: &[u8]) -> Vec<Raw> {
    let mut items: Vec<Raw> = Vec::new();
    let mut rest = stdout;
    while let Some(start) = rest.iter().position(|&b| b == 0x1e) {
        rest = &rest[start + 1..];
        let Some(k_end) = rest.iter().position(|&b| b == 0) else {
            break;
        };
        let key = String::from_utf8_lossy(&rest[..k_end]).into_owned();
        rest = &rest[k_end + 1..];
        let Some(v_end) = rest.iter().position(|&b| b == 0) else {
            break;
        };
        let value = String::from_utf8_lossy(&rest[..v_end]).into_owned();
        rest = &rest[v_end + 1..];
        if key == "item" {
            items.push(Raw::default());
            continue;
        }
        // A record before any item (the prelude failing) is the first item's.
        if items.is_empty() {
            items.push(Raw::default());
        }
        let raw = items.last_mut().expect("one item at least");
        apply(raw, &key, value);
    }
    items
}

fn apply(raw: &mut Raw, key: &str, value: String) {
    match key {
        "changed" => raw.changed = true,
        "failed" => raw.failed = Some(value),
        "skipped" => raw.skipped = Some(value),
        "msg" => raw.msg = Some(value),
        "status" => raw.status = value.trim().parse().ok(),
        "stderr" => raw.stderr = value,
        "diff.path" => raw.diffs.push(Diff {
            path: value,
            ..Diff::default()
        }),
        "diff.before" => {
            if let Some(d) = raw.diffs.last_mut() {
                d.before = value;
            }
        }
        "diff.after" => {
            if let Some(d) = raw.diffs.last_mut() {
                d.after = value;
            }
        }
        _ => {
            if let Some(name) = key.strip_prefix("retj.") {
                let v = serde_json::from_str(&value).unwrap_or(Value::String(value));
                raw.ret.insert(name.to_string(), v);
            } else if let Some(name) = key.strip_prefix("ret.") {
                raw.ret.insert(name.to_string(), Value::String(value));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_into_items() {
        let out =
            b"noise\x1eitem\x000\x00\x1echanged\x001\x00\x1eret.rc\x000\x00\x1estatus\x000\x00\
\x1eitem\x001\x00\x1efailed\x00boom\x00\x1estatus\x001\x00";
        let items = parse(out);
        assert_eq!(items.len(), 2);
        assert!(items[0].changed);
        assert_eq!(items[0].get("rc"), Some("0"));
        assert_eq!(items[1].failed.as_deref(), Some("boom"));
        assert_eq!(items[1].status, Some(1));
    }

    #[test]
    fn truncated_output_keeps_complete_records() {
        let items = parse(b"\x1eitem\x000\x00\x1echanged\x001\x00\x1emsg\x00half");
        assert_eq!(items.len(), 1);
        assert!(items[0].changed);
        assert_eq!(items[0].msg, None);
    }

    #[test]
    fn environment_names_are_checked() {
        let env = vec![
            ("GOOD".to_string(), "a b".to_string()),
            ("bad;rm".to_string(), "x".to_string()),
        ];
        let p = String::from_utf8(program(
            &["true".into()],
            &ProgramOptions {
                env: &env,
                ..Default::default()
            },
        ))
        .unwrap();
        assert!(p.contains("export GOOD='a b'"));
        assert!(!p.contains("bad;rm"));
    }
}
