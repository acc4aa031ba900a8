//! A read-only Docker Registry v2 (distribution API) for the lab images,
//! enough for `docker pull` through `registry-mirrors`: the version check,
//! manifests by tag or digest, blobs, tag lists. Plus `/condaplay/whoami`.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::FromRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::build::{Index, MANIFEST_TYPE};
use super::{ImagesError, PORT, Store, io};
use crate::lab::state::{self, Layout};
use crate::output::Printer;

/// Request heads past this size are refused (ours are a few hundred bytes).
const MAX_HEAD: usize = 16 * 1024;
/// A client that sends nothing for this long is dropped.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the registry in the foreground until SIGTERM or Ctrl-C. Writes the
/// pid file once listening, so `start` knows it is up.
pub fn serve(store: &Store, p: &Printer) -> Result<(), ImagesError> {
    Index::load(store)?;
    let ip: Ipv4Addr = crate::lab::net::gateway()
        .parse()
        .map_err(|_| ImagesError::Registry("bad bridge address".into()))?;
    let listener = bind_freebind(SocketAddrV4::new(ip, PORT))
        .map_err(|e| ImagesError::Registry(format!("cannot listen on {ip}:{PORT}: {e}")))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ImagesError::Registry(e.to_string()))?;
    let pid_file = store.pid_file();
    std::fs::write(&pid_file, format!("{}\n", std::process::id())).map_err(|e| io(&pid_file, e))?;
    p.info(&format!(
        "registry mirror: serving {} on http://{ip}:{PORT} (SIGTERM or Ctrl-C stops it)",
        store.dir.display()
    ));
    let result = rt.block_on(accept_loop(listener, store.clone(), p));
    // Only our own pid file: a newer server may have replaced it.
    if std::fs::read_to_string(&pid_file).is_ok_and(|t| t.trim() == std::process::id().to_string())
    {
        let _ = std::fs::remove_file(&pid_file);
    }
    p.info("registry mirror: stopped");
    result
}

async fn accept_loop(
    listener: std::net::TcpListener,
    store: Store,
    p: &Printer,
) -> Result<(), ImagesError> {
    listener
        .set_nonblocking(true)
        .map_err(|e| ImagesError::Registry(e.to_string()))?;
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| ImagesError::Registry(e.to_string()))?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| ImagesError::Registry(e.to_string()))?;
    // Connection tasks report here; only this loop talks to the printer.
    let (log_tx, mut log_rx) = mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let (store, log) = (store.clone(), log_tx.clone());
                tokio::spawn(async move {
                    if let Some(line) = handle(stream, peer, &store).await {
                        let _ = log.send(line);
                    }
                });
            }
            Some(line) = log_rx.recv() => p.info(&line),
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Listens on the bridge address even before the bridge exists
/// (IP_FREEBIND): the mirror may start before the first server.
fn bind_freebind(addr: SocketAddrV4) -> std::io::Result<std::net::TcpListener> {
    // SAFETY: plain socket calls on a descriptor we create and own; it is
    // closed on every error path and handed to TcpListener on success.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fail = |fd| {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            Err(e)
        };
        let one: libc::c_int = 1;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let opt = (&one as *const libc::c_int).cast();
        if libc::setsockopt(fd, libc::SOL_IP, libc::IP_FREEBIND, opt, len) != 0
            || libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, opt, len) != 0
        {
            return fail(fd);
        }
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let sa_len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::bind(fd, (&sa as *const libc::sockaddr_in).cast(), sa_len) != 0
            || libc::listen(fd, 128) != 0
        {
            return fail(fd);
        }
        Ok(std::net::TcpListener::from_raw_fd(fd))
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Body,
}

enum Body {
    Bytes(Vec<u8>),
    File(PathBuf, u64),
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Internal Server Error",
    }
}

