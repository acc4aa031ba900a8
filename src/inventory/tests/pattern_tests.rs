use super::*;

const INV: &str = "lone\n[web]\nweb1\nweb2\nweb3\n[db]\ndb1\ndb2\n[staging]\nweb3\ndb2\n[prod:children]\nweb\ndb\n";

fn sel(pattern: &str) -> Vec<String> {
    let (hosts, warnings) = ini(INV).select(pattern).unwrap();
    assert!(warnings.is_empty(), "{pattern}: {warnings:?}");
    hosts
}

#[test]
fn all_star_and_empty_walk_groups_breadth_first() {
    // all's children are ungrouped, staging, prod (web and db sit under prod),
    // so Ansible visits lone, staging's hosts, then web's and db's.
    let order = names(&["lone", "web3", "db2", "web1", "web2", "db1"]);
    assert_eq!(sel("all"), order);
    assert_eq!(sel("*"), order);
    assert_eq!(sel(""), order);
    assert_eq!(ini(INV).hosts(), order);
}

#[test]
fn names_groups_and_unions() {
    assert_eq!(sel("web1"), ["web1"]);
    assert_eq!(sel("web"), ["web1", "web2", "web3"]);
    assert_eq!(sel("prod"), ["web1", "web2", "web3", "db1", "db2"]);
    assert_eq!(
        sel("db:web"),
        ["db1", "db2", "web1", "web2", "web3"],
        "union keeps pattern order"
    );
    assert_eq!(sel("db,web"), ["db1", "db2", "web1", "web2", "web3"]);
    assert_eq!(sel("web1:web"), ["web1", "web2", "web3"], "deduplicated");
    assert_eq!(sel("ungrouped"), ["lone"]);
}

#[test]
fn intersections_and_exclusions() {
    assert_eq!(sel("prod:&staging"), ["web3", "db2"]);
    assert_eq!(sel("prod:!staging"), ["web1", "web2", "db1"]);
    assert_eq!(
        sel("!staging:prod"),
        ["web1", "web2", "db1"],
        "exclusions apply last whatever their place"
    );
    assert_eq!(sel("!prod"), ["lone"], "no positive pattern means all");
    assert_eq!(sel("&web"), ["web3", "web1", "web2"]);
    assert_eq!(sel("web,db,&staging,!db2"), ["web3"]);
}

#[test]
fn globs_and_regexes_match_groups_and_hosts() {
    assert_eq!(sel("web*"), ["web1", "web2", "web3"]);
    assert_eq!(sel("st*"), ["web3", "db2"]);
    assert_eq!(sel("*1"), ["web1", "db1"]);
    assert_eq!(sel("~db\\d"), ["db1", "db2"]);
    assert_eq!(sel("~(web|db)[13]"), ["web1", "web3", "db1"]);
    assert_eq!(sel("db[!1]"), ["db2"], "a glob character class");
    assert_eq!(
        sel("d?[1]"),
        ["db2"],
        "a subscript on the groups d? matches"
    );
    let err = ini(INV).select("db[12]").unwrap_err().to_string();
    assert_eq!(
        err, "No hosts matched the subscripted pattern 'db[12]'",
        "[12] is an index, as in Ansible"
    );
}

#[test]
fn subscripts_pick_by_position() {
    assert_eq!(sel("web[0]"), ["web1"]);
    assert_eq!(sel("web[-1]"), ["web3"]);
    assert_eq!(sel("web[1:2]"), ["web2", "web3"]);
    assert_eq!(sel("web[1:]"), ["web2", "web3"]);
    assert_eq!(sel("web[0:9]"), ["web1", "web2", "web3"]);
    assert_eq!(sel("prod[3:4]:lone"), ["db1", "db2", "lone"]);
    let err = ini(INV).select("web[5]").unwrap_err().to_string();
    assert_eq!(err, "No hosts matched the subscripted pattern 'web[5]'");
    let (hosts, warnings) = ini(INV).select("web[0-1]").unwrap();
    assert_eq!(hosts, ["web1", "web2"]);
    assert_eq!(
        warnings,
        ["Use [x:y] inclusive subscripts instead of [x-y] which has been removed"]
    );
}

#[test]
fn unknown_names_match_nothing_and_warn() {
    let inv = ini(INV);
    let (hosts, warnings) = inv.select("nosuch").unwrap();
    assert!(hosts.is_empty());
    assert_eq!(
        warnings,
        ["Could not match supplied host pattern, ignoring: nosuch"]
    );
    let (hosts, warnings) = inv.select("web:&nosuch:!gone*").unwrap();
    assert!(hosts.is_empty());
    assert_eq!(
        warnings,
        [
            "Could not match supplied host pattern, ignoring: nosuch",
            "Could not match supplied host pattern, ignoring: gone*"
        ]
    );
    let err = inv.select("~(").unwrap_err().to_string();
    assert_eq!(err, "Invalid host list pattern: ~(");
}

#[test]
fn groups_magic_variable_lists_every_group_with_descendant_hosts() {
    let inv = ini(INV);
    let g = inv.groups();
    assert_eq!(
        g.keys().collect::<Vec<_>>(),
        ["all", "ungrouped", "web", "db", "staging", "prod"]
    );
    assert_eq!(
        group_hosts(&inv, "prod"),
        ["web1", "web2", "web3", "db1", "db2"]
    );
    assert_eq!(group_hosts(&inv, "staging"), ["web3", "db2"]);
    assert_eq!(inv.group_names("web3"), ["prod", "staging", "web"]);
    assert!(inv.group_names("nobody").is_empty());
}
