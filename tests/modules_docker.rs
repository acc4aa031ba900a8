//! The container modules on two lab servers (real Debian 12, Debian's
//! docker.io 20.10 and docker-compose 1.29, no registry anywhere): an image
//! built on the server from busybox-static is saved and loaded back
//! (docker_image), run as a compose project (docker_compose), then dk1 starts
//! a swarm that dk2 joins (docker_swarm) and a stack serves it on a host-mode
//! port (docker_stack). Every step checks the server's state: check mode
//! touches nothing, the first run changes, the second does not.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use condaplay::modules::Outcome;
use serde_json::Value;
use support::Test;
use support::lab_host::{Keep, LabHost, ok_sh};

fn changed(o: &Outcome) {
    assert!(o.changed && !o.failed, "expected a change: {o:?}");
}

fn unchanged(o: &Outcome) {
    assert!(!o.changed && !o.failed, "expected no change: {o:?}");
}

/// docker.io (and friends) once; a server that already has them is reused.
fn install(h: &LabHost, packages: &str) {
    ok_sh(
        h,
        &format!(
            "export DEBIAN_FRONTEND=noninteractive; dpkg -s {packages} >/dev/null 2>&1 || \
             {{ apt-get update -qq && apt-get install -y -qq {packages} >/dev/null 2>&1; }}; \
             systemctl is-active docker >/dev/null || systemctl start docker"
        ),
    );
}

/// A tiny image without any registry: busybox-static as the root file system.
const MAKE_IMAGE: &str = "set -e; d=$(mktemp -d); mkdir -p $d/bin $d/www $d/tmp; \
cp /bin/busybox $d/bin/busybox; for a in sh httpd sleep; do ln -s busybox $d/bin/$a; done; \
echo hello-from-busybox > $d/www/index.html; \
tar -C $d -c . | docker import -c 'CMD [\"/bin/busybox\",\"httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]' - local/busybox:1 >/dev/null; \
rm -rf $d";

/// An HTTP GET from the controller; the body, or None when nothing answers.
fn http_get(ip: &str, port: u16) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("{ip}:{port}").parse().unwrap(),
        Duration::from_secs(3),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET / HTTP/1.0\r\nHost: {ip}\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// Polls until the server answers (containers take a moment to listen).
