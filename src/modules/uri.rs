//! `uri`: an HTTP request made ON THE HOST with curl, Ansible's return values
//! (status, url, redirected, content, json, lower-cased headers), failing when
//! the status is not one of `status_code`. The URL, credentials, headers and
//! body reach curl through files in the task's private directory (a curl
//! config file and `--data-binary @file`), never through its argv.

use serde_json::{Map, Value};

use super::lineinfile::FRESH_TMP;
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Uri;

static SPEC: Spec = Spec::new(&[
    Arg::str("url").required(),
    Arg::str("method"),
    Arg::any("body"),
    Arg::str("body_format").choices(&["raw", "json", "form-urlencoded"]),
    Arg::dict("headers"),
    Arg::any("status_code"),
    Arg::bool("return_content"),
    Arg::int("timeout"),
    Arg::bool("validate_certs"),
    Arg::any("follow_redirects"),
    Arg::str("url_username").aliases(&["user"]),
    Arg::str("url_password").aliases(&["password"]),
    Arg::bool("force_basic_auth"),
    Arg::str("creates"),
    Arg::str("removes"),
]);

/// A value in curl's config-file syntax (double quotes, backslash escapes).
fn cfg_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn form_encode(v: &Value) -> Option<String> {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match v {
        Value::Object(m) => Some(
            m.iter()
                .map(|(k, v)| format!("{}={}", enc(k), enc(&text(v))))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        Value::Array(items) => items
            .iter()
            .map(|p| match p {
                Value::Array(kv) if kv.len() == 2 => {
                    Some(format!("{}={}", enc(&text(&kv[0])), enc(&text(&kv[1]))))
                }
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join("&")),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `status_code`: an int, a list of ints, or a comma-separated string.
fn status_codes(args: &Args) -> Result<Vec<i64>, ModuleError> {
    let bad = |v: &Value| ModuleError::BadArg {
        module: "uri",
        arg: "status_code".into(),
        msg: format!("expected an HTTP status or a list of them, got {v}"),
    };
    let one = |v: &Value| -> Result<i64, ModuleError> {
        match v {
            Value::Number(n) => n.as_i64().ok_or_else(|| bad(v)),
            Value::String(s) => s.trim().parse().map_err(|_| bad(v)),
            _ => Err(bad(v)),
        }
    };
    match args.raw("status_code") {
        None => Ok(vec![200]),
        Some(Value::Array(items)) => items.iter().map(one).collect(),
        Some(Value::String(s)) if s.contains(',') => s
            .split(',')
            .map(|p| one(&Value::String(p.to_string())))
            .collect(),
        Some(v) => Ok(vec![one(v)?]),
    }
}

impl Module for Uri {
    fn name(&self) -> &'static str {
        "uri"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let m = "uri";
        let url = args.req_str("url")?;
        let method = args.str_or("method", "GET")?.to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(ModuleError::BadArg {
                module: m,
                arg: "method".into(),
                msg: format!("not an HTTP method: {method}"),
            });
        }
        status_codes(args)?;
        let format = args.choice("body_format", &["raw", "json", "form-urlencoded"], "raw")?;
        let mut headers: Vec<(String, String)> = Vec::new();
        if let Some(Value::Object(h)) = args.raw("headers") {
            for (k, v) in h {
                let v = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if k.contains(['\n', '\r', ':']) || v.contains(['\n', '\r']) {
                    return Err(ModuleError::BadArg {
                        module: m,
                        arg: "headers".into(),
                        msg: format!("header {k:?} has a newline or a colon in its name"),
                    });
                }
                headers.push((k.clone(), v));
            }
        }
        let has_header = |h: &[(String, String)], name: &str| {
            h.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        let body: Option<Vec<u8>> = match (args.raw("body"), format.as_str()) {
            (None, _) => None,
            (Some(v), "json") => {
                if !has_header(&headers, "Content-Type") {
                    headers.push(("Content-Type".into(), "application/json".into()));
                }
                Some(match v {
                    Value::String(s) => s.clone().into_bytes(),
                    other => serde_json::to_vec(other).unwrap_or_default(),
                })
            }
            (Some(v), "form-urlencoded") => {
                if !has_header(&headers, "Content-Type") {
                    headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }
                Some(
                    form_encode(v)
                        .ok_or_else(|| ModuleError::BadArg {
                            module: m,
                            arg: "body".into(),
                            msg: "form-urlencoded needs a mapping, a list of pairs or a string"
                                .into(),
                        })?
                        .into_bytes(),
                )
            }
            (Some(Value::String(s)), _) => Some(s.clone().into_bytes()),
            (Some(other), _) => Some(other.to_string().into_bytes()),
        };
        let follow = match args.raw("follow_redirects") {
            None => "safe".to_string(),
            Some(Value::Bool(true)) => "all".into(),
            Some(Value::Bool(false)) => "none".into(),
            Some(Value::String(s)) => match s.as_str() {
                "yes" | "all" => "all".into(),
                "no" | "none" => "none".into(),
                "safe" | "urllib2" => "safe".into(),
                other => {
                    return Err(ModuleError::BadArg {
                        module: m,
                        arg: "follow_redirects".into(),
                        msg: format!(
                            "value must be one of: all, safe, none, urllib2, got: {other}"
                        ),
                    });
                }
            },
            Some(v) => {
                return Err(ModuleError::BadArg {
                    module: m,
                    arg: "follow_redirects".into(),
                    msg: format!("expected all, safe or none, got {v}"),
                });
            }
        };
        let follow =
            follow == "all" || (follow == "safe" && matches!(method.as_str(), "GET" | "HEAD"));

        let mut cfg = format!("url = {}\n", cfg_quote(&url));
        if let Some(u) = args.str("url_username")? {
            let p = args.str("url_password")?.unwrap_or_default();
            cfg.push_str(&format!("user = {}\n", cfg_quote(&format!("{u}:{p}"))));
        }
        for (k, v) in &headers {
            cfg.push_str(&format!("header = {}\n", cfg_quote(&format!("{k}: {v}"))));
        }
        let mut b = FRESH_TMP.to_string();
        if let Some(c) = args.str("creates")? {
            b.push_str(&format!(
                "[ -e {} ] && {{ cp_msg \"{} exists\"; cp_ret skipped_guard 1; exit 0; }}\n",
                sh::quote(&c),
                c.replace(['"', '$', '`', '\\'], "")
            ));
        }
        if let Some(r) = args.str("removes")? {
            b.push_str(&format!("[ -e {} ] || {{ cp_msg \"{} does not exist\"; cp_ret skipped_guard 1; exit 0; }}\n", sh::quote(&r), r.replace(['"', '$', '`', '\\'], "")));
        }
        b.push_str("cp_check && cp_skip 'uri does not support check mode'\ncommand -v curl >/dev/null || cp_fail 'uri needs curl on the host (apt-get install curl)'\n");
        b.push_str(&sh::write_file("\"$CP_TMP/cfg\"", cfg.as_bytes()));
        let mut opts = vec!["-sS".to_string(), "-K".into(), "\"$CP_TMP/cfg\"".into()];
        if method == "HEAD" {
            opts.push("--head".into());
        } else {
            opts.push(format!("-X {method}"));
        }
        if let Some(data) = &body {
            b.push_str(&sh::write_file("\"$CP_TMP/body\"", data));
            opts.push("--data-binary @\"$CP_TMP/body\"".into());
        }
        if follow {
            opts.push("-L --max-redirs 50".into());
        }
        if !args.bool("validate_certs", true)? {
            opts.push("-k".into());
        }
        opts.push(format!(
            "--max-time {}",
            args.int("timeout")?.unwrap_or(30).max(1)
        ));
        b.push_str(&format!(
            "curl {} -o \"$CP_TMP/resp\" -D \"$CP_TMP/hdr\" -w '%{{http_code}}\\n%{{url_effective}}\\n%{{num_redirects}}\\n' > \"$CP_TMP/w\" 2>\"$CP_TMP/cerr\"\ncp_rc=$?\ncp_recf ret.w \"$CP_TMP/w\"\nif [ $cp_rc != 0 ]; then cp_recf ret.curl_error \"$CP_TMP/cerr\"; exit 0; fi\ncp_recf ret.hdr \"$CP_TMP/hdr\"\n[ -f \"$CP_TMP/resp\" ] || : > \"$CP_TMP/resp\"\ncp_recf ret.body \"$CP_TMP/resp\"\n",
            opts.join(" ")
        ));
        Ok(Plan::Remote(b))
    }
    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let url = args.str("url").ok().flatten().unwrap_or_default();
        let codes = status_codes(args).unwrap_or_else(|_| vec![200]);
        let w = raw.get("w").unwrap_or("").to_string();
        let hdr = raw.get("hdr").unwrap_or("").to_string();
        let body = raw.get("body").unwrap_or("").to_string();
        let curl_error = raw.get("curl_error").map(|s| s.trim().to_string());
        let guard = raw.get("skipped_guard").is_some();
        let mut o = raw.into_outcome();
        o.ret.clear();
        if o.failed || o.skipped || guard {
            return o;
        }
        let mut lines = w.lines();
        let status: i64 = lines.next().and_then(|s| s.parse().ok()).unwrap_or(-1);
        let effective = lines.next().unwrap_or(&url).to_string();
        let redirects: i64 = lines.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        o.ret.insert("url".into(), Value::String(effective));
        o.ret
            .insert("redirected".into(), Value::Bool(redirects > 0));
        let codes_text = format!(
            "[{}]",
            codes
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(err) = curl_error {
            o.ret.insert("status".into(), Value::from(-1));
            // Ansible reports a failed connection as status -1, which a
            // task may list as acceptable.
            if codes.contains(&-1) {
                o.msg = Some(format!("Request failed: {err}"));
            } else {
                o.failed = true;
                o.msg = Some(format!(
                    "Status code was -1 and not {codes_text}: Request failed: {err}"
                ));
            }
            return o;
        }
        o.ret.insert("status".into(), Value::from(status));
        // -D writes every response of a redirect chain; the last one counts.
        let block = hdr
            .replace("\r\n", "\n")
            .split("\n\n")
            .filter(|b| b.trim_start().starts_with("HTTP/"))
            .last()
            .unwrap_or("")
            .to_string();
        let mut blines = block.lines();
        let reason = blines
            .next()
            .and_then(|l| l.splitn(3, ' ').nth(2))
            .unwrap_or("")
            .trim()
            .to_string();
        let mut content_type = String::new();
        let mut hmap = Map::new();
        for l in blines {
            if let Some((k, v)) = l.split_once(':') {
                let key = k.trim().to_ascii_lowercase().replace('-', "_");
                if key == "content_type" {
                    content_type = v.trim().to_string();
                }
                o.ret
                    .insert(key.clone(), Value::String(v.trim().to_string()));
                hmap.insert(key, Value::String(v.trim().to_string()));
            }
        }
        if content_type.contains("json") {
            if let Ok(j) = serde_json::from_str::<Value>(&body) {
                o.ret.insert("json".into(), j);
            }
        }
        if args.bool("return_content", false).unwrap_or(false) {
            o.ret.insert("content".into(), Value::String(body.clone()));
        }
        if codes.contains(&status) {
            o.msg = Some(format!("OK ({} bytes)", body.len()));
        } else {
            o.failed = true;
            o.msg = Some(format!(
                "Status code was {status} and not {codes_text}: HTTP Error {status}: {reason}"
            ));
        }
        o
    }
}
