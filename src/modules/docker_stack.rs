//! `docker_stack` (community.docker.docker_stack): a swarm stack deployed from
//! compose files on the host (or definitions given inline), or removed.
//!
//! `docker stack deploy` updates every service each time, so "changed" is
//! judged on the services' specs (not their version counters), listed before
//! and after. Check mode cannot ask swarm what a deploy would do: it predicts
//! a change when the stack is missing (present) or there (absent).

use serde_json::Value;

use super::docker::NEED_DOCKER;
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct DockerStack;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required(),
    Arg::any("compose"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::bool("prune"),
    Arg::bool("with_registry_auth"),
    Arg::str("resolve_image").choices(&["always", "changed", "never"]),
    Arg::int("absent_retries"),
    Arg::int("absent_retries_interval"),
]);

impl Module for DockerStack {
    fn name(&self) -> &'static str {
        "docker_stack"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.req_str("name")?;
        let state = args.choice("state", &["present", "absent"], "present")?;
        let mut b = String::from(NEED_DOCKER);
        b.push_str(&format!("cp_stack={}\n", sh::quote(&name)));
        b.push_str(
            "[ \"$(docker info --format '{{.Swarm.ControlAvailable}}')\" = true ] || cp_fail 'this node is not a swarm manager: docker_stack runs on a manager'\n\
             cp_specs() {\n  cp_ids=$(docker service ls -q --filter \"label=com.docker.stack.namespace=$cp_stack\")\n  [ -z \"$cp_ids\" ] && return 0\n  docker service inspect --format '{{.Spec.Name}} {{json .Spec}}' $cp_ids | sort\n}\n\
             cp_specs > \"$CP_TMP/before\" || cp_fail 'cannot list the stack services'\n",
        );
        if state == "absent" {
            let retries = args.int("absent_retries")?.unwrap_or(0);
            let interval = args.int("absent_retries_interval")?.unwrap_or(1);
            b.push_str(&format!(
                "if [ -s \"$CP_TMP/before\" ] || [ -n \"$(docker network ls -q --filter label=com.docker.stack.namespace=$cp_stack)\" ]; then\n  cp_changed\n  if ! cp_check; then\n    # The network goes while the last task still holds it: rm again until it can.\n    cp_n=0\n    until docker stack rm \"$cp_stack\" >\"$CP_TMP/out\" 2>&1; do cp_n=$((cp_n+1)); [ $cp_n -ge 30 ] && cp_fail \"docker stack rm failed: $(cat \"$CP_TMP/out\")\"; sleep 1; done\n    cp_n=0\n    while [ $cp_n -lt {retries} ] && [ -n \"$(docker network ls -q --filter label=com.docker.stack.namespace=$cp_stack)$(docker service ls -q --filter label=com.docker.stack.namespace=$cp_stack)\" ]; do cp_n=$((cp_n+1)); sleep {interval}; done\n    [ {retries} = 0 ] || [ $cp_n -lt {retries} ] || cp_fail 'the stack is still there after absent_retries'\n  fi\nfi\n"
            ));
            return Ok(Plan::Remote(b));
        }
        let files = compose_files(args)?;
        if files.is_empty() {
            return Err(ModuleError::Missing {
                module: "docker_stack",
                arg: "compose (needed with state=present)".into(),
            });
        }
        let mut deploy = String::from("set -- docker stack deploy");
        for (i, f) in files.iter().enumerate() {
            match f {
                ComposeFile::Path(p) => {
                    b.push_str(&format!(
                        "[ -f {q} ] || cp_fail {msg}\n",
                        q = sh::quote(p),
                        msg = sh::quote(&format!("compose file {p} does not exist on the host"))
                    ));
                    deploy.push_str(&format!(" -c {}", sh::quote(p)));
                }
                ComposeFile::Inline(text) => {
                    let dest = format!("\"$CP_TMP/compose{i}.yml\"");
                    b.push_str(&sh::write_file(&dest, text.as_bytes()));
                    deploy.push_str(&format!(" -c {dest}"));
                }
            }
        }
        if args.bool("prune", false)? {
            deploy.push_str(" --prune");
        }
        if args.bool("with_registry_auth", false)? {
            deploy.push_str(" --with-registry-auth");
        }
        if let Some(r) = args.str("resolve_image")? {
            deploy.push_str(&format!(" --resolve-image {}", sh::quote(&r)));
        }
        b.push_str(&deploy);
        b.push_str(" \"$cp_stack\"\n");
        b.push_str(
            "if cp_check; then\n\
             [ -s \"$CP_TMP/before\" ] || cp_changed\n\
             else\n\
             \"$@\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"docker stack deploy failed: $(cat \"$CP_TMP/out\")\"\n\
             cp_specs > \"$CP_TMP/after\"\n\
             cmp -s \"$CP_TMP/before\" \"$CP_TMP/after\" || cp_changed\n\
             cp_recf ret.stdout \"$CP_TMP/out\"\n\
             fi\n\
             docker stack services --format '{\"ID\":{{json .ID}},\"Name\":{{json .Name}},\"Image\":{{json .Image}},\"Mode\":{{json .Mode}},\"Replicas\":{{json .Replicas}}}' \"$cp_stack\" >\"$CP_TMP/svcs\" 2>/dev/null && cp_recf ret.stack_spec_diff \"$CP_TMP/svcs\"\n:\n",
        );
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        // The services as they are now, one JSON object a line.
        if let Some(Value::String(text)) = o.ret.remove("stack_spec_diff") {
            let list: Vec<Value> = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            o.ret.insert("services".into(), Value::Array(list));
        }
        o
    }
}

enum ComposeFile {
    Path(String),
    /// A definition given in the task, written to a private temporary file.
    Inline(String),
}

/// `compose:` is a path, or a list of paths and inline definitions (mappings).
fn compose_files(args: &Args) -> Result<Vec<ComposeFile>, ModuleError> {
    let bad = |v: &Value| ModuleError::BadArg {
        module: "docker_stack",
        arg: "compose".into(),
        msg: format!("expected a list of file paths or compose mappings, got {v}"),
    };
    let one = |v: &Value| match v {
        Value::String(s) => Ok(ComposeFile::Path(s.clone())),
        // JSON is YAML: compose reads it as it is.
        Value::Object(_) => Ok(ComposeFile::Inline(v.to_string())),
        other => Err(bad(other)),
    };
    match args.raw("compose") {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(one).collect(),
        Some(v) => Ok(vec![one(v)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compose_takes_paths_and_inline_definitions() {
        let a = Args::new(
            "docker_stack",
            json!({"compose": ["/srv/a.yml", {"services": {"web": {"image": "x"}}}]})
                .as_object()
                .unwrap()
                .clone(),
        );
        let files = compose_files(&a).unwrap();
        assert!(matches!(&files[0], ComposeFile::Path(p) if p == "/srv/a.yml"));
        assert!(matches!(&files[1], ComposeFile::Inline(t) if t.contains("\"image\":\"x\"")));
        let bad = Args::new(
            "docker_stack",
            json!({"compose": [3]}).as_object().unwrap().clone(),
        );
        let err = compose_files(&bad).err().unwrap().to_string();
        assert!(err.contains("compose"), "{err}");
    }
}
