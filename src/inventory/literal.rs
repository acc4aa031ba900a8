//! INI values as Ansible reads them: Python's `ast.literal_eval`, and the
//! text itself when that fails. So `1` is a number, `True` a boolean,
//! `'a b'` a string, `[1, 2]` a list, but `true`, `yes` and `0644` stay
//! strings (they are not Python literals).

use serde_json::{Map, Number, Value};

/// The value of an INI `key=value` right-hand side.
pub(crate) fn parse_value(text: &str) -> Value {
    literal_eval(text).unwrap_or_else(|| Value::String(text.to_string()))
}

/// A Python literal, or `None` where Python raises ValueError/SyntaxError
/// (or produces something JSON cannot hold, such as complex numbers).
pub(crate) fn literal_eval(text: &str) -> Option<Value> {
    let mut p = Lit {
        s: text.chars().collect(),
        i: 0,
    };
    p.skip_ws();
    let v = p.expr()?;
    p.skip_ws();
    if p.i == p.s.len() { Some(v) } else { None }
}

struct Lit {
    s: Vec<char>,
    i: usize,
}

enum Str {
    Text(String),
    Bytes(Vec<u8>),
}

impl Lit {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    /// Spaces, tabs, newlines (inside brackets) and a trailing `# comment`.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\x0c' | '\n' | '\r' => self.i += 1,
                '#' => self.i = self.s.len(),
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.skip_ws();
        match self.peek()? {
            // literal_eval only accepts a sign directly on a number.
            sign @ ('-' | '+') => {
                self.i += 1;
                self.skip_ws();
                let n = self.number()?;
                if sign == '+' {
                    return Some(n);
                }
                match n {
                    Value::Number(n) => {
                        if let Some(i) = n.as_i64() {
                            Some(Value::from(i.checked_neg()?))
                        } else {
                            Number::from_f64(-n.as_f64()?).map(Value::Number)
                        }
                    }
                    _ => None,
                }
            }
            _ => self.atom(),
        }
    }

    fn atom(&mut self) -> Option<Value> {
        self.skip_ws();
        let c = self.peek()?;
        match c {
            '[' => {
                self.i += 1;
                Some(Value::Array(self.items(']')?))
            }
            '(' => {
                self.i += 1;
                if self.eat(')') {
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat(')') {
                    return Some(first);
                }
                if !self.eat(',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.items(')')?);
                Some(Value::Array(items))
            }
            '{' => {
                self.i += 1;
                self.dict_or_set()
            }
            '0'..='9' => self.number(),
            '.' if self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => self.number(),
            '\'' | '"' => self.strings(),
            c if c.is_alphabetic() || c == '_' => {
                if self.string_prefix().is_some() {
                    return self.strings();
                }
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                let word: String = self.s[start..self.i].iter().collect();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated expressions up to `close`; a trailing comma is fine.
    fn items(&mut self, close: char) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.expr()?);
            if !self.eat(',') {
                return if self.eat(close) { Some(out) } else { None };
            }
        }
    }

    fn dict_or_set(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        if !self.eat(':') {
            // A set: JSON has none, Ansible's JSON output shows a list.
            let mut items = vec![first];
            if self.eat(',') {
                items.extend(self.items('}')?);
            } else if !self.eat('}') {
                return None;
            }
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let v = self.expr()?;
        map.insert(key_text(&first)?, v);
        loop {
            if !self.eat(',') {
                return if self.eat('}') {
                    Some(Value::Object(map))
                } else {
                    None
                };
            }
            if self.eat('}') {
                return Some(Value::Object(map));
            }
            let k = self.expr()?;
            if !self.eat(':') {
                return None;
            }
            let v = self.expr()?;
            map.insert(key_text(&k)?, v);
        }
    }

    /// Digits with single underscores between them, in the given radix.
    fn digits(&mut self, radix: u32) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_digit(radix) {
                out.push(c);
                self.i += 1;
            } else if c == '_'
                && !out.is_empty()
                && self.peek_at(1).is_some_and(|d| d.is_digit(radix))
            {
                self.i += 1;
            } else {
                break;
            }
        }
        if out.is_empty() { None } else { Some(out) }
    }

    fn number(&mut self) -> Option<Value> {
        let radix = match (self.peek(), self.peek_at(1).map(|c| c.to_ascii_lowercase())) {
            (Some('0'), Some('x')) => 16,
            (Some('0'), Some('o')) => 8,
            (Some('0'), Some('b')) => 2,
            _ => 10,
        };
        let v = if radix != 10 {
            self.i += 2;
            if self.peek() == Some('_') {
                self.i += 1;
            }
            let d = self.digits(radix)?;
            int_value(u128::from_str_radix(&d, radix).ok()?)?
        } else {
            let int_part = if self.peek() == Some('.') {
                String::new()
            } else {
                self.digits(10)?
            };
            let mut float = false;
            let mut text = int_part.clone();
            if self.peek() == Some('.') {
                float = true;
                self.i += 1;
                text.push('.');
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    text.push_str(&self.digits(10)?);
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                float = true;
                self.i += 1;
                text.push('e');
                if let Some(sign @ ('+' | '-')) = self.peek() {
                    text.push(sign);
                    self.i += 1;
                }
                text.push_str(&self.digits(10)?);
            }
            if float {
                let f: f64 = text.parse().ok()?;
                Value::Number(Number::from_f64(f).filter(|_| f.is_finite())?)
            } else {
                // Python 3 refuses leading zeros ("0644") except for zero itself.
                if int_part.len() > 1
                    && int_part.starts_with('0')
                    && int_part.chars().any(|c| c != '0')
                {
                    return None;
                }
                int_value(int_part.parse().ok()?)?
            }
        };
        // `2j` is complex, `1abc` a syntax error: either way not for us.
        if self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            return None;
        }
        Some(v)
    }

    /// The length of a string prefix (`r`, `b`, `rb`, `u` ...) directly
    /// followed by a quote, if there is one here.
    fn string_prefix(&self) -> Option<usize> {
        for len in 1..=2 {
            let word: String = self.s[self.i..]
                .iter()
                .take(len)
                .collect::<String>()
                .to_ascii_lowercase();
            let next = self.peek_at(len);
            if word.chars().count() == len
                && matches!(
                    word.as_str(),
                    "r" | "u" | "b" | "f" | "br" | "rb" | "fr" | "rf"
                )
                && matches!(next, Some('\'' | '"'))
            {
                return Some(len);
            }
        }
        None
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut acc: Option<Str> = None;
        loop {
            self.skip_ws();
            let prefix_len = match self.peek() {
                Some('\'' | '"') => 0,
                Some(c) if c.is_alphabetic() => match self.string_prefix() {
                    Some(n) => n,
                    None => break,
                },
                _ => break,
            };
            let prefix: String = self.s[self.i..self.i + prefix_len]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase();
            self.i += prefix_len;
            if prefix.contains('f') {
                return None; // f-strings are not literals
            }
            let one = self.string(prefix.contains('r'), prefix.contains('b'))?;
            acc = Some(match (acc, one) {
                (None, one) => one,
                (Some(Str::Text(mut a)), Str::Text(b)) => {
                    a.push_str(&b);
                    Str::Text(a)
                }
                (Some(Str::Bytes(mut a)), Str::Bytes(b)) => {
                    a.extend(b);
                    Str::Bytes(a)
                }
                _ => return None, // mixing bytes and text is a SyntaxError
            });
        }
        match acc? {
            Str::Text(s) => Some(Value::String(s)),
            Str::Bytes(b) => String::from_utf8(b).ok().map(Value::String),
        }
    }

    fn string(&mut self, raw: bool, bytes: bool) -> Option<Str> {
        let q = self.peek()?;
        let triple = self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q && (!triple || (self.peek_at(1) == Some(q) && self.peek_at(2) == Some(q))) {
                self.i += if triple { 3 } else { 1 };
                break;
            }
            if c == '\n' && !triple {
                return None;
            }
            self.i += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.peek()?;
            self.i += 1;
            if raw {
                out.push('\\');
                out.push(e);
                continue;
            }
            match e {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(e),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|d| d.to_digit(8)) {
                            Some(d) => {
                                n = n * 8 + d;
                                self.i += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' => out.push(char::from_u32(self.hex(2)?)?),
                'u' if !bytes => out.push(char::from_u32(self.hex(4)?)?),
                'U' if !bytes => out.push(char::from_u32(self.hex(8)?)?),
                'N' if !bytes => return None, // named escapes: not worth a table
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
        if bytes {
            // Bytes literals hold ASCII; escapes give raw byte values.
            let mut b = Vec::new();
            for c in out.chars() {
                b.push(u8::try_from(u32::from(c)).ok()?);
            }
            Some(Str::Bytes(b))
        } else {
            Some(Str::Text(out))
        }
    }

    fn hex(&mut self, n: usize) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            v = v * 16 + self.peek()?.to_digit(16)?;
            self.i += 1;
        }
        Some(v)
    }
}