fn wait_http(ip: &str, port: u16) -> String {
    for _ in 0..60 {
        if let Some(body) = http_get(ip, port).filter(|b| b.contains("hello-from-busybox")) {
            return body;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("nothing served hello-from-busybox at {ip}:{port}");
}

#[test]
fn docker_modules_on_lab_servers() {
    let m = Keep::new(LabHost::start("dk1"));
    let w = Keep::new(LabHost::start("dk2"));
    std::thread::scope(|s| {
        s.spawn(|| install(&m, "docker.io docker-compose busybox-static"));
        s.spawn(|| install(&w, "docker.io"));
    });
    images(&m);
    compose(&m);
    swarm_and_stack(&m, &w);
}

fn images(h: &LabHost) {
    ok_sh(
        h,
        &format!("docker rmi -f local/busybox:1 >/dev/null 2>&1; {MAKE_IMAGE}"),
    );
    ok_sh(
        h,
        "docker save -o /root/busybox.tar local/busybox:1 && docker rmi local/busybox:1",
    );
    let load = "name: local/busybox\ntag: '1'\nsource: load\nload_path: /root/busybox.tar";
    changed(&h.check("docker_image", load));
    assert_eq!(h.sh_status("docker image inspect local/busybox:1").0, 1);
    let o = h.module("docker_image", load);
    changed(&o);
    let id = ok_sh(h, "docker image inspect --format '{{.Id}}' local/busybox:1");
    assert_eq!(o.ret["image"]["Id"], id.trim());
    unchanged(&h.module("community.docker.docker_image", load));

    let o = h.module("docker_image", "name: local/nothing:1\nsource: local");
    assert!(
        o.failed
            && o.msg
                .as_deref()
                .unwrap_or("")
                .contains("Cannot find the image local/nothing:1"),
        "{o:?}"
    );
    let o = h.module(
        "docker_image",
        "name: local/busybox:2\nload_path: /root/busybox.tar",
    );
    assert!(
        o.failed
            && o.msg
                .as_deref()
                .unwrap_or("")
                .contains("did not contain the image"),
        "{o:?}"
    );

    ok_sh(h, "docker tag local/busybox:1 local/busybox:old");
    let gone = "name: local/busybox\ntag: old\nstate: absent";
    changed(&h.check("docker_image", gone));
    ok_sh(h, "docker image inspect local/busybox:old >/dev/null");
    changed(&h.module("docker_image", gone));
    assert_eq!(h.sh_status("docker image inspect local/busybox:old").0, 1);
    unchanged(&h.module("docker_image", gone));
}

const COMPOSE_V1: &str =
    "version: '3'\nservices:\n  web:\n    image: local/busybox:1\n    ports: ['8080:8080']\n";

fn container_ids(h: &LabHost) -> String {
    h.sh("docker ps -aq --filter label=com.docker.compose.project=cpapp | sort")
}

fn compose(h: &LabHost) {
    ok_sh(
        h,
        &format!(
            "mkdir -p /srv/cpapp && printf '%s' \"{COMPOSE_V1}\" > /srv/cpapp/docker-compose.yml"
        ),
    );
    let up = "project_src: /srv/cpapp";
    changed(&h.check("docker_compose", up));
    assert_eq!(container_ids(h), "");
    let o = h.module("community.docker.docker_compose_v2", up);
    changed(&o);
    assert_eq!(o.ret["containers"][0]["Service"], "web");
    assert_eq!(o.ret["containers"][0]["State"], "running");
    wait_http(&h.ip, 8080);
    let first = container_ids(h);
    unchanged(&h.check("docker_compose", up));
    unchanged(&h.module("docker_compose", up));
    assert_eq!(container_ids(h), first);

    // A changed definition recreates the container; check mode only says so.
    ok_sh(
        h,
        "printf '    environment:\\n      GREETING: hi\\n' >> /srv/cpapp/docker-compose.yml",
    );
    changed(&h.check("docker_compose", up));
    assert_eq!(container_ids(h), first);
    changed(&h.module("docker_compose", up));
    let second = container_ids(h);
    assert_ne!(second, first);
    let env = ok_sh(
        h,
        &format!(
            "docker inspect --format '{{{{.Config.Env}}}}' {}",
            second.trim()
        ),
    );
    assert!(env.contains("GREETING=hi"), "{env}");
    unchanged(&h.module("docker_compose", up));

    let stopped = "project_src: /srv/cpapp\nstate: stopped\ntimeout: 1";
    changed(&h.check("docker_compose", stopped));
    assert_eq!(
        ok_sh(
            h,
            &format!(
                "docker inspect --format '{{{{.State.Status}}}}' {}",
                second.trim()
            )
        )
        .trim(),
        "running"
    );
    changed(&h.module("docker_compose", stopped));
    assert_eq!(
        ok_sh(
            h,
            &format!(
                "docker inspect --format '{{{{.State.Status}}}}' {}",
                second.trim()
            )
        )
        .trim(),
        "exited"
    );
    unchanged(&h.module("docker_compose", stopped));
    changed(&h.check("docker_compose", up));
    changed(&h.module("docker_compose", up));
    wait_http(&h.ip, 8080);

    let restarted = "project_src: /srv/cpapp\nstate: restarted\ntimeout: 1";
    changed(&h.module("docker_compose", restarted));
    assert_eq!(container_ids(h), second);

    let absent = "project_src: /srv/cpapp\nstate: absent\ntimeout: 1";
    changed(&h.check("docker_compose", absent));
    assert_eq!(container_ids(h), second);
    changed(&h.module("docker_compose", absent));
    assert_eq!(container_ids(h), "");
    unchanged(&h.module("docker_compose", absent));

    let o = h.module("docker_compose", "project_src: /srv/no-such-project");
    assert!(
        o.failed
            && o.msg
                .as_deref()
                .unwrap_or("")
                .contains("is not a directory"),
        "{o:?}"
    );
}

const STACK: &str = "version: '3.8'
services:
  web:
    image: local/busybox:1
    ports:
      - {target: 8080, published: 8081, protocol: tcp, mode: host}
    stop_grace_period: 1s
    deploy:
      placement:
        constraints: [node.role == manager]
";

const EXTRA: &str = "version: '3.8'
services:
  more:
    image: local/busybox:1
    command: [sleep, '3600']
";

const JOIN_PLAYBOOK: &str = "
- hosts: dk1
  tasks:
    - name: the swarm
      docker_swarm:
        state: present
        advertise_addr: '{{ ansible_host }}'
      register: swarm
    # A join token is a secret the module returned: masked even here.
    - debug:
        var: swarm
- hosts: dk2
  tasks:
    - name: join it
      community.docker.docker_swarm:
        state: join
        advertise_addr: '{{ ansible_host }}'
        remote_addrs: ['{{ hostvars.dk1.ansible_host }}:2377']
        join_token: '{{ hostvars.dk1.swarm.swarm_facts.JoinTokens.Worker }}'
";

fn swarm_and_stack(m: &LabHost, w: &LabHost) {
    // Leftovers of an interrupted run.
    m.sh("docker swarm leave --force >/dev/null 2>&1");
    w.sh("docker swarm leave --force >/dev/null 2>&1");
    let init = format!("state: present\nadvertise_addr: {}", m.ip);
    changed(&m.check("docker_swarm", &init));
    assert_eq!(
        ok_sh(m, "docker info --format '{{.Swarm.LocalNodeState}}'").trim(),
        "inactive"
    );
    let o = m.module("docker_swarm", &init);
    changed(&o);
    let worker = o.ret["swarm_facts"]["JoinTokens"]["Worker"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(worker.starts_with("SWMTKN-"), "{o:?}");
    assert!(
        o.ret["swarm_facts"]["JoinTokens"]["Manager"]
            .as_str()
            .unwrap()
            .starts_with("SWMTKN-")
    );
    assert_eq!(o.ret["managers"], 1);
    assert_eq!(
        o.ret["node_id"],
        ok_sh(m, "docker info --format '{{.Swarm.NodeID}}'").trim()
    );
    let again = m.module("docker_swarm", &init);
    unchanged(&again);
    assert_eq!(
        again.ret["swarm_facts"]["JoinTokens"]["Worker"],
        Value::String(worker.clone())
    );

    let join = format!(
        "state: join\nadvertise_addr: {}\nremote_addrs: ['{}:2377']\njoin_token: {worker}",
        w.ip, m.ip
    );
    changed(&w.check("docker_swarm", &join));
    assert_eq!(
        ok_sh(w, "docker info --format '{{.Swarm.LocalNodeState}}'").trim(),
        "inactive"
    );
    // The way roles join: the manager's registered result, through hostvars.
    let pb = Test::new()
        .inventory_extra(&format!(
            "[swarm]\n{}\n{}\n",
            m.inventory_line("dk1"),
            w.inventory_line("dk2")
        ))
        .playbook(JOIN_PLAYBOOK);
    let run = pb.run(&["-v"]);
    run.assert_exit(0)
        .assert_nowhere(&worker)
        .assert_stdout_contains("JoinTokens");
    assert_eq!(run.host("dk1").changed, 0, "{}", run.stdout);
    assert_eq!(run.host("dk2").changed, 1, "{}", run.stdout);
    assert_eq!(
        ok_sh(w, "docker info --format '{{.Swarm.LocalNodeState}}'").trim(),
        "active"
    );
    pb.run(&[]).assert_exit(0).assert_changed(0);
    let o = w.module("docker_swarm", &join);
    unchanged(&o);
    let worker_id = o.ret["node_id"].as_str().unwrap().to_string();
    assert!(!worker_id.is_empty());
    assert_eq!(
        o.ret["swarm_facts"],
        serde_json::json!({}),
        "workers get no tokens"
    );
    assert_eq!(ok_sh(m, "docker node ls -q | wc -l").trim(), "2");

    ok_sh(
        m,
        &format!("mkdir -p /srv/stack && printf '%s' \"{STACK}\" > /srv/stack/web.yml"),
    );
    let deploy = "name: cpweb\ncompose: [/srv/stack/web.yml]\nresolve_image: never";
    changed(&m.check("docker_stack", deploy));
    assert_eq!(m.sh("docker service ls -q"), "");
    let o = m.module("docker_stack", deploy);
    changed(&o);
    assert_eq!(o.ret["services"][0]["Name"], "cpweb_web");
    wait_http(&m.ip, 8081);
    unchanged(&m.check("docker_stack", deploy));
    unchanged(&m.module("docker_stack", deploy));
    ok_sh(
        m,
        &format!("printf '%s' \"{EXTRA}\" > /srv/stack/extra.yml"),
    );
    let more = "name: cpweb\ncompose: [/srv/stack/web.yml, /srv/stack/extra.yml]";
    changed(&m.check("docker_stack", more));
    let pruned = "name: cpweb\ncompose: [/srv/stack/web.yml]\nprune: true";
    unchanged(&m.check("docker_stack", pruned));
    let pruning = "name: cpweb\ncompose: [/srv/stack/extra.yml]\nprune: true";
    changed(&m.check("docker_stack", pruning));
    assert_eq!(m.sh("docker service ls -q").lines().count(), 1);
    ok_sh(m, "sed -i 's/8081/8082/' /srv/stack/web.yml");
    changed(&m.module("community.docker.docker_stack", deploy));
    wait_http(&m.ip, 8082);
    let rm = "name: cpweb\nstate: absent\nabsent_retries: 30";
    changed(&m.check("docker_stack", rm));
    assert_ne!(m.sh("docker service ls -q"), "");
    changed(&m.module("docker_stack", rm));
    assert_eq!(m.sh("docker service ls -q"), "");
    unchanged(&m.module("docker_stack", rm));

    let leave = "state: absent";
    changed(&w.module("docker_swarm", leave));
    unchanged(&w.module("docker_swarm", leave));
    // The manager still lists the node that left, until it is removed.
    let remove = format!("state: remove\nnode_id: {worker_id}\nforce: true");
    changed(&m.check("docker_swarm", &remove));
    assert_eq!(ok_sh(m, "docker node ls -q | wc -l").trim(), "2");
    changed(&m.module("docker_swarm", &remove));
    assert_eq!(ok_sh(m, "docker node ls -q | wc -l").trim(), "1");
    unchanged(&m.module("docker_swarm", &remove));
    changed(&m.check("docker_swarm", "state: absent\nforce: true"));
    assert_eq!(
        ok_sh(m, "docker info --format '{{.Swarm.LocalNodeState}}'").trim(),
        "active"
    );
    changed(&m.module("docker_swarm", "state: absent\nforce: true"));
    assert_eq!(
        ok_sh(m, "docker info --format '{{.Swarm.LocalNodeState}}'").trim(),
        "inactive"
    );
    unchanged(&m.module("docker_swarm", "state: absent\nforce: true"));
}