/// One request per connection (`Connection: close`): Docker opens a
/// connection per blob anyway, and it keeps the server small.
async fn handle(stream: TcpStream, peer: SocketAddr, store: &Store) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut reader)).await {
        Ok(Some(h)) => h,
        _ => return None,
    };
    let mut lines = head.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let response = if method != "GET" && method != "HEAD" {
        error(405, "UNSUPPORTED", "this mirror is read-only")
    } else {
        route(path, peer, store)
    };
    let status = response.status;
    let mut stream = reader.into_inner();
    let _ = write_response(&mut stream, method == "HEAD", response).await;
    Some(format!("{} {request_line} -> {status}", peer.ip()))
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = reader.read_line(&mut line).await.ok()?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return None;
        }
        if line == "\r\n" || line == "\n" {
            return Some(head);
        }
        head.push_str(&line);
    }
}

async fn write_response(
    stream: &mut TcpStream,
    head_only: bool,
    r: Response,
) -> std::io::Result<()> {
    let len = match &r.body {
        Body::Bytes(b) => b.len() as u64,
        Body::File(_, n) => *n,
    };
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
         Docker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.content_type
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        match r.body {
            Body::Bytes(b) => stream.write_all(&b).await?,
            Body::File(path, _) => {
                let mut f = tokio::fs::File::open(&path).await?;
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = f.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    stream.write_all(&buf[..n]).await?;
                }
            }
        }
    }
    stream.shutdown().await
}

fn error(status: u16, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"errors": [{"code": code, "message": message}]});
    Response {
        status,
        content_type: "application/json",
        headers: Vec::new(),
        body: Body::Bytes(serde_json::to_vec(&body).unwrap_or_default()),
    }
}

fn json_ok(value: serde_json::Value) -> Response {
    Response {
        status: 200,
        content_type: "application/json",
        headers: Vec::new(),
        body: Body::Bytes(serde_json::to_vec(&value).unwrap_or_default()),
    }
}

fn is_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn route(path: &str, peer: SocketAddr, store: &Store) -> Response {
    if path == "/condaplay/whoami" {
        return whoami(peer);
    }
    if path == "/v2/" || path == "/v2" {
        return json_ok(serde_json::json!({}));
    }
    let Some(rest) = path.strip_prefix("/v2/") else {
        return error(404, "NOT_FOUND", "not a registry v2 path");
    };
    let index = match Index::load(store) {
        Ok(i) => i,
        Err(e) => return error(500, "UNKNOWN", &e.to_string()),
    };
    if rest == "_catalog" {
        let repos: Vec<&String> = index.repositories.keys().collect();
        return json_ok(serde_json::json!({ "repositories": repos }));
    }
    if let Some(repo) = rest.strip_suffix("/tags/list") {
        return match index.repositories.get(repo) {
            Some(tags) => {
                json_ok(serde_json::json!({"name": repo, "tags": tags.keys().collect::<Vec<_>>()}))
            }
            None => error(404, "NAME_UNKNOWN", &format!("no repository {repo}")),
        };
    }
    if let Some((repo, reference)) = rest.rsplit_once("/manifests/") {
        let Some(digest) = index.resolve(repo, reference) else {
            return error(
                404,
                "MANIFEST_UNKNOWN",
                &format!("{repo}:{reference} is not among the lab images"),
            );
        };
        return match std::fs::read(store.blob(&digest["sha256:".len()..])) {
            Ok(bytes) => Response {
                status: 200,
                content_type: MANIFEST_TYPE,
                headers: vec![("Docker-Content-Digest", digest)],
                body: Body::Bytes(bytes),
            },
            Err(e) => error(500, "UNKNOWN", &format!("manifest {digest}: {e}")),
        };
    }
    if let Some((repo, digest)) = rest.rsplit_once("/blobs/") {
        if !index.repositories.contains_key(repo) || !is_digest(digest) {
            return error(404, "BLOB_UNKNOWN", &format!("{repo}@{digest}"));
        }
        let file = store.blob(&digest["sha256:".len()..]);
        return match std::fs::metadata(&file) {
            Ok(m) => Response {
                status: 200,
                content_type: "application/octet-stream",
                headers: vec![("Docker-Content-Digest", digest.to_string())],
                body: Body::File(file, m.len()),
            },
            Err(_) => error(404, "BLOB_UNKNOWN", &format!("{repo}@{digest}")),
        };
    }
    error(404, "NOT_FOUND", "unknown registry path")
}

