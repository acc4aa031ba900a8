//! `docker_compose` (community.docker.docker_compose_v2): a Compose project
//! up, stopped, restarted or down, with the Compose plugin (`docker compose`)
//! or the standalone `docker-compose` (Debian bookworm ships 1.29).
//!
//! "Changed" means containers were created, recreated, started, stopped or
//! removed: the project's containers (id, state, start time) are listed
//! before and after compose runs. Check mode runs nothing that changes the
//! host: it compares each service's `config --hash` with the
//! `com.docker.compose.config-hash` label of its containers.

use serde_json::Value;

use super::docker::NEED_DOCKER;
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct DockerCompose;

const STATES: &[&str] = &["present", "absent", "stopped", "restarted"];
const PULL: &[&str] = &["always", "missing", "never", "policy"];
const RECREATE: &[&str] = &["auto", "always", "never"];

static SPEC: Spec = Spec::new(&[
    Arg::str("project_src").required(),
    Arg::str("project_name"),
    Arg::list("files"),
    Arg::list("env_files"),
    Arg::str("state").choices(STATES),
    Arg::str("pull").choices(PULL),
    Arg::str("recreate").choices(RECREATE),
    Arg::bool("remove_orphans"),
    Arg::bool("remove_volumes"),
    Arg::str("remove_images").choices(&["all", "local"]),
    Arg::list("services"),
    Arg::bool("wait"),
    Arg::int("wait_timeout"),
    Arg::int("timeout"),
    Arg::bool("dependencies"),
]);

impl Module for DockerCompose {
    fn name(&self) -> &'static str {
        "docker_compose"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let src = args.req_str("project_src")?;
        let state = args.choice("state", STATES, "present")?;
        let pull = args.choice("pull", PULL, "policy")?;
        let recreate = args.choice("recreate", RECREATE, "auto")?;
        let orphans = args.bool("remove_orphans", false)?;
        let services = args.list("services")?;
        let wait = args.bool("wait", false)?;
        let wait_timeout = args.int("wait_timeout")?.unwrap_or(120);
        let timeout = args.int("timeout")?;
        let deps = args.bool("dependencies", true)?;

