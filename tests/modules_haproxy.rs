//! `haproxy` on a lab server (real Debian 12, Debian's HAProxy 2.6 and socat):
//! two busybox httpd backends behind one HAProxy backend, driven through the
//! runtime socket. Every step reads the server's admin state back from
//! HAProxy: check mode changes nothing, the first call changes, the second not.

mod support;

use condaplay::modules::Outcome;
use support::lab_host::{Keep, LabHost, ok_sh};

fn changed(o: &Outcome) {
    assert!(o.changed && !o.failed, "expected a change: {o:?}");
}

fn unchanged(o: &Outcome) {
    assert!(!o.changed && !o.failed, "expected no change: {o:?}");
}

const SOCK: &str = "/run/haproxy/admin.sock";

const CFG: &str = "global
    stats socket /run/haproxy/admin.sock mode 660 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind :8090
    default_backend web
backend web
    server w1 127.0.0.1:9001 check inter 1s
    server w2 127.0.0.1:9002 check inter 1s
";

/// `admin_state weight` of a server, as HAProxy reports it.
fn server(h: &LabHost, name: &str) -> String {
    let out = ok_sh(
        h,
        &format!(
            "echo 'show servers state web' | socat stdio unix-connect:{SOCK} | awk '$4 == \"{name}\" {{ print $7, $8 }}'"
        ),
    );
    out.trim().to_string()
}

/// The status column of `show stat` (UP, MAINT, DRAIN...).
fn status(h: &LabHost, name: &str) -> String {
    let out = ok_sh(
        h,
        &format!(
            "echo 'show stat' | socat stdio unix-connect:{SOCK} | awk -F, '$1 == \"web\" && $2 == \"{name}\" {{ print $18 }}'"
        ),
    );
    out.trim().to_string()
}

#[test]
fn haproxy_server_states_on_a_lab_server() {
    let h = Keep::new(LabHost::start("dk3"));
    ok_sh(
        &h,
        "export DEBIAN_FRONTEND=noninteractive; dpkg -s haproxy socat busybox-static >/dev/null 2>&1 || \
         { apt-get update -qq && apt-get install -y -qq haproxy socat busybox-static >/dev/null 2>&1; }",
    );
    for (unit, port) in [("cp-w1", 9001), ("cp-w2", 9002)] {
        ok_sh(
            &h,
            &format!(
                "mkdir -p /srv/{unit} && echo {unit} > /srv/{unit}/index.html && \
                 {{ systemctl is-active -q {unit} || systemd-run --unit {unit} busybox httpd -f -p 127.0.0.1:{port} -h /srv/{unit} >/dev/null; }}"
            ),
        );
    }
    ok_sh(
        &h,
        &format!("printf '%s' '{CFG}' > /etc/haproxy/haproxy.cfg && systemctl restart haproxy"),
    );
    let base = format!("backend: web\nsocket: {SOCK}\nwait_interval: 1\nwait_retries: 20");
    // The health checks take a moment to see the backends up.
    changed(&h.module("haproxy", &format!("{base}\nhost: w1\nstate: drain")));
    changed(&h.module(
        "haproxy",
        &format!("{base}\nhost: w1\nstate: enabled\nwait: true"),
    ));
    assert_eq!(status(&h, "w1"), "UP");
    assert_eq!(server(&h, "w1"), "0 1");

    let disable = format!("{base}\nhost: w1\nstate: disabled");
    changed(&h.check("haproxy", &disable));
    assert_eq!(server(&h, "w1"), "0 1");
    let o = h.module("community.general.haproxy", &disable);
    changed(&o);
    assert_eq!(server(&h, "w1"), "1 1");
    assert_eq!(status(&h, "w1"), "MAINT");
    unchanged(&h.module("haproxy", &disable));
    unchanged(&h.check("haproxy", &disable));

    let drain = format!("{base}\nhost: w1\nstate: drain");
    changed(&h.module("haproxy", &drain));
    assert_eq!(server(&h, "w1"), "8 1");
    unchanged(&h.module("haproxy", &drain));

    let enable = format!("{base}\nhost: w1\nstate: enabled\nwait: true");
    changed(&h.check("haproxy", &enable));
    assert_eq!(server(&h, "w1"), "8 1");
    changed(&h.module("haproxy", &enable));
    assert_eq!(server(&h, "w1"), "0 1");
    assert_eq!(status(&h, "w1"), "UP");
    unchanged(&h.module("haproxy", &enable));

    // Drained first, then in maintenance; any backend holding w2.
    let drain_off = format!(
        "socket: {SOCK}\nhost: w2\nstate: disabled\ndrain: true\nshutdown_sessions: true\nwait: true\nwait_interval: 1"
    );
    changed(&h.module("haproxy", &drain_off));
    assert_eq!(server(&h, "w2"), "1 1");
    unchanged(&h.module("haproxy", &drain_off));
    let weighted = format!("{base}\nhost: w2\nstate: enabled\nweight: 50");
    changed(&h.module("haproxy", &weighted));
    assert_eq!(server(&h, "w2"), "0 50");
    unchanged(&h.module("haproxy", &weighted));
    // Percentages are of the configured weight (1 here).
    let relative = format!("{base}\nhost: w2\nstate: enabled\nweight: 300%");
    changed(&h.check("haproxy", &relative));
    assert_eq!(server(&h, "w2"), "0 50");
    changed(&h.module("haproxy", &relative));
    assert_eq!(server(&h, "w2"), "0 3");
    unchanged(&h.check("haproxy", &relative));
    unchanged(&h.module("haproxy", &relative));

    let o = h.module(
        "haproxy",
        &format!("{base}\nhost: nope\nstate: disabled\nfail_on_not_found: true"),
    );
    assert!(
        o.failed && o.msg.as_deref().unwrap_or("").contains("web/nope"),
        "{o:?}"
    );
    unchanged(&h.module("haproxy", &format!("{base}\nhost: nope\nstate: disabled")));
    let o = h.module(
        "haproxy",
        "socket: /run/nothing.sock\nhost: w1\nstate: enabled",
    );
    assert!(
        o.failed
            && o.msg
                .as_deref()
                .unwrap_or("")
                .contains("/run/nothing.sock is not a socket"),
        "{o:?}"
    );
}
