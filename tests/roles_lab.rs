//! The system roles (swap, docker, sshfs_server, sshfs_client, env,
//! loadbalancer) on three fresh lab servers, `main`, a client and a load
//! balancer: --check first (nothing touched), then a converge with the
//! servers' state asserted, then a second run with changed=0. One test
//! function: the servers boot once.

#[path = "support/book.rs"]
mod book;
mod support;

use std::collections::BTreeSet;

use book::{Book, http_get, ok};
use support::lab_host::LabHost;

const SITE: &str = r#"
- hosts: main
  roles:
    - swap
    - docker
    - sshfs_server
- hosts: clients
  roles:
    - sshfs_client
    - role: env
      vars:
        env_path: /root/app/.env
        env_values:
          _APP_ENV: production
          _APP_DB_HOST: "{{ hostvars[groups['main'][0]].ansible_host }}"
          _APP_GREETING: "hello world"
- hosts: loadbalancers
  roles:
    - role: loadbalancer
      vars:
        lb_backend_group: backends
        lb_backend_port: 8081
"#;

/// A small web server on each backend (perl: the lab has no python):
/// every path answers 200 with the server's name.
const BACKEND: &str = r#"cat > /usr/local/bin/cpweb <<'PERL'
#!/usr/bin/perl
use IO::Socket::INET;
my $n = `hostname`;
my $s = IO::Socket::INET->new(LocalPort => 8081, Listen => 64, ReuseAddr => 1) or die "listen: $!";
while (my $c = $s->accept) {
    while (<$c>) { last if /^\r?$/ }
    print $c "HTTP/1.0 200 OK\r\nContent-Length: " . length($n) . "\r\n\r\n$n";
    close $c;
}
PERL
chmod 755 /usr/local/bin/cpweb
systemd-run --unit=cpweb /usr/local/bin/cpweb >/dev/null 2>&1
for i in $(seq 50); do curl -fs http://127.0.0.1:8081/health >/dev/null && break; sleep 0.1; done
"#;

/// A line to HAProxy's runtime API on the load balancer (socat comes with the role).
fn haproxy_api(h: &LabHost, cmd: &str) -> String {
    h.sh(&format!(
        "echo '{cmd}' | socat stdio /run/haproxy/admin.sock"
    ))
}

/// What the roles would change, as one text: compared before and after --check.
const FINGERPRINT: &str = "ls -la /swapfile-bkr-* /home/share /root/.ssh /etc/docker /root/app 2>&1; \
    grep bkr- /proc/swaps; cat /etc/fstab /root/.ssh/authorized_keys /root/.ssh/known_hosts 2>&1; \
    dpkg-query -W docker.io sshfs haproxy 2>&1; findmnt -n /home/share";

#[test]
fn system_roles_converge_once_and_check_touches_nothing() {
    let mut b = Book::start(&[
        ("main", "bkr-main"),
        ("client", "bkr-cli"),
        ("lb", "bkr-lb"),
    ]);
    b.group("main", &["main"])
        .group("clients", &["client"])
        .group("loadbalancers", &["lb"])
        .group("backends", &["main", "client"]);
    // Lab servers share one kernel, so its list of active swaps: a name per server.
    b.vars = "swap_size: 64M\nswap_file: \"/swapfile-{{ ansible_hostname }}\"\ndocker_registry_mirrors: ['http://172.31.250.1:5000']\n".into();
    b.file("site.yml", SITE);

    for alias in ["main", "client"] {
        b.host(alias).sh(BACKEND);
    }

    // --check on fresh servers: reported, not done.
    let before: Vec<String> = b.hosts.iter().map(|(_, h)| h.sh(FINGERPRINT)).collect();
    let check = b.run("site.yml", &["--check"]);
    ok(&check);
    assert!(check.host("main").changed > 0, "{}", check.stdout);
    let after: Vec<String> = b.hosts.iter().map(|(_, h)| h.sh(FINGERPRINT)).collect();
    assert_eq!(before, after, "--check changed a server");

    let first = b.run("site.yml", &[]);
    ok(&first);
    assert!(first.host("main").changed > 0 && first.host("client").changed > 0);

    swap_state(b.host("main"));
    docker_state(b.host("main"));
    share_state(&b);
    env_state(b.host("client"));
    balancer_state(&b);

    let second = b.run("site.yml", &[]);
    ok(&second);
    second.assert_changed(0);
    // The private key travelled, but was never shown.
    let key = b.host("main").sh("sed -n 2p /root/.ssh/sshfs_ed25519");
    assert!(key.len() > 20);
    for r in [&check, &first, &second] {
        r.assert_nowhere(key.trim());
    }

    // A second --check on converged servers finds nothing to do either.
    b.run("site.yml", &["--check"]).assert_changed(0);
}

