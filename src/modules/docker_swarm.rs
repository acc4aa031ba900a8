//! `docker_swarm` (community.docker.docker_swarm): this node starts a swarm
//! (present), joins one (join), leaves it (absent), or, from a manager,
//! removes another node (remove).
//!
//! The join token never appears on a command line: the request goes to the
//! Engine API on the local socket with the token in a body file inside the
//! task's private temporary directory (the body itself arrived on stdin).

use serde_json::{Map, Value, json};

use super::docker::{API, NEED_DOCKER};
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct DockerSwarm;

const STATES: &[&str] = &["present", "join", "absent", "remove"];

static SPEC: Spec = Spec::new(&[
    Arg::str("state").choices(STATES),
    Arg::str("advertise_addr"),
    Arg::str("listen_addr"),
    Arg::str("data_path_addr"),
    Arg::str("join_token"),
    Arg::list("remote_addrs"),
    Arg::str("node_id"),
    Arg::bool("force"),
]);

impl Module for DockerSwarm {
    fn name(&self) -> &'static str {
        "docker_swarm"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let state = args.choice("state", STATES, "present")?;
        let force = args.bool("force", false)?;
        let listen = args.str_or("listen_addr", "0.0.0.0:2377")?;
        let advertise = args.str("advertise_addr")?;
        let mut b = String::from(NEED_DOCKER);
        b.push_str(API);
        b.push_str(
            "cp_state() { docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}'; }\n\
             set -- $(cp_state)\n",
        );
        match state.as_str() {
            "present" => {
                let mut body = node_body(args, &listen, advertise.as_deref())?;
                body.insert("ForceNewCluster".into(), json!(force));
                b.push_str(&request_body(body));
                b.push_str(
                    "case $1 in\n\
                     active) [ \"$2\" = true ] || cp_fail 'This node is already part of a swarm as a worker: run docker_swarm on a manager' ;;\n\
                     inactive) cp_changed\n  if ! cp_check; then\n    cp_code=$(cp_api POST /swarm/init \"$CP_TMP/body\" \"$CP_TMP/resp\") || cp_fail 'cannot reach the Docker API socket'\n    [ \"$cp_code\" = 200 ] || cp_fail \"Can not create a new Swarm Cluster: $(cat \"$CP_TMP/resp\")\"\n  fi ;;\n\
                     *) cp_fail \"the node's swarm state is $1; fix it by hand (docker swarm leave --force)\" ;;\nesac\n",
                );
            }
            "join" => {
                let token = args.str("join_token")?.ok_or(ModuleError::Missing {
                    module: "docker_swarm",
                    arg: "join_token (needed with state=join)".into(),
                })?;
                let remotes = args.list("remote_addrs")?;
                if remotes.is_empty() {
                    return Err(ModuleError::Missing {
                        module: "docker_swarm",
                        arg: "remote_addrs (needed with state=join)".into(),
                    });
                }
                let mut body = node_body(args, &listen, advertise.as_deref())?;
                body.insert("RemoteAddrs".into(), json!(remotes));
                // The token travels in this file on stdin, never in an argument list.
                body.insert("JoinToken".into(), json!(token));
                b.push_str(&request_body(body));
                b.push_str(
                    "case $1 in\n\
                     active) : ;;\n\
                     inactive) cp_changed\n  if ! cp_check; then\n    cp_code=$(cp_api POST /swarm/join \"$CP_TMP/body\" \"$CP_TMP/resp\") || cp_fail 'cannot reach the Docker API socket'\n    [ \"$cp_code\" = 200 ] || cp_fail \"Can not join the Swarm Cluster: $(cat \"$CP_TMP/resp\")\"\n  fi ;;\n\
                     *) cp_fail \"the node's swarm state is $1; fix it by hand (docker swarm leave --force)\" ;;\nesac\n",
                );
            }
            "absent" => {
                b.push_str(&format!(
                    "if [ \"$1\" != inactive ]; then\n  cp_changed\n  cp_check || docker swarm leave{} >\"$CP_TMP/out\" 2>&1 || cp_fail \"Can not leave the swarm: $(cat \"$CP_TMP/out\")\"\nfi\n",
                    if force { " --force" } else { "" }
                ));
                return Ok(Plan::Remote(b));
            }
            _ => {
                let node = args.str("node_id")?.ok_or(ModuleError::Missing {
                    module: "docker_swarm",
                    arg: "node_id (needed with state=remove)".into(),
                })?;
                b.push_str(&format!("cp_node={}\n", sh::quote(&node)));
                b.push_str(&format!(
                    "[ \"$2\" = true ] || cp_fail 'This node is not a manager: state=remove runs on a manager'\n\
                     if docker node inspect \"$cp_node\" >/dev/null 2>&1; then\n  cp_changed\n  cp_check || docker node rm{} \"$cp_node\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Can not remove the node $cp_node: $(cat \"$CP_TMP/out\")\"\nfi\n",
                    if force { " --force" } else { "" }
                ));
                return Ok(Plan::Remote(b));
            }
        }
        // What roles read after init/join: the swarm (with its join tokens,
        // managers only) and this node.
        b.push_str(
            "if ! cp_check; then\n  set -- $(cp_state)\nfi\n\
             docker info --format '{{json .Swarm}}' >\"$CP_TMP/node\" && cp_recf retj.node \"$CP_TMP/node\"\n\
             if [ \"$2\" = true ] && [ \"$(cp_api GET /swarm '' \"$CP_TMP/swarm\")\" = 200 ]; then cp_recf retj.swarm_facts \"$CP_TMP/swarm\"; fi\n",
        );
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        let node = o.ret.remove("node").unwrap_or(Value::Null);
        if let Some(id) = node.get("NodeID") {
            o.ret.insert("node_id".into(), id.clone());
        }
        if let Some(m) = node.get("Managers") {
            o.ret.insert("managers".into(), m.clone());
        }
        if !node.is_null() {
            o.ret.insert("swarm_info".into(), node);
        }
        if let Some(tokens) = o
            .ret
            .get("swarm_facts")
            .and_then(|f| f.get("JoinTokens"))
            .and_then(Value::as_object)
        {
            o.secrets = tokens
                .values()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if !o.ret.contains_key("swarm_facts") {
            o.ret
                .insert("swarm_facts".into(), Value::Object(Map::new()));
        }
        o
    }
}

/// The addresses every swarm init or join request carries.
fn node_body(
    args: &Args,
    listen: &str,
    advertise: Option<&str>,
) -> Result<Map<String, Value>, ModuleError> {
    let mut body = Map::new();
    body.insert("ListenAddr".into(), json!(listen));
    if let Some(a) = advertise {
        body.insert("AdvertiseAddr".into(), json!(a));
    }
    if let Some(a) = args.str("data_path_addr")? {
        body.insert("DataPathAddr".into(), json!(a));
    }
    Ok(body)
}

/// Shell text writing a Docker API request body to `$CP_TMP/body`.
fn request_body(body: Map<String, Value>) -> String {
    sh::write_file(
        "\"$CP_TMP/body\"",
        Value::Object(body).to_string().as_bytes(),
    )
}