        let mut b = String::from(NEED_DOCKER);
        b.push_str(&format!(
            "cd {} 2>/dev/null || cp_fail \"project_src {} is not a directory on the host\"\n",
            sh::quote(&src),
            src.replace(['"', '$', '`', '\\'], "_")
        ));
        // The plugin first, as the collection does; the standalone tool otherwise.
        b.push_str(
            "if docker compose version >/dev/null 2>&1; then cp_v2=1; set -- docker compose\n\
             elif command -v docker-compose >/dev/null 2>&1; then cp_v2=0; set -- docker-compose\n\
             else cp_fail 'neither the docker compose plugin nor docker-compose is installed on this host (Debian: apt-get install docker-compose)'; fi\n",
        );
        // Compose's own rule for a default project name: the directory's
        // name, lower case, keeping only [a-z0-9_-].
        match args.str("project_name")? {
            Some(p) => b.push_str(&format!("cp_proj={}\n", sh::quote(&p))),
            None => {
                b.push_str("cp_proj=$(basename \"$PWD\" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9_-')\n")
            }
        }
        b.push_str("set -- \"$@\" -p \"$cp_proj\"\n");
        for f in args.list("files")? {
            b.push_str(&format!("set -- \"$@\" -f {}\n", sh::quote(&f)));
        }
        let envs = args.list("env_files")?;
        if envs.len() > 1 {
            b.push_str(
                "[ $cp_v2 = 1 ] || cp_fail 'docker-compose 1.x takes one env_files entry only'\n",
            );
        }
        for e in &envs {
            b.push_str(&format!("set -- \"$@\" --env-file {}\n", sh::quote(e)));
        }
        let svc: String = services
            .iter()
            .map(|s| format!(" {}", sh::quote(s)))
            .collect();
        // The project's containers, one line each: what "changed" is judged on.
        b.push_str(
            "cp_snap() {\n  cp_ids=$(docker ps -aq --no-trunc --filter \"label=com.docker.compose.project=$cp_proj\")\n  [ -z \"$cp_ids\" ] && return 0\n  docker inspect --format '{{.Id}} {{index .Config.Labels \"com.docker.compose.service\"}} {{index .Config.Labels \"com.docker.compose.config-hash\"}} {{.State.Status}} {{.State.StartedAt}}' $cp_ids | sort\n}\n",
        );
        b.push_str(
            "cp_snap > \"$CP_TMP/before\" || cp_fail 'cannot list the project containers'\n",
        );
        b.push_str(
            "cp_dc() { \"$@\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"compose failed: $(cat \"$CP_TMP/out\")\"; }\n",
        );
        b.push_str(
            "\"$@\" config --hash '*' >\"$CP_TMP/hashes\" 2>\"$CP_TMP/cfgerr\" || cp_fail \"invalid compose project: $(cat \"$CP_TMP/cfgerr\")\"\n",
        );
        let t = timeout.map(|t| format!(" -t {t}")).unwrap_or_default();
        b.push_str("if cp_check; then\n");
        b.push_str(&predict(&state, &recreate, orphans, &services));
        b.push_str("else\n");
        match state.as_str() {
            "present" => {
                if pull == "always" {
                    b.push_str(&format!("  cp_dc \"$@\" pull{svc}\n"));
                }
                let mut up = String::from(" up -d");
                match recreate.as_str() {
                    "always" => up.push_str(" --force-recreate"),
                    "never" => up.push_str(" --no-recreate"),
                    _ => {}
                }
                if orphans {
                    up.push_str(" --remove-orphans");
                }
                if !deps {
                    up.push_str(" --no-deps");
                }
                up.push_str(&t);
                b.push_str(&format!(
                    "  cp_up='{up}'\n  if [ $cp_v2 = 1 ]; then\n    [ {pull} = never ] || [ {pull} = missing ] && cp_up=\"$cp_up --pull {pull}\"\n    {w}\n  fi\n  cp_dc \"$@\" $cp_up{svc}\n",
                    w = if wait {
                        format!("cp_up=\"$cp_up --wait --wait-timeout {wait_timeout}\"")
                    } else {
                        ":".into()
                    }
                ));
                if wait {
                    // docker-compose 1.x has no --wait: poll until every
                    // container runs (and is healthy, when it has a check).
                    b.push_str(&format!(
                        "  if [ $cp_v2 = 0 ]; then\n    cp_n=0\n    while docker inspect --format '{{{{.State.Status}}}} {{{{if .State.Health}}}}{{{{.State.Health.Status}}}}{{{{end}}}}' $(docker ps -aq --filter \"label=com.docker.compose.project=$cp_proj\") | grep -qv '^running $\\|^running healthy$'; do\n      cp_n=$((cp_n+1)); [ $cp_n -gt {wait_timeout} ] && cp_fail 'timed out waiting for the containers to run'; sleep 1\n    done\n  fi\n"
                    ));
                }
            }
            "stopped" => b.push_str(&format!(
                "  cp_dc \"$@\" up --no-start{svc}\n  cp_dc \"$@\" stop{t}{svc}\n"
            )),
            "restarted" => b.push_str(&format!("  cp_dc \"$@\" restart{t}{svc}\n")),
            _ => {
                let mut down = String::from(" down");
                if orphans {
                    down.push_str(" --remove-orphans");
                }
                if args.bool("remove_volumes", false)? {
                    down.push_str(" -v");
                }
                if let Some(r) = args.str("remove_images")? {
                    down.push_str(&format!(" --rmi {}", sh::quote(&r)));
                }
                down.push_str(&t);
                b.push_str(&format!("  cp_dc \"$@\"{down}\n"));
            }
        }
        b.push_str("  cp_snap > \"$CP_TMP/after\"\n  cmp -s \"$CP_TMP/before\" \"$CP_TMP/after\" || cp_changed\n");
        b.push_str("  cp_recf ret.stderr \"$CP_TMP/out\"\nfi\n");
        b.push_str(
            "cp_ids=$(docker ps -aq --no-trunc --filter \"label=com.docker.compose.project=$cp_proj\")\n\
             [ -n \"$cp_ids\" ] && docker inspect --format '{\"ID\":{{json .Id}},\"Name\":{{json .Name}},\"Service\":{{json (index .Config.Labels \"com.docker.compose.service\")}},\"Project\":{{json (index .Config.Labels \"com.docker.compose.project\")}},\"Image\":{{json .Config.Image}},\"State\":{{json .State.Status}}}' $cp_ids > \"$CP_TMP/cont\" && cp_recf ret.containers \"$CP_TMP/cont\"\n\
             cp_ret project_name \"$cp_proj\"\n",
        );
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        let text = match o.ret.get("containers") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let list: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|mut v| {
                if let Some(Value::String(n)) = v.get_mut("Name") {
                    *n = n.trim_start_matches('/').to_string();
                }
                v
            })
            .collect();
        o.ret.insert("containers".into(), Value::Array(list));
        o
    }
}

/// Shell that decides, without touching anything, whether the run would change
/// containers. Reads `$CP_TMP/before` (containers) and `$CP_TMP/hashes` (what
/// each service's config hashes to now).
fn predict(state: &str, recreate: &str, orphans: bool, services: &[String]) -> String {
    let only = services.join(" ");
    let mut b = format!(
        "  awk -v state={state} -v recreate={recreate} -v orphans={o} -v only={only} '\n\
         BEGIN {{ n = split(only, s, \" \"); for (i = 1; i <= n; i++) sel[s[i]] = 1 }}\n\
         FILENAME == ARGV[1] {{ want[$1] = $2; next }}\n\
         {{ seen[$2] = 1; if (!($2 in want)) {{ if (orphans == 1 || state == \"absent\") c = 1; next }}\n\
           if (n && !($2 in sel)) next\n\
           if (state == \"absent\" || state == \"restarted\") c = 1\n\
           else if (state == \"stopped\") {{ if ($4 == \"running\") c = 1 }}\n\
           else if ($4 != \"running\" || recreate == \"always\" || (recreate == \"auto\" && $3 != want[$2])) c = 1 }}\n\
         END {{ if (state == \"present\" || state == \"stopped\") for (k in want) if ((!n || k in sel) && !(k in seen)) c = 1; exit c ? 0 : 1 }}\n\
         ' \"$CP_TMP/hashes\" \"$CP_TMP/before\" && cp_changed\n",
        o = if orphans { 1 } else { 0 },
        only = sh::quote(&only),
    );
    b.push_str("  : > \"$CP_TMP/out\"\n");
    b
}
