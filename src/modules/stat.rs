//! `stat`: facts about a path, shaped like Ansible's `stat` return value.

use serde_json::{Map, Value, json};

use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct Stat;

static SPEC: Spec = Spec::new(&[
    Arg::str("path").required().aliases(&["dest", "name"]),
    Arg::bool("follow"),
    Arg::bool("get_checksum"),
    Arg::str("checksum_algorithm")
        .aliases(&["checksum", "checksum_algo"])
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    Arg::bool("get_md5"),
    Arg::bool("get_mime"),
    Arg::bool("get_attributes"),
]);

/// One line of `stat -c`: raw mode in hex, then the fields [`finish`] reads.
const FORMAT: &str = "%f|%u|%g|%U|%G|%s|%i|%d|%h|%.6X|%.6Y|%.6Z";

impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn read_only(&self) -> bool {
        true
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let path = args.req_str("path")?;
        let follow = args.bool("follow", false)?;
        let algo = args.choice(
            "checksum_algorithm",
            &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
            "sha1",
        )?;
        let sum = if args.bool("get_checksum", true)? {
            format!(
                "if [ -f \"$cp_p\" ] && [ \"$cp_reg\" = 1 ] && [ -r \"$cp_p\" ]; then cp_ret checksum \"$({algo}sum < \"$cp_p\" | cut -d' ' -f1)\"; fi\n"
            )
        } else {
            String::new()
        };
        let l = if follow { "-L " } else { "" };
        let mime = if args.bool("get_mime", false)? {
            "command -v file >/dev/null && { cp_ret mimetype \"$(file -b --mime-type -- \"$cp_p\")\"; cp_ret charset \"$(file -b --mime-encoding -- \"$cp_p\")\"; }\n"
        } else {
            ""
        };
        Ok(Plan::Remote(format!(
            "cp_p={p}\nif [ -e \"$cp_p\" ] || [ -L \"$cp_p\" ]; then\n  cp_st=$(stat {l}-c '{FORMAT}' -- \"$cp_p\") || cp_fail \"cannot stat $cp_p\"\n  cp_ret st \"$cp_st\"\n  cp_reg=0; [ -f \"$cp_p\" ] && {{ [ {f} = 1 ] || [ ! -L \"$cp_p\" ]; }} && cp_reg=1\n  [ -L \"$cp_p\" ] && {{ cp_ret lnk_target \"$(readlink -- \"$cp_p\")\"; cp_ret lnk_source \"$(readlink -f -- \"$cp_p\")\"; }}\n  cp_ret access \"$([ -r \"$cp_p\" ] && printf r)$([ -w \"$cp_p\" ] && printf w)$([ -x \"$cp_p\" ] && printf x)\"\n  {sum}  {mime}fi\n",
            p = sh::quote(&path),
            f = u8::from(follow),
        )))
    }
    fn finish(&self, args: &Args, raw: Raw) -> Outcome {
        let path = args.str("path").ok().flatten().unwrap_or_default();
        let get = |k: &str| raw.get(k).map(str::to_string);
        let st = get("st");
        let access = get("access").unwrap_or_default();
        let extra: Vec<(&str, Option<String>)> = [
            "lnk_target",
            "lnk_source",
            "checksum",
            "mimetype",
            "charset",
        ]
        .iter()
        .map(|k| (*k, get(k)))
        .collect();
        let mut o = raw.into_outcome();
        o.ret.clear();
        if o.failed {
            return o;
        }
        let Some(st) = st else {
            o.ret.insert("stat".into(), json!({"exists": false}));
            return o;
        };
        let mut s = Map::new();
        let f: Vec<&str> = st.trim_end().split('|').collect();
        if f.len() < 12 {
            return Outcome::fail(format!("stat: unexpected output {st:?}"));
        }
        let raw_mode = u32::from_str_radix(f[0], 16).unwrap_or(0);
        let num = |x: &str| x.parse::<u64>().map(Value::from).unwrap_or(Value::Null);
        let float = |x: &str| {
            x.parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        };
        let kind = raw_mode & 0o170000;
        let bit = |b: u32| Value::Bool(raw_mode & b != 0);
        s.insert("exists".into(), true.into());
        s.insert("path".into(), path.into());
        s.insert("mode".into(), format!("{:04o}", raw_mode & 0o7777).into());
        for (name, k) in [
            ("isdir", 0o040000),
            ("ischr", 0o020000),
            ("isblk", 0o060000),
            ("isreg", 0o100000),
            ("isfifo", 0o010000),
            ("islnk", 0o120000),
            ("issock", 0o140000),
        ] {
            s.insert(name.into(), Value::Bool(kind == k));
        }
        s.insert("uid".into(), num(f[1]));
        s.insert("gid".into(), num(f[2]));
        s.insert("pw_name".into(), f[3].into());
        s.insert("gr_name".into(), f[4].into());
        s.insert("size".into(), num(f[5]));
        s.insert("inode".into(), num(f[6]));
        s.insert("dev".into(), num(f[7]));
        s.insert("nlink".into(), num(f[8]));
        s.insert("atime".into(), float(f[9]));
        s.insert("mtime".into(), float(f[10]));
        s.insert("ctime".into(), float(f[11]));
        for (name, b) in [
            ("rusr", 0o400),
            ("wusr", 0o200),
            ("xusr", 0o100),
            ("rgrp", 0o040),
            ("wgrp", 0o020),
            ("xgrp", 0o010),
            ("roth", 0o004),
            ("woth", 0o002),
            ("xoth", 0o001),
            ("isuid", 0o4000),
            ("isgid", 0o2000),
        ] {
            s.insert(name.into(), bit(b));
        }
        s.insert("readable".into(), access.contains('r').into());
        s.insert("writeable".into(), access.contains('w').into());
        s.insert("executable".into(), access.contains('x').into());
        for (k, v) in extra {
            if let Some(v) = v {
                s.insert(k.into(), v.into());
            }
        }
        o.ret.insert("stat".into(), Value::Object(s));
        o
    }
}
