//! Host ranges: `web[01:20]`, `web[1:10:2]`, `db-[a:f]`, several per name,
//! expanded as Ansible's `expand_hostname_range` does.

/// More than this many names from one pattern is surely a typo.
const MAX_HOSTS: usize = 1_000_000;

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Every name `pattern` stands for. Errors say what a range must look like.
pub(crate) fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    expand_into(pattern, pattern, &mut out)?;
    Ok(out)
}

fn expand_into(whole: &str, line: &str, out: &mut Vec<String>) -> Result<(), String> {
    let bad = |why: &str| format!("bad host range in '{whole}': {why}");
    let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
        return Err(bad("expected [begin:end] or [begin:end:step]"));
    };
    if close < open {
        return Err(bad("expected [begin:end] or [begin:end:step]"));
    }
    let (head, nrange, tail) = (&line[..open], &line[open + 1..close], &line[close + 1..]);
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err(bad("host range must be begin:end or begin:end:step"));
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err(bad("host range must specify end value"));
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(s) => super::data::parse_python_int(s.trim())
            .ok_or_else(|| bad(&format!("step '{s}' is not a number")))?,
    };
    if step == 0 {
        return Err(bad("host range step must not be zero"));
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err(bad(
                "host range must specify equal-length begin and end formats",
            ));
        }
        beg.len()
    } else {
        0
    };
    let seq: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) => {
            if b > e {
                return Err(bad("host range must have begin <= end"));
            }
            if step < 0 {
                Vec::new()
            } else {
                LETTERS[b..=e]
                    .chars()
                    .step_by(step as usize)
                    .map(String::from)
                    .collect()
            }
        }
        _ => {
            let num = |s: &str| {
                super::data::parse_python_int(s.trim())
                    .ok_or_else(|| bad(&format!("'{s}' is neither a number nor a letter")))
            };
            let (b, e) = (num(beg)?, num(end)?);
            if step < 0 || b > e {
                Vec::new()
            } else {
                let count = usize::try_from((e - b) / step + 1).unwrap_or(usize::MAX);
                if count > MAX_HOSTS {
                    return Err(bad(&format!("more than {MAX_HOSTS} hosts")));
                }
                (b..=e)
                    .step_by(step as usize)
                    .map(|x| zfill(x, width))
                    .collect()
            }
        }
    };
    for part in seq {
        let name = format!("{head}{part}{tail}");
        if name.contains('[') {
            expand_into(whole, &name, out)?;
        } else {
            out.push(name);
        }
        if out.len() > MAX_HOSTS {
            return Err(bad(&format!("more than {MAX_HOSTS} hosts")));
        }
    }
    Ok(())
}

/// Python's `str(x).zfill(width)`.
fn zfill(x: i64, width: usize) -> String {
    if x < 0 {
        format!("-{:0>w$}", x.unsigned_abs(), w = width.saturating_sub(1))
    } else {
        format!("{x:0>width$}")
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn numeric_ranges_with_padding_and_steps() {
        assert_eq!(expand("web[1:3]").unwrap(), ["web1", "web2", "web3"]);
        assert_eq!(
            expand("web[01:03].example.com").unwrap(),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(expand("web[1:10:4]").unwrap(), ["web1", "web5", "web9"]);
        assert_eq!(expand("n[:2]").unwrap(), ["n0", "n1", "n2"]);
        assert_eq!(expand("w[8:11]").unwrap(), ["w8", "w9", "w10", "w11"]);
        assert_eq!(expand("w[3:1]").unwrap(), Vec::<String>::new());
        assert_eq!(expand("w[001:100]").unwrap().len(), 100);
    }

    #[test]
    fn letter_ranges_and_several_ranges_in_one_name() {
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("x[y:B]").unwrap(), ["xy", "xz", "xA", "xB"]);
        assert_eq!(expand("h[a:e:2]").unwrap(), ["ha", "hc", "he"]);
        assert_eq!(
            expand("r[1:2]-[a:b]").unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
    }

    #[test]
    fn bad_ranges_say_what_is_expected() {
        let e = |p: &str| expand(p).unwrap_err();
        assert!(
            e("web[1:3").contains("expected [begin:end]"),
            "{}",
            e("web[1:3")
        );
        assert!(e("web[1]").contains("begin:end or begin:end:step"));
        assert!(e("web[1:2:3:4]").contains("begin:end or begin:end:step"));
        assert!(e("web[1:]").contains("end value"));
        assert!(e("web[01:100]").contains("equal-length"));
        assert!(e("web[c:a]").contains("begin <= end"));
        assert!(e("web[1:x]").contains("neither a number nor a letter"));
        assert!(e("web[1:3:0]").contains("zero"));
        assert!(e("web[1:3:x]").contains("step 'x'"));
        assert!(e("w[0:99999999]").contains("more than"));
    }
}
