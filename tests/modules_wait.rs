//! wait_for and uri against a real sshd host, with listeners the test owns
//! on loopback.

mod support;

use std::io::Write;
use std::net::TcpListener;

use support::Host;

fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn wait_for_ports_started_stopped_and_timeouts() {
    let h = Host::start();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let o = h.module("wait_for", &format!("port: {port}\ntimeout: 5"));
    assert!(!o.failed && !o.changed, "{o:?}");
    assert_eq!(o.ret["port"], port);
    assert_eq!(o.ret["state"], "started");
    assert!(o.ret["elapsed"].is_i64(), "{o:?}");
    let closed = closed_port();
    let o = h.module(
        "wait_for",
        &format!("host: 127.0.0.1\nport: {closed}\ntimeout: 1\nconnect_timeout: 1"),
    );
    assert!(o.failed, "{o:?}");
    assert_eq!(
        o.msg.as_deref(),
        Some(format!("Timeout when waiting for 127.0.0.1:{closed}").as_str())
    );
    let o = h.module(
        "wait_for",
        &format!("port: {closed}\nstate: stopped\ntimeout: 5"),
    );
    assert!(!o.failed, "{o:?}");
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nstate: stopped\ntimeout: 1\nmsg: still listening"),
    );
    assert!(
        o.failed && o.msg.as_deref() == Some("still listening"),
        "{o:?}"
    );
    drop(l);
}

#[test]
fn wait_for_drained_and_search_regex_on_a_port() {
    let h = Host::start();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nstate: drained\ntimeout: 5"),
    );
    assert!(!o.failed, "no connections yet: {o:?}");
    let client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (server_side, _) = l.accept().unwrap();
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nstate: drained\ntimeout: 1"),
    );
    assert!(o.failed, "an established connection: {o:?}");
    assert!(o.msg.unwrap().contains("drain"));
    drop(client);
    drop(server_side);
    // A banner the probe reads.
    let t = std::thread::spawn(move || {
        for _ in 0..2 {
            if let Ok((mut s, _)) = l.accept() {
                let _ = s.write_all(b"SSH-2.0-test banner\r\n");
            }
        }
    });
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nsearch_regex: '^SSH-\\d'\ntimeout: 5"),
    );
    assert!(!o.failed, "{o:?}");
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nsearch_regex: nomatch\ntimeout: 1\nconnect_timeout: 1"),
    );
    assert!(o.failed && o.msg.unwrap().contains("search string nomatch"));
    t.join().unwrap();
}

#[test]
fn wait_for_files_and_patterns() {
    let h = Host::start();
    let dir = h.sshd.scratch();
    let f = dir.join("ready");
    let o = h.module("wait_for", &format!("path: {}\ntimeout: 1", f.display()));
    assert!(o.failed, "{o:?}");
    assert_eq!(
        o.msg.as_deref(),
        Some(format!("Timeout when waiting for file {}", f.display()).as_str())
    );
    std::fs::write(&f, "starting\nstatus: READY\n").unwrap();
    let o = h.module("wait_for", &format!("path: {}", f.display()));
    assert!(
        !o.failed && o.ret["path"] == f.display().to_string(),
        "{o:?}"
    );
    let o = h.module(
        "wait_for",
        &format!("path: {}\nsearch_regex: '^status:\\s+READY$'", f.display()),
    );
    assert!(!o.failed, "{o:?}");
    let o = h.module(
        "wait_for",
        &format!("path: {}\nsearch_regex: 'FAILED'\ntimeout: 1", f.display()),
    );
    assert!(o.failed);
    let o = h.module(
        "wait_for",
        &format!(
            "path: {}\nstate: absent\ntimeout: 5",
            dir.join("gone").display()
        ),
    );
    assert!(!o.failed);
    let o = h.module("wait_for", "timeout: 0");
    assert!(!o.failed && o.ret["elapsed"].is_i64(), "{o:?}");
}