/// The name of the lab server at the caller's address.
fn whoami(peer: SocketAddr) -> Response {
    let ip = peer.ip().to_string();
    let name = state::all(&Layout::from_env())
        .ok()
        .and_then(|all| all.into_values().find(|s| s.ip == ip).map(|s| s.name));
    match name {
        Some(n) => Response {
            status: 200,
            content_type: "text/plain",
            headers: Vec::new(),
            body: Body::Bytes(format!("{n}\n").into_bytes()),
        },
        None => error(404, "NOT_FOUND", &format!("{ip} is no lab server")),
    }
}

/// The pid of the running registry, if one runs.
pub fn status(store: &Store) -> Option<u32> {
    let text = std::fs::read_to_string(store.pid_file()).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_registry(pid).then_some(pid)
}

/// Alive (not a zombie) and running `images serve`: a recycled pid is not ours.
fn is_registry(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, r)| r.chars().next());
    if matches!(state, None | Some(Some('Z')) | Some(None)) {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"images" && w[1] == b"serve")
}

/// The condaplay binary to run the server with: this one, or, from a test
/// binary (target/debug/deps/x-HASH), the condaplay next to it.
fn condaplay_exe() -> Result<PathBuf, ImagesError> {
    if let Some(p) = std::env::var_os("CONDAPLAY_BIN").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe().map_err(|e| io(Path::new("/proc/self/exe"), e))?;
    if me.file_name().is_some_and(|n| n == "condaplay") {
        return Ok(me);
    }
    let sibling = me
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("condaplay"));
    match sibling {
        Some(s) if s.exists() => Ok(s),
        _ => Err(ImagesError::Registry(format!(
            "cannot find the condaplay binary to run the mirror from {} (set CONDAPLAY_BIN)",
            me.display()
        ))),
    }
}

