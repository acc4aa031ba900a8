#![no_main]
//! `.env` files from the vault.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = condaplay::vault::parse_dotenv(text, std::path::Path::new("fuzz.env"));
    }
});
