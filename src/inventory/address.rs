//! Host identifiers with an optional port (`h:2222`, `[::1]:22`,
//! `web[1:3]:22`), as Ansible's `parse_address` reads them.

use std::sync::LazyLock;

use regex::Regex;

static BRACKETED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("static regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("static regex"));
/// One DNS label, where `[a:c]` / `[1:9]` / `[1:9:2]` ranges may stand for characters.
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    let range = r"\[(?:[a-zA-Z]:[a-zA-Z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
    Regex::new(&format!(r"^(?:\w|{range})(?:[\w-]|{range})*$")).expect("static regex")
});
static IPV6: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9a-fA-F:.]+$").expect("static regex"));

/// `(host, port)` when `text` is a host name or address with an optional
/// port; `None` when it is not one (then callers take it as written).
pub(crate) fn parse_address(text: &str, allow_ranges: bool) -> Option<(String, Option<u64>)> {
    let mut address = text.to_string();
    let mut port = None;
    for re in [&*BRACKETED, &*HOSTPORT] {
        if let Some(c) = re.captures(&address) {
            port = Some(c[2].parse::<u64>().ok()?);
            address = c[1].to_string();
        }
    }
    if !(is_hostname(&address) || is_ipv6(&address)) {
        return None;
    }
    if !allow_ranges && address.contains('[') {
        return None;
    }
    Some((address, port))
}

fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|l| LABEL.is_match(l) && !l.ends_with(['-', '_']))
}

fn is_ipv6(s: &str) -> bool {
    IPV6.is_match(s) && (s.contains("::") || s.matches(':').count() == 7)
}

/// A literal IPv4 or IPv6 address (no ranges): such names keep their dots
/// in `inventory_hostname_short`.
pub(crate) fn is_ip(name: &str) -> bool {
    let v4 = {
        let parts: Vec<&str> = name.split('.').collect();
        parts.len() == 4
            && parts
                .iter()
                .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
            && parts
                .iter()
                .all(|p| p.parse::<u16>().is_ok_and(|n| n <= 255))
    };
    v4 || name.parse::<std::net::Ipv6Addr>().is_ok()
}

/// The host names and port a host pattern from an inventory file stands for.
pub(crate) fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u64>), String> {
    let (name, port) = parse_address(pattern, true).unwrap_or_else(|| (pattern.to_string(), None));
    let names = if name.contains('[') {
        super::range::expand(&name)?
    } else {
        vec![name]
    };
    Ok((names, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(s: &str) -> Option<(String, Option<u64>)> {
        parse_address(s, true)
    }

    #[test]
    fn host_and_port_forms() {
        assert_eq!(pa("web1"), Some(("web1".into(), None)));
        assert_eq!(pa("web1:2222"), Some(("web1".into(), Some(2222))));
        assert_eq!(pa("10.0.0.1:22"), Some(("10.0.0.1".into(), Some(22))));
        assert_eq!(pa("[fe80::1]:22"), Some(("fe80::1".into(), Some(22))));
        assert_eq!(pa("fe80::1"), Some(("fe80::1".into(), None)));
        assert_eq!(
            pa("web[1:3].example.com:22"),
            Some(("web[1:3].example.com".into(), Some(22)))
        );
        assert_eq!(pa("db-[a:c]"), Some(("db-[a:c]".into(), None)));
    }

    #[test]
    fn things_that_are_not_addresses() {
        assert_eq!(pa("web:db"), None);
        assert_eq!(pa("web*"), None);
        assert_eq!(pa("web-"), None);
        assert_eq!(pa("a b"), None);
        assert_eq!(pa(""), None);
        assert_eq!(parse_address("web[1:3]", false), None);
    }

    #[test]
    fn patterns_expand_to_names_and_a_port() {
        assert_eq!(
            expand_hostpattern("w[1:2]:2200").unwrap(),
            (vec!["w1".into(), "w2".into()], Some(2200))
        );
        assert_eq!(
            expand_hostpattern("odd@name").unwrap(),
            (vec!["odd@name".into()], None)
        );
    }
}