/// HAProxy balances both backends, and drains one through its runtime API.
fn balancer_state(b: &Book) {
    let lb = b.host("lb");
    let addr = format!("{}:80", lb.ip);
    let names = |n: usize| -> BTreeSet<String> {
        (0..n)
            .map(|_| match http_get(&addr, "/") {
                Some((200, body)) => body.trim().to_string(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let both: BTreeSet<String> = ["bkr-main", "bkr-cli"].map(String::from).into();
    // Two passing checks (1 s apart) before a server takes traffic.
    for _ in 0..100 {
        if names(4) == both {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(names(6), both);
    assert_eq!(lb.sh("systemctl is-enabled haproxy").trim(), "enabled");
    haproxy_api(lb, "set server appconda/main state drain");
    assert!(
        haproxy_api(lb, "show stat").contains("appconda,main,"),
        "server names are the inventory names"
    );
    assert_eq!(names(6), ["bkr-cli".to_string()].into());
    haproxy_api(lb, "set server appconda/main state ready");
    assert_eq!(names(6), both);
}

fn swap_state(h: &LabHost) {
    assert_eq!(
        h.sh("awk '$1 == \"/swapfile-bkr-main\" { print $2, $3 }' /proc/swaps")
            .trim(),
        "file 65532"
    );
    assert_eq!(
        h.sh("grep -c '^/swapfile-bkr-main ' /etc/fstab").trim(),
        "1"
    );
    assert_eq!(h.sh("stat -c %a /swapfile-bkr-main").trim(), "600");
}

fn docker_state(h: &LabHost) {
    let (code, out) =
        h.sh_status("docker info --format '{{.LoggingDriver}} {{.RegistryConfig.Mirrors}}'");
    assert_eq!(code, 0, "docker answers: {out}");
    assert_eq!(out.trim(), "json-file [http://172.31.250.1:5000/]");
    let daemon = h.sh("cat /etc/docker/daemon.json");
    assert!(daemon.contains("\"max-size\": \"10m\""), "{daemon}");
    assert!(daemon.contains("\"max-file\": \"5\""), "{daemon}");
    assert!(
        daemon.contains("\"172.31.250.1:5000\""),
        "insecure registry: {daemon}"
    );
    assert_eq!(h.sh("systemctl is-enabled docker").trim(), "enabled");
}

fn share_state(b: &Book) {
    let main = b.host("main");
    let client = b.host("client");
    assert_eq!(
        main.sh("cd /home/share && ls -d */ | tr -d / | sort | tr '\\n' ' '")
            .trim(),
        "builds cache certificates config executor functions mariadb redis uploads"
    );
    // One authorized line for the key, restricted to the client's address.
    let line = main.sh("grep sshfs@main /root/.ssh/authorized_keys");
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(
        line.starts_with(&format!("restrict,from=\"{}\" ssh-ed25519 ", client.ip)),
        "{line}"
    );
    // The client reads what main wrote, through the fstab line, over sshfs.
    main.sh("date +%s%N > /home/share/uploads/from-main.txt");
    assert_eq!(
        client.sh("cat /home/share/uploads/from-main.txt"),
        main.sh("cat /home/share/uploads/from-main.txt")
    );
    assert!(
        client
            .sh("findmnt -n -o FSTYPE /home/share")
            .contains("fuse.sshfs")
    );
    let fstab = client.sh("grep ' /home/share ' /etc/fstab");
    assert_eq!(
        fstab.trim(),
        format!(
            "root@{}:/home/share /home/share fuse.sshfs allow_other,_netdev,reconnect,x-systemd.automount,ServerAliveInterval=15,ServerAliveCountMax=3,StrictHostKeyChecking=yes,IdentityFile=/root/.ssh/sshfs_main 0 0",
            main.ip
        )
    );
    assert_eq!(client.sh("stat -c %a /root/.ssh/sshfs_main").trim(), "600");
    assert_eq!(
        client
            .sh(&format!("grep -c '^{} ' /root/.ssh/known_hosts", main.ip))
            .trim(),
        "1"
    );
    // The key is the one main made, and it works only for the client.
    assert_eq!(
        client.sh("ssh-keygen -y -f /root/.ssh/sshfs_main | cut -d' ' -f2"),
        main.sh("cut -d' ' -f2 /root/.ssh/sshfs_ed25519.pub")
    );
}

fn env_state(h: &LabHost) {
    assert_eq!(h.sh("stat -c '%a %U' /root/app/.env").trim(), "600 root");
    let text = h.sh("grep -v '^#' /root/app/.env");
    let main_ip = text.lines().nth(1).unwrap_or("").to_string();
    assert!(main_ip.starts_with("_APP_DB_HOST=172.31.250."), "{text}");
    assert_eq!(
        text,
        format!("_APP_ENV=production\n{main_ip}\n_APP_GREETING=hello world\n")
    );
}
