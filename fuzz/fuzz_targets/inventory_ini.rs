#![no_main]
//! INI inventories: any text parses or fails cleanly, and a parsed inventory
//! answers patterns without panicking.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(inv) = condaplay::inventory::Inventory::from_ini_str(text, std::path::Path::new("fuzz.ini")) {
            for pattern in ["all", "web:&db", "all:!web", "web[0:2]", "~w.*"] {
                let _ = inv.select(pattern);
            }
            for h in inv.hosts() {
                let _ = inv.host_vars(h);
                let _ = inv.group_names(h);
            }
        }
    }
});