/// Starts the registry in the background unless it runs; returns its pid.
pub fn start(store: &Store, p: &Printer) -> Result<u32, ImagesError> {
    // Two callers at once (test binaries, `lab demo`) start one server.
    let _lock = super::build::lock(&store.dir.join("registry.lock"))?;
    if let Some(pid) = status(store) {
        return Ok(pid);
    }
    Index::load(store)?;
    let exe = condaplay_exe()?;
    let log_path = store.log_file();
    // One line per request: start afresh past a few MiB.
    if std::fs::metadata(&log_path).is_ok_and(|m| m.len() > 4 << 20) {
        let _ = std::fs::remove_file(&log_path);
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io(&log_path, e))?;
    let log2 = log.try_clone().map_err(|e| io(&log_path, e))?;
    let _ = std::fs::remove_file(store.pid_file());
    // setsid --fork: the server gets its own session and is no child of
    // ours, so it outlives this process and leaves no zombie behind.
    let spawned = std::process::Command::new("setsid")
        .arg("--fork")
        .arg(&exe)
        .args(["lab", "images", "serve"])
        .env("CONDAPLAY_IMAGES_DIR", &store.dir)
        .stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2)
        .status()
        .map_err(|e| io(Path::new("setsid"), e))?;
    if !spawned.success() {
        return Err(ImagesError::Registry(format!("setsid failed: {spawned}")));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Some(pid) = status(store) {
            p.info(&format!(
                "registry mirror started (pid {pid}, log {})",
                log_path.display()
            ));
            return Ok(pid);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let tail = std::fs::read_to_string(&log_path).unwrap_or_default();
    let tail: Vec<&str> = tail.lines().rev().take(5).collect();
    Err(ImagesError::Registry(format!(
        "did not start within 15 s; last lines of {}:\n{}",
        log_path.display(),
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    )))
}

/// Stops the background registry; Ok(false) when none ran.
pub fn stop(store: &Store) -> Result<bool, ImagesError> {
    let Some(pid) = status(store) else {
        let _ = std::fs::remove_file(store.pid_file());
        return Ok(false);
    };
    // SAFETY: kill(2) on a pid checked above to be our registry.
    unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_registry(pid) {
        if Instant::now() > deadline {
            // SAFETY: as above.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            std::thread::sleep(Duration::from_millis(200));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::fs::remove_file(store.pid_file());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> String {
        match &r.body {
            Body::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Body::File(p, _) => std::fs::read_to_string(p).unwrap(),
        }
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A store holding one image: a manifest naming one layer blob.
    fn store_with_one_image() -> (tempfile::TempDir, Store, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store {
            dir: dir.path().to_path_buf(),
        };
        std::fs::create_dir_all(store.blobs()).unwrap();
        let (layer, manifest) = ("a".repeat(64), "b".repeat(64));
        std::fs::write(store.blob(&layer), "layer bytes").unwrap();
        std::fs::write(store.blob(&manifest), "{\"schemaVersion\":2}").unwrap();
        std::fs::write(
            store.index(),
            format!(
                "{{\"format\":2,\"repositories\":{{\"library/redis\":{{\"7.2.4-alpine\":\"sha256:{manifest}\"}}}}}}"
            ),
        )
        .unwrap();
        (dir, store, layer, manifest)
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:40000".parse().unwrap()
    }

    #[test]
    fn serves_the_version_check_manifests_and_blobs() {
        let (_dir, store, layer, manifest) = store_with_one_image();
        assert_eq!(route("/v2/", peer(), &store).status, 200);

        let r = route("/v2/library/redis/manifests/7.2.4-alpine", peer(), &store);
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, MANIFEST_TYPE);
        let digest = format!("sha256:{manifest}");
        assert_eq!(header(&r, "Docker-Content-Digest"), Some(digest.as_str()));
        assert_eq!(body(&r), "{\"schemaVersion\":2}");
        let by_digest = route(
            &format!("/v2/library/redis/manifests/{digest}"),
            peer(),
            &store,
        );
        assert_eq!(by_digest.status, 200);

        let r = route(
            &format!("/v2/library/redis/blobs/sha256:{layer}"),
            peer(),
            &store,
        );
        assert_eq!(r.status, 200);
        assert_eq!(body(&r), "layer bytes");

        let tags = route("/v2/library/redis/tags/list", peer(), &store);
        assert_eq!(
            body(&tags),
            "{\"name\":\"library/redis\",\"tags\":[\"7.2.4-alpine\"]}"
        );
    }

    #[test]
    fn listens_on_an_address_no_interface_has_yet() {
        // TEST-NET-1: on no interface here, as the bridge address is before
        // the first server boots.
        let addr = SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 123), 0);
        let l = bind_freebind(addr).expect("IP_FREEBIND bind");
        assert_eq!(l.local_addr().unwrap().ip().to_string(), "192.0.2.123");
        assert!(std::net::TcpListener::bind("192.0.2.123:0").is_err());
    }

    #[test]
    fn unknown_names_tags_and_bad_digests_are_404() {
        let (_dir, store, layer, _) = store_with_one_image();
        let r = route("/v2/library/redis/manifests/latest", peer(), &store);
        assert_eq!(r.status, 404);
        assert!(body(&r).contains("MANIFEST_UNKNOWN"));
        assert_eq!(
            route("/v2/library/nginx/manifests/1", peer(), &store).status,
            404
        );
        // A blob only through a repository the mirror has.
        let other_repo = format!("/v2/library/nginx/blobs/sha256:{layer}");
        assert_eq!(route(&other_repo, peer(), &store).status, 404);
        // No way out of the blob directory.
        for bad in [
            "/v2/library/redis/blobs/sha256:../../index.json",
            "/v2/library/redis/blobs/../index.json",
            "/v2/library/redis/blobs/sha256:ABC",
        ] {
            assert_eq!(route(bad, peer(), &store).status, 404, "{bad}");
        }
        assert!(!is_digest(&format!("sha256:{}", "g".repeat(64))));
        assert!(is_digest(&format!("sha256:{layer}")));
    }
}