fn int_value(n: u128) -> Option<Value> {
    // Python integers are unbounded; beyond u64 we keep the text instead.
    if let Ok(v) = i64::try_from(n) {
        Some(Value::from(v))
    } else {
        u64::try_from(n).ok().map(Value::from)
    }
}

/// A dict key as JSON text shows it (`json.dumps` turns True into "true").
fn key_text(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_booleans_and_none_are_python_literals() {
        assert_eq!(parse_value("1"), json!(1));
        assert_eq!(parse_value("-12"), json!(-12));
        assert_eq!(parse_value("+3"), json!(3));
        assert_eq!(parse_value("1_000"), json!(1000));
        assert_eq!(parse_value("0x1F"), json!(31));
        assert_eq!(parse_value("0o17"), json!(15));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value(".5"), json!(0.5));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("False"), json!(false));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("0"), json!(0));
        assert_eq!(parse_value("00"), json!(0));
    }

    #[test]
    fn words_that_are_not_python_literals_stay_strings() {
        for s in [
            "true", "false", "yes", "FALSE", "null", "0644", "1.2.3.4", "web01", "a b", "1+2",
            "--1", "2j", "",
        ] {
            assert_eq!(parse_value(s), json!(s), "{s}");
        }
    }

    #[test]
    fn strings_with_quotes_prefixes_and_escapes() {
        assert_eq!(parse_value("'a b'"), json!("a b"));
        assert_eq!(parse_value("\"x\""), json!("x"));
        assert_eq!(parse_value("'a' \"b\""), json!("ab"));
        assert_eq!(parse_value(r"'a\nb'"), json!("a\nb"));
        assert_eq!(parse_value(r"r'a\nb'"), json!("a\\nb"));
        assert_eq!(parse_value(r"'\x41\u00e9'"), json!("Aé"));
        assert_eq!(parse_value("b'abc'"), json!("abc"));
        assert_eq!(parse_value("'''tri'ple'''"), json!("tri'ple"));
        assert_eq!(parse_value(r"'\d'"), json!("\\d"));
        assert_eq!(parse_value("'unterminated"), json!("'unterminated"));
        assert_eq!(parse_value("f'x'"), json!("f'x'"));
        assert_eq!(parse_value("b'a' 'b'"), json!("b'a' 'b'"));
    }

    #[test]
    fn containers() {
        assert_eq!(parse_value("[1, 'two', None]"), json!([1, "two", null]));
        assert_eq!(parse_value("[1, 2,]"), json!([1, 2]));
        assert_eq!(parse_value("(1, 2)"), json!([1, 2]));
        assert_eq!(parse_value("(1,)"), json!([1]));
        assert_eq!(parse_value("(7)"), json!(7));
        assert_eq!(parse_value("()"), json!([]));
        assert_eq!(
            parse_value("{'a': 1, \"b\": [True]}"),
            json!({"a": 1, "b": [true]})
        );
        assert_eq!(parse_value("{}"), json!({}));
        assert_eq!(parse_value("{1: 'x'}"), json!({"1": "x"}));
        assert_eq!(parse_value("{1, 2}"), json!([1, 2]));
        assert_eq!(parse_value("[1, 2"), json!("[1, 2"));
        assert_eq!(parse_value("{\"a\": true}"), json!("{\"a\": true}"));
    }

    #[test]
    fn comments_and_spaces_around_a_literal() {
        assert_eq!(parse_value("  5  "), json!(5));
        assert_eq!(parse_value("5 # five"), json!(5));
        assert_eq!(parse_value("- 1"), json!(-1));
        assert_eq!(parse_value("hello # c"), json!("hello # c"));
    }
}
