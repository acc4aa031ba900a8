//! Ansible's two notions of "true": the `bool` filter and the truth of a
//! conditional (`when:`, `failed_when:`, `assert`).

use minijinja::value::{Value, ValueKind};

/// Words the `bool` filter (and conditionals) read as true, compared lowercase.
const TRUE_WORDS: &[&str] = &["yes", "on", "1", "true", "y", "t"];
/// Words conditionals read as false, compared lowercase.
const FALSE_WORDS: &[&str] = &["no", "off", "0", "false", "n", "f", ""];

/// The `bool` filter: a bool stays itself, 1 is true, the words in
/// [`TRUE_WORDS`] are true in any case; everything else (None included) is false.
pub fn to_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => f64::try_from(v.clone()).is_ok_and(|f| f == 1.0),
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default().to_lowercase();
            TRUE_WORDS.contains(&s.as_str())
        }
        _ => false,
    }
}

/// Truth of a conditional's result. Strings that spell a boolean count as that
/// boolean (so a variable holding "False" or "no" is false, as Ansible users
/// expect); any other value follows Jinja truthiness.
pub fn conditional_truth(v: &Value) -> bool {
    if let Some(s) = v.as_str() {
        let lower = s.trim().to_lowercase();
        if TRUE_WORDS.contains(&lower.as_str()) {
            return true;
        }
        if FALSE_WORDS.contains(&lower.as_str()) {
            return false;
        }
    }
    v.is_true()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_filter_follows_ansible_words() {
        for s in ["yes", "YES", "on", "1", "true", "True", "y", "T"] {
            assert!(to_bool(&Value::from(s)), "{s}");
        }
        for s in ["no", "off", "0", "false", "", "2", "maybe", " yes"] {
            assert!(!to_bool(&Value::from(s)), "{s}");
        }
        assert!(to_bool(&Value::from(1)));
        assert!(to_bool(&Value::from(1.0)));
        assert!(!to_bool(&Value::from(2)));
        assert!(!to_bool(&Value::from(0)));
        assert!(to_bool(&Value::from(true)));
        assert!(!to_bool(&Value::from(())));
    }

    #[test]
    fn conditional_truth_reads_boolean_words() {
        assert!(!conditional_truth(&Value::from("False")));
        assert!(!conditional_truth(&Value::from("no")));
        assert!(!conditional_truth(&Value::from("")));
        assert!(conditional_truth(&Value::from("yes")));
        assert!(conditional_truth(&Value::from("anything")));
        assert!(!conditional_truth(&Value::from(0)));
        assert!(conditional_truth(&Value::from(3)));
        assert!(!conditional_truth(&Value::from(Vec::<i32>::new())));
        assert!(conditional_truth(&Value::from(vec![1])));
        assert!(!conditional_truth(&Value::from(())));
    }
}
