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
    // The only connection comes from an excluded address.
    let o = h.module(
        "wait_for",
        &format!("port: {port}\nstate: drained\ntimeout: 1\nexclude_hosts: [127.0.0.1]"),
    );
    assert!(!o.failed, "{o:?}");
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

/// A tiny HTTP/1.1 server on loopback: answers by path and keeps every
/// request it read (head and body) for the test to inspect.
struct Http {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Http {
    fn start() -> Http {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let req = read_request(&mut s);
                keep.lock().unwrap().push(req.clone());
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let method = req.split_whitespace().next().unwrap_or("").to_string();
                let body = req.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                let (status, ctype, extra, content) = match path.as_str() {
                    "/json" => (
                        "200 OK",
                        "application/json",
                        String::new(),
                        format!(
                            "{{\"method\": \"{method}\", \"len\": {}, \"ok\": true}}",
                            body.len()
                        ),
                    ),
                    "/redirect" => (
                        "302 Found",
                        "text/plain",
                        format!("Location: http://127.0.0.1:{port}/json\r\n"),
                        "moved".to_string(),
                    ),
                    "/created" => ("201 Created", "text/plain", String::new(), "made".into()),
                    _ => ("404 Not Found", "text/plain", String::new(), "nope".into()),
                };
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nX-Test-Header: yes\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{content}",
                    content.len()
                );
            }
        });
        Http { port, seen }
    }
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    fn last(&self) -> String {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

fn read_request(s: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn uri_gets_json_and_follows_redirects() {
    let h = Host::start();
    let srv = Http::start();
    let o = h.module(
        "uri",
        &format!("url: {}\nreturn_content: true", srv.url("/json")),
    );
    assert!(!o.failed && !o.changed, "{o:?}");
    assert_eq!(o.ret["status"], 200);
    assert_eq!(o.ret["json"]["method"], "GET");
    assert_eq!(o.ret["json"]["ok"], true);
    assert_eq!(o.ret["x_test_header"], "yes");
    assert_eq!(o.ret["redirected"], false);
    assert!(o.ret["content"].as_str().unwrap().contains("\"ok\": true"));
    let o = h.module("uri", &format!("url: {}", srv.url("/redirect")));
    assert!(!o.failed, "{o:?}");
    assert_eq!(o.ret["redirected"], true);
    assert_eq!(o.ret["url"], srv.url("/json"));
    assert!(o.ret.get("content").is_none(), "no return_content");
    // POST is not followed under the default 'safe' policy.
    let o = h.module(
        "uri",
        &format!(
            "url: {}\nmethod: POST\nstatus_code: [302]",
            srv.url("/redirect")
        ),
    );
    assert!(!o.failed, "{o:?}");
    assert_eq!(o.ret["status"], 302);
}

#[test]
fn uri_sends_bodies_and_headers_and_checks_status() {
    let h = Host::start();
    let srv = Http::start();
    let o = h.module(
        "uri",
        &format!(
            "url: {}\nmethod: POST\nbody_format: json\nbody:\n  name: app\n  token: s3cr3t-body\nheaders:\n  X-Api-Key: k3y\nstatus_code: 201",
            srv.url("/created")
        ),
    );
    assert!(!o.failed, "{o:?}");
    let req = srv.last();
    assert!(req.starts_with("POST /created "), "{req}");
    assert!(req.contains("X-Api-Key: k3y"), "{req}");
    assert!(
        req.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{req}"
    );
    assert!(
        req.ends_with("{\"name\":\"app\",\"token\":\"s3cr3t-body\"}"),
        "{req}"
    );
    let o = h.module(
        "uri",
        &format!(
            "url: {}\nmethod: PUT\nbody_format: form-urlencoded\nbody:\n  a: 1 2\n  b: x&y",
            srv.url("/json")
        ),
    );
    assert!(!o.failed, "{o:?}");
    assert!(srv.last().ends_with("a=1+2&b=x%26y"), "{}", srv.last());
    let o = h.module("uri", &format!("url: {}", srv.url("/missing")));
    assert!(o.failed);
    assert_eq!(o.ret["status"], 404);
    assert_eq!(
        o.msg.as_deref(),
        Some("Status code was 404 and not [200]: HTTP Error 404: Not Found")
    );
    let o = h.module(
        "uri",
        &format!("url: {}\nstatus_code: [200, 404]", srv.url("/missing")),
    );
    assert!(!o.failed, "{o:?}");
    let o = h.module(
        "uri",
        &format!("url: http://127.0.0.1:{}/\ntimeout: 2", closed_port()),
    );
    assert!(o.failed);
    assert_eq!(o.ret["status"], -1);
    assert!(o.msg.unwrap().contains("Request failed"));
    let o = h.module(
        "uri",
        &format!(
            "url: http://127.0.0.1:{}/\nstatus_code: [-1]",
            closed_port()
        ),
    );
    assert!(!o.failed, "-1 listed as acceptable: {o:?}");
    // creates: the request is not made when the file exists.
    let before = srv.seen.lock().unwrap().len();
    let o = h.module(
        "uri",
        &format!(
            "url: {}\ncreates: {}",
            srv.url("/json"),
            h.sshd.scratch().display()
        ),
    );
    assert!(!o.failed && !o.changed, "{o:?}");
    assert_eq!(srv.seen.lock().unwrap().len(), before, "request made");
    let o = h.check("uri", &format!("url: {}", srv.url("/json")));
    assert!(o.skipped, "{o:?}");
}

#[test]
fn uri_credentials_and_bodies_stay_out_of_argv() {
    let h = Host::start();
    // A server that never answers keeps curl running while ps looks at it.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        std::thread::sleep(std::time::Duration::from_secs(3));
        drop(s);
    });
    let args = format!(
        "url: http://127.0.0.1:{port}/\nurl_username: bob\nurl_password: pw-SECRET-9\nmethod: POST\nbody: body-SECRET-7\ntimeout: 3"
    );
    let ps = std::thread::spawn(|| {
        let mut seen = String::new();
        for _ in 0..20 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let out = std::process::Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        seen
    });
    let o = h.module("uri", &args);
    assert!(o.failed);
    let seen = ps.join().unwrap();
    assert!(seen.contains("curl -sS -K"), "curl was never seen running");
    assert!(
        !seen.contains("SECRET"),
        "a secret showed in a process list"
    );
    t.join().unwrap();
}

#[test]
fn pause_waits_once_for_all_hosts_and_refuses_prompts() {
    let t = support::Test::new().hosts(2).playbook(
        r#"
- hosts: web
  gather_facts: false
  tasks:
    - pause:
        seconds: 1
      register: p
    - assert:
        that:
          - p.stdout == 'Paused for 1 seconds'
          - not p.changed
          - p.stop >= p.start
"#,
    );
    t.run(&[]).assert_exit(0).assert_changed(0);
    let t = support::Test::new().hosts(1).playbook(
        "- hosts: web\n  gather_facts: false\n  tasks:\n    - pause:\n        prompt: Continue?\n",
    );
    t.run(&[])
        .assert_exit(2)
        .assert_stdout_contains("prompt is not supported");
}
