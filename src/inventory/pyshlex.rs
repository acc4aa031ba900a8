//! Splitting an INI host line the way Python's `shlex.split(line,
//! comments=True)` does (the shlex crate follows POSIX sh, which differs on
//! `#` inside a word and on escapes inside double quotes).

/// Words of `line`: quotes removed, `\` escapes applied, `#` starts a comment
/// even in the middle of a word (outside quotes).
pub(crate) fn split(line: &str) -> Result<Vec<String>, String> {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Between,
        Word,
        Quote(char),
        Escape(Option<char>),
    }
    let mut out = Vec::new();
    let mut token = String::new();
    let mut quoted = false;
    let mut st = St::Between;
    let emit = |token: &mut String, quoted: &mut bool, out: &mut Vec<String>| {
        if !token.is_empty() || *quoted {
            out.push(std::mem::take(token));
        }
        *quoted = false;
    };
    for c in line.chars() {
        match st {
            St::Between | St::Word => match c {
                ' ' | '\t' | '\r' | '\n' => {
                    emit(&mut token, &mut quoted, &mut out);
                    st = St::Between;
                }
                '#' => {
                    emit(&mut token, &mut quoted, &mut out);
                    return Ok(out);
                }
                '\\' => st = St::Escape(None),
                '\'' | '"' => st = St::Quote(c),
                _ => {
                    token.push(c);
                    st = St::Word;
                }
            },
            St::Quote(q) => {
                quoted = true;
                if c == q {
                    st = St::Word;
                } else if c == '\\' && q == '"' {
                    st = St::Escape(Some(q));
                } else {
                    token.push(c);
                }
            }
            St::Escape(inside) => {
                // Inside double quotes only `\"` and `\\` are escapes.
                if let Some(q) = inside {
                    if c != '\\' && c != q {
                        token.push('\\');
                    }
                }
                token.push(c);
                st = match inside {
                    Some(q) => St::Quote(q),
                    None => St::Word,
                };
            }
        }
    }
    match st {
        St::Quote(_) => Err("No closing quotation".into()),
        St::Escape(_) => Err("No escaped character".into()),
        _ => {
            emit(&mut token, &mut quoted, &mut out);
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    fn s(line: &str) -> Vec<String> {
        split(line).unwrap()
    }

    #[test]
    fn words_quotes_and_comments() {
        assert_eq!(s("h1 a=1 b='x y'"), ["h1", "a=1", "b=x y"]);
        assert_eq!(s("h1 a=\"q \\\" \\d\""), ["h1", "a=q \" \\d"]);
        assert_eq!(s("h1 a=x#comment b=2"), ["h1", "a=x"]);
        assert_eq!(s("h1 # all comment"), ["h1"]);
        assert_eq!(s("h1 a='#not' b=\\ c"), ["h1", "a=#not", "b= c"]);
        assert_eq!(s("h1 a=''"), ["h1", "a="]);
        assert_eq!(s("''"), [""]);
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert_eq!(split("h1 a='x").unwrap_err(), "No closing quotation");
        assert_eq!(split("h1 a=\\").unwrap_err(), "No escaped character");
    }
}
