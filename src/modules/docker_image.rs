//! `docker_image` (community.docker.docker_image): an image present or absent
//! in the host's Docker, pulled from a registry, loaded from a tarball on the
//! host (servers without a registry) or required to be there already.

use serde_json::Value;

use super::docker::NEED_DOCKER;
use super::{Arg, Args, Module, ModuleError, Outcome, Plan, PlanCtx, Raw, Spec, sh};

pub struct DockerImage;

static SPEC: Spec = Spec::new(&[
    Arg::str("name").required(),
    Arg::str("tag"),
    Arg::str("state").choices(&["present", "absent"]),
    Arg::str("source").choices(&["pull", "load", "local"]),
    Arg::str("load_path"),
    Arg::bool("force_source"),
    Arg::bool("force_absent"),
]);

impl Module for DockerImage {
    fn name(&self) -> &'static str {
        "docker_image"
    }
    fn spec(&self) -> &'static Spec {
        &SPEC
    }
    fn plan(&self, args: &Args, _ctx: &PlanCtx) -> Result<Plan, ModuleError> {
        let name = args.req_str("name")?;
        let image = full_name(&name, args.str("tag")?.as_deref());
        let state = args.choice("state", &["present", "absent"], "present")?;
        let load_path = args.str("load_path")?;
        // As the collection: without `source`, an image with `load_path` is
        // loaded, otherwise it must exist (present with no source fails if absent).
        let default_source = if load_path.is_some() { "load" } else { "" };
        let source = match args.str("source")? {
            Some(_) => args.choice("source", &["pull", "load", "local"], "local")?,
            None => default_source.to_string(),
        };
        if source == "load" && load_path.is_none() {
            return Err(ModuleError::Missing {
                module: "docker_image",
                arg: "load_path (needed with source=load)".into(),
            });
        }
        let force = args.bool("force_source", false)?;
        let mut b = String::from(NEED_DOCKER);
        b.push_str(&format!("cp_img={}\n", sh::quote(&image)));
        b.push_str(
            "cp_id() { docker image inspect --format '{{.Id}}' \"$cp_img\" 2>/dev/null; }\n\
             cp_before=$(cp_id)\n",
        );
        if state == "absent" {
            let f = if args.bool("force_absent", false)? {
                " -f"
            } else {
                ""
            };
            b.push_str(&format!(
                "if [ -n \"$cp_before\" ]; then\n  cp_changed\n  cp_check || docker rmi{f} \"$cp_img\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error removing image $cp_img: $(cat \"$CP_TMP/out\")\"\nfi\n"
            ));
            b.push_str("cp_rec retj.image '{}'\n");
            return Ok(Plan::Remote(b));
        }
        let fetch = match source.as_str() {
            "pull" => "docker pull \"$cp_img\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error pulling image $cp_img: $(cat \"$CP_TMP/out\")\"\n".to_string(),
            "load" => format!(
                "cp_tar={}\n[ -f \"$cp_tar\" ] || cp_fail \"Error loading image $cp_img: load_path $cp_tar does not exist on the host\"\n\
                 docker load -i \"$cp_tar\" >\"$CP_TMP/out\" 2>&1 || cp_fail \"Error loading image $cp_img from $cp_tar: $(cat \"$CP_TMP/out\")\"\n\
                 [ -n \"$(cp_id)\" ] || cp_fail \"The archive $cp_tar did not contain the image $cp_img (it has: $(grep -o 'Loaded image.*' \"$CP_TMP/out\" | tr '\\n' ' '))\"\n",
                sh::quote(load_path.as_deref().unwrap_or_default())
            ),
            "local" => String::new(),
            _ => "cp_fail \"Cannot find the image $cp_img locally and no source was given (source: pull, load or local)\"\n".to_string(),
        };
        if source == "local" {
            b.push_str(
                "[ -n \"$cp_before\" ] || cp_fail \"Cannot find the image $cp_img locally\"\n",
            );
        } else {
            // With force_source the image is fetched again; changed only if its id moved.
            let cond = if force {
                "true"
            } else {
                "[ -z \"$cp_before\" ]"
            };
            b.push_str(&format!("if {cond}; then\n"));
            b.push_str("  if cp_check; then\n    [ -z \"$cp_before\" ] && cp_changed\n  else\n");
            b.push_str(&fetch);
            b.push_str("    [ \"$(cp_id)\" != \"$cp_before\" ] && cp_changed\n  fi\nfi\n");
        }
        b.push_str("docker image inspect --format '{{json .}}' \"$cp_img\" >\"$CP_TMP/img\" 2>/dev/null && cp_recf retj.image \"$CP_TMP/img\"\n:\n");
        Ok(Plan::Remote(b))
    }

    fn finish(&self, _args: &Args, raw: Raw) -> Outcome {
        let mut o = raw.into_outcome();
        if !o.ret.contains_key("image") {
            o.ret
                .insert("image".into(), Value::Object(Default::default()));
        }
        o
    }
}

/// `name:tag`, unless the name already carries a tag or digest.
fn full_name(name: &str, tag: Option<&str>) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if name.contains('@') || last.contains(':') {
        return name.to_string();
    }
    format!("{name}:{}", tag.unwrap_or("latest"))
}

#[cfg(test)]
mod tests {
    use super::full_name;

    #[test]
    fn tags_are_added_once() {
        assert_eq!(full_name("busybox", None), "busybox:latest");
        assert_eq!(full_name("local/busybox", Some("1")), "local/busybox:1");
        assert_eq!(full_name("reg:5000/app:2", Some("1")), "reg:5000/app:2");
        assert_eq!(full_name("reg:5000/app", None), "reg:5000/app:latest");
        assert_eq!(full_name("a@sha256:00", None), "a@sha256:00");
    }
}
