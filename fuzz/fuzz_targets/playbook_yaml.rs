#![no_main]
//! Playbooks: any text parses into plays or fails with a located error.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        // A directory with no roles or includes: the parser reads nothing else.
        let _ = condaplay::playbook::Playbook::from_str(text, std::path::Path::new("/nonexistent/fuzz.yml"));
    }
});
