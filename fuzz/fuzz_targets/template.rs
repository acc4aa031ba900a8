#![no_main]
//! Templates: any text renders or fails; never a panic or a hang.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut vars = serde_json::Map::new();
        vars.insert("name".into(), serde_json::json!("web1"));
        vars.insert("items".into(), serde_json::json!([1, 2, {"a": "b"}]));
        let ctx = condaplay::template::Context::new(&vars);
        let t = condaplay::template::Templar::new();
        let _ = t.render_text("fuzz.j2", text, &ctx);
        let _ = t.eval_bool(text, &ctx);
    }
});
