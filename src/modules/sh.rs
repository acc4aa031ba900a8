//! Building shell text safely.

/// POSIX single-quoting: the result is one word whatever `s` holds.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.=:@%+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Shell text that writes `data` into the file named by the shell word `dest`.
/// Text goes through the shell's builtin printf (no program to start, and no
/// argument list a process listing could show); data with NUL bytes, or too
/// big to hold in a shell word comfortably, as base64 inside a quoted
/// here-document. Either way no byte of the data is interpreted.
pub fn write_file(dest: &str, data: &[u8]) -> String {
    use base64::Engine;
    if let Some(word) = text_word(data) {
        return format!("printf '%s' {word} > {dest} || cp_fail 'cannot write a temporary file'\n");
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 64);
    out.push_str("cp_b64 ");
    out.push_str(dest);
    out.push_str(" <<'CP_B64_END'\n");
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str("CP_B64_END\n");
    out
}

/// `data` as one quoted shell word, when the shell can hold it as text: UTF-8
/// without NUL bytes and at most 64 KiB (the rest travels as base64).
pub fn text_word(data: &[u8]) -> Option<String> {
    const WORD_MAX: usize = 64 << 10;
    if data.len() > WORD_MAX || data.contains(&0) {
        return None;
    }
    std::str::from_utf8(data).ok().map(quote)
}

/// Splits a command line like a POSIX shell would (for `k=v` strings and `command:`).
pub fn split(s: &str) -> Option<Vec<String>> {
    shlex::split(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_makes_one_word() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }

    #[test]
    fn text_needs_no_program_binary_goes_as_base64() {
        assert!(write_file("f", b"a'b\n").starts_with("printf '%s' 'a'\\''b"));
        assert!(write_file("f", b"a\0b").starts_with("cp_b64 f"));
        assert!(write_file("f", &[0xe9]).starts_with("cp_b64 f"));
        assert!(write_file("f", &vec![b'x'; 100 << 10]).starts_with("cp_b64 f"));
    }
}
