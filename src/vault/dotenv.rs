//! `.env` files: `KEY=VALUE` lines as docker compose and most dotenv loaders
//! read them. `export ` prefixes are ignored; `'single'` quotes are literal;
//! `"double"` quotes take `\n \t \r \" \\ \$` escapes; quoted values may span
//! lines; `#` starts a comment at the start of a line or after whitespace in
//! an unquoted value. No variable expansion. Errors never quote the value.

use std::path::Path;

use zeroize::Zeroizing;

use super::VaultError;

pub fn parse_dotenv(text: &str, file: &Path) -> Result<Vec<(String, String)>, VaultError> {
    let err = |line: usize, msg: &str| VaultError::Dotenv {
        file: file.to_path_buf(),
        line,
        msg: msg.to_string(),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let line = lines[i].trim_start_matches('\u{feff}').trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(line, str::trim_start);
        let Some((key, rest)) = line.split_once('=') else {
            return Err(err(lineno, "expected KEY=VALUE (no `=` on this line)"));
        };
        let key = key.trim_end();
        if !valid_key(key) {
            return Err(err(
                lineno,
                "invalid variable name: expected letters, digits and `_`, not starting with a digit",
            ));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // Gather lines until the closing quote.
                let mut body = Zeroizing::new(rest[1..].to_string());
                loop {
                    if let Some((value, after)) = closing_quote(&body, q) {
                        let after = after.trim_start();
                        if !after.is_empty() && !after.starts_with('#') {
                            return Err(err(i, "unexpected text after the closing quote"));
                        }
                        break if q == '"' {
                            unescape(&Zeroizing::new(value))
                        } else {
                            value
                        };
                    }
                    if i >= lines.len() {
                        return Err(err(
                            lineno,
                            &format!("unterminated {q} quote (opened here)"),
                        ));
                    }
                    body.push('\n');
                    body.push_str(lines[i]);
                    i += 1;
                }
            }
            _ => strip_comment(rest).trim_end().to_string(),
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Splits `body` at the first unescaped `q`: (raw value, text after it).
fn closing_quote(body: &str, q: char) -> Option<(String, &str)> {
    let mut escaped = false;
    for (idx, c) in body.char_indices() {
        if q == '"' && c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        if c == q && !escaped {
            return Some((body[..idx].to_string(), &body[idx + 1..]));
        }
        escaped = false;
    }
    None
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c @ ('"' | '\\' | '$')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// An unquoted value ends at ` #` (a comment); a `#` inside a word is kept.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for (idx, b) in bytes.iter().enumerate() {
        if *b == b'#' && (idx == 0 || bytes[idx - 1].is_ascii_whitespace()) {
            return &value[..idx];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<(String, String)> {
        parse_dotenv(text, Path::new("s.env")).unwrap()
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_export_comments_and_blank_lines() {
        let got = parse("# top\n\nA=1\nexport B = two words  # note\nC=pa#ss\nD=\n");
        assert_eq!(
            got,
            kv(&[("A", "1"), ("B", "two words"), ("C", "pa#ss"), ("D", "")])
        );
    }

    #[test]
    fn quotes_and_escapes() {
        let got =
            parse("A='x \\n $y # z'\nB=\"l1\\nl2 \\\"q\\\"\" # c\nC=\"multi\nline\"\nexport_X=1\n");
        assert_eq!(
            got,
            kv(&[
                ("A", "x \\n $y # z"),
                ("B", "l1\nl2 \"q\""),
                ("C", "multi\nline"),
                ("export_X", "1")
            ])
        );
    }

    #[test]
    fn errors_name_file_and_line_without_the_value() {
        let e = parse_dotenv("A=1\nhunter2\n", Path::new("s.env"))
            .err()
            .unwrap()
            .to_string();
        assert_eq!(e, "s.env:2: expected KEY=VALUE (no `=` on this line)");
        let e = parse_dotenv("A=1\n\nB=\"secret\n", Path::new("s.env"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("s.env:3: unterminated \" quote"), "{e}");
        assert!(!e.contains("secret"));
        let e = parse_dotenv("1A=x\n", Path::new("s.env"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("s.env:1: invalid variable name"), "{e}");
        let e = parse_dotenv("A='x' y\n", Path::new("s.env"))
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("s.env:1: unexpected text"), "{e}");
    }
}
