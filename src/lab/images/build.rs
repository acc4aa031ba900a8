//! Building the lab images: a debootstrap base layer, one apt layer per
//! image made on an overlayfs, tiny file layers, then configs and
//! manifests, all stored as content-addressed blobs.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::recipes::{self, Config, Image, Layer};
use super::{ImagesError, Store, io};
use crate::lab::cmd;
use crate::lab::mounts::remove_tree;
use crate::output::Printer;

/// Bumped when the store's layout changes: a store of another format
/// (an older attempt) is wiped, keeping only the downloaded packages.
const FORMAT: u32 = 2;
pub const MANIFEST_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const CONFIG_TYPE: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Fixed, so the same layers give the same config and manifest digests.
const CREATED: &str = "2024-01-01T00:00:00Z";
/// Dropped from every layer: mount points Docker fills at run time.
const EXCLUDES: &[&str] = &["dev/*", "proc/*", "sys/*", "run/*", "tmp/*"];
/// Keeps services from starting inside the build chroot.
const POLICY_RC_D: &str = "#!/bin/sh\nexit 101\n";

/// The tags the registry serves: repository -> tag -> manifest digest.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Index {
    pub format: u32,
    pub repositories: BTreeMap<String, BTreeMap<String, String>>,
}

impl Index {
    pub fn load(store: &Store) -> Result<Index, ImagesError> {
        let path = store.index();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ImagesError::NotBuilt(store.dir.display().to_string()));
            }
            Err(e) => return Err(io(&path, e)),
        };
        let index: Index = serde_json::from_str(&text).map_err(|e| ImagesError::Store {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if index.format != FORMAT {
            return Err(ImagesError::Store {
                path: path.display().to_string(),
                reason: format!("format {} (expected {FORMAT})", index.format),
            });
        }
        Ok(index)
    }

    /// A manifest digest for a tag or a digest reference.
    pub fn resolve(&self, repo: &str, reference: &str) -> Option<String> {
        let tags = self.repositories.get(repo)?;
        if reference.starts_with("sha256:") {
            tags.values().find(|d| *d == reference).cloned()
        } else {
            tags.get(reference).cloned()
        }
    }
}

/// A stored layer: digest of the tar (diff id), of the gzip blob, its size.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Blob {
    diff_id: String,
    digest: String,
    size: u64,
}

/// Builds what is missing or stale; a no-op when every recipe is cached.
pub fn build(store: &Store, p: &Printer) -> Result<(), ImagesError> {
    std::fs::create_dir_all(&store.dir).map_err(|e| io(&store.dir, e))?;
    let _lock = lock(&store.dir.join("build.lock"))?;
    wipe_foreign(store)?;
    // A killed build's work tree (maybe with its chroot mounts): we hold
    // the lock, so nobody else is using it.
    remove_tree(&store.dir.join("work"))?;
    for dir in [
        store.blobs(),
        store.dir.join("layers"),
        debs(store),
        lists(store),
    ] {
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    }
    let started = Instant::now();
    let mut built_any = false;

    let base_hash = short_hash(&format!(
        "{} {} {:?}",
        recipes::SUITE,
        recipes::MIRROR,
        recipes::BASE_FILES
    ));
    let base_dir = store.dir.join(format!("base-{base_hash}"));
    let (root, base) = match cached(&base_dir.join("layer.json"), &base_dir.join("rootfs")) {
        Some(b) => (base_dir.join("rootfs"), b),
        None => {
            built_any = true;
            p.info("images: debootstrap of the base layer (about a minute)");
            (base_dir.join("rootfs"), build_base(store, &base_dir)?)
        }
    };
    remove_others(&store.dir, "base-", &base_dir);

    let mut layers: BTreeMap<&str, Blob> = BTreeMap::new();
    let mut extras: BTreeMap<String, Blob> = BTreeMap::new();
    let mut index = Index {
        format: FORMAT,
        repositories: BTreeMap::new(),
    };
    for image in recipes::IMAGES {
        let layer = image.layer;
        if !layers.contains_key(layer.name) {
            let hash = short_hash(&format!("{} {:?}", base.diff_id, layer));
            let record = store.dir.join("layers").join(format!("{hash}.json"));
            let blob = match cached(&record, &store.blobs()) {
                Some(b) => b,
                None => {
                    built_any = true;
                    p.info(&format!(
                        "images: layer {} (apt-get install {})",
                        layer.name,
                        layer.packages.join(" ")
                    ));
                    let b = build_layer(store, &root, layer)?;
                    save_json(&record, &b)?;
                    b
                }
            };
            layers.insert(layer.name, blob);
        }
        let mut chain = vec![base.clone(), layers[layer.name].clone()];
        if !image.extra.is_empty() {
            let hash = short_hash(&format!("{:?}", image.extra));
            let blob = match extras.get(&hash) {
                Some(b) => b.clone(),
                None => {
                    let record = store.dir.join("layers").join(format!("{hash}.json"));
                    let b = match cached(&record, &store.blobs()) {
                        Some(b) => b,
                        None => {
                            built_any = true;
                            let b = build_files_layer(store, image.extra)?;
                            save_json(&record, &b)?;
                            b
                        }
                    };
                    extras.insert(hash, b.clone());
                    b
                }
            };
            chain.push(blob);
        }
        let manifest = store_manifest(store, image, &chain)?;
        let tags = index
            .repositories
            .entry(image.repo.to_string())
            .or_default();
        for tag in image.tags {
            tags.insert(tag.to_string(), manifest.clone());
        }
    }
    let old = Index::load(store).ok();
    if old.as_ref() != Some(&index) {
        save_json(&store.index(), &index)?;
        prune(store, &index)?;
    }
    if built_any {
        p.info(&format!(
            "images: built in {:.0} s",
            started.elapsed().as_secs_f64()
        ));
    } else {
        p.info("images: up to date");
    }
    Ok(())
}

/// Removes blobs no tag reaches any more (layers of older recipes) and the
/// layer records that named them.
fn prune(store: &Store, index: &Index) -> Result<(), ImagesError> {
    let mut keep = std::collections::BTreeSet::new();
    for digest in index.repositories.values().flat_map(|t| t.values()) {
        let hex = &digest["sha256:".len()..];
        keep.insert(hex.to_string());
        let path = store.blob(hex);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        let manifest: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ImagesError::Store {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
        for d in layers.iter().chain([&manifest["config"]]) {
            if let Some(h) = d["digest"].as_str().and_then(|d| d.strip_prefix("sha256:")) {
                keep.insert(h.to_string());
            }
        }
    }
    let blobs = store.blobs();
    for e in std::fs::read_dir(&blobs)
        .map_err(|e| io(&blobs, e))?
        .flatten()
    {
        if !keep.contains(e.file_name().to_string_lossy().as_ref()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let records = store.dir.join("layers");
    for e in std::fs::read_dir(&records)
        .map_err(|e| io(&records, e))?
        .flatten()
    {
        if cached(&e.path(), &blobs).is_none() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}

fn debs(store: &Store) -> PathBuf {
    store.dir.join("debootstrap-cache")
}

fn lists(store: &Store) -> PathBuf {
    store.dir.join("apt-lists")
}

/// An exclusive lock held while the returned file lives: two builds
/// (two test binaries, a user) must not write the same layers.
pub(super) fn lock(path: &Path) -> Result<File, ImagesError> {
    let f = File::create(path).map_err(|e| io(path, e))?;
    // SAFETY: flock on a file descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io(path, std::io::Error::last_os_error()));
    }
    Ok(f)
}

/// A store left by something else (an older attempt's layout) is emptied,
/// except the package cache, which any build can reuse.
fn wipe_foreign(store: &Store) -> Result<(), ImagesError> {
    if !store.index().exists() || Index::load(store).is_ok() {
        return Ok(());
    }
    let entries = std::fs::read_dir(&store.dir).map_err(|e| io(&store.dir, e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if matches!(
            name.as_str(),
            "debootstrap-cache"
                | "apt-lists"
                | "build.lock"
                | "registry.lock"
                | "registry.log"
                | "registry.pid"
        ) {
            continue;
        }
        let path = e.path();
        if path.is_dir() && !path.is_symlink() {
            remove_tree(&path)?;
        } else {
            std::fs::remove_file(&path).map_err(|err| io(&path, err))?;
        }
    }
    Ok(())
}

fn remove_others(dir: &Path, prefix: &str, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_name().to_string_lossy().starts_with(prefix) && path != keep {
            let _ = remove_tree(&path);
        }
    }
}

/// A layer record whose blob (and other required path) still exists.
fn cached(record: &Path, required: &Path) -> Option<Blob> {
    let text = std::fs::read_to_string(record).ok()?;
    let blob: Blob = serde_json::from_str(&text).ok()?;
    let hex = blob.digest.strip_prefix("sha256:")?;
    let present = required.exists()
        && std::fs::metadata(Path::new(&blob_dir(record)).join(hex))
            .is_ok_and(|m| m.len() == blob.size);
    present.then_some(blob)
}

/// The blobs dir of the store a record belongs to (records live one or two
/// levels under the store: layers/X.json, base-H/layer.json).
fn blob_dir(record: &Path) -> PathBuf {
    let store = record
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("/"));
    store.join("blobs").join("sha256")
}

fn short_hash(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn run(program: &str, args: &[&str]) -> Result<String, ImagesError> {
    Ok(cmd::run(program, args)?)
}

fn build_base(store: &Store, base_dir: &Path) -> Result<Blob, ImagesError> {
    remove_tree(base_dir)?;
    std::fs::create_dir_all(base_dir).map_err(|e| io(base_dir, e))?;
    let tmp = base_dir.join("rootfs.building");
    let cache = debs(store).display().to_string();
    let target = tmp.display().to_string();
    run(
        "debootstrap",
        &[
            "--variant=minbase",
            &format!("--cache-dir={cache}"),
            recipes::SUITE,
            &target,
            recipes::MIRROR,
        ],
    )?;
    for (path, mode, content) in recipes::BASE_FILES {
        write_file(&tmp, path, *mode, content)?;
    }
    // Package lists and caches go stale and are big; layers fetch fresh ones.
    for dir in [
        "var/lib/apt/lists",
        "var/cache/apt/archives",
        "var/cache/apt",
    ] {
        clear_files(&tmp.join(dir))?;
    }
    let root = base_dir.join("rootfs");
    std::fs::rename(&tmp, &root).map_err(|e| io(&root, e))?;
    let blob = tar_layer(store, &root)?;
    save_json(&base_dir.join("layer.json"), &blob)?;
    Ok(blob)
}

/// Removes the plain files directly in a directory (keeps subdirectories).
fn clear_files(dir: &Path) -> Result<(), ImagesError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let path = e.path();
        if e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(&path).map_err(|err| io(&path, err))?;
        }
    }
    Ok(())
}

fn write_file(root: &Path, path: &str, mode: u32, content: &str) -> Result<(), ImagesError> {
    let path = root.join(path.trim_start_matches('/'));
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    }
    // A symlink there (the image's own) must be replaced, not followed.
    if path.is_symlink() {
        std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
    }
    std::fs::write(&path, content).map_err(|e| io(&path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(|e| io(&path, e))
}

/// Mounts made for a chroot build, unmounted (deepest first) when dropped,
/// whatever happened in between.
struct Mounts(Vec<PathBuf>);

impl Drop for Mounts {
    fn drop(&mut self) {
        for m in self.0.iter().rev() {
            let path = m.display().to_string();
            if !cmd::ok("umount", &[&path]) {
                let _ = cmd::ok("umount", &["-l", &path]);
            }
        }
    }
}

fn build_layer(store: &Store, root: &Path, layer: &Layer) -> Result<Blob, ImagesError> {
    let work = store
        .dir
        .join("work")
        .join(format!("{}-{}", layer.name, std::process::id()));
    remove_tree(&work)?;
    let (upper, ovl, merged) = (work.join("upper"), work.join("ovl"), work.join("merged"));
    for d in [&upper, &ovl, &merged] {
        std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
    }
    let result = (|| {
        let mut mounts = Mounts(Vec::new());
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}",
            root.display(),
            upper.display(),
            ovl.display()
        );
        let m = merged.display().to_string();
        run("mount", &["-t", "overlay", "overlay", "-o", &opts, &m])?;
        mounts.0.push(merged.clone());
        let binds = [
            (debs(store), "var/cache/apt/archives"),
            (lists(store), "var/lib/apt/lists"),
            (PathBuf::from("/dev"), "dev"),
        ];
        for (src, at) in &binds {
            let target = merged.join(at);
            let (s, t) = (src.display().to_string(), target.display().to_string());
            run("mount", &["--bind", &s, &t])?;
            mounts.0.push(target);
        }
        let proc_dir = merged.join("proc").display().to_string();
        run("mount", &["-t", "proc", "proc", &proc_dir])?;
        mounts.0.push(merged.join("proc"));
        write_file(&merged, "/usr/sbin/policy-rc.d", 0o755, POLICY_RC_D)?;
        let install = format!(
            "apt-get update -q >/dev/null && apt-get install -y -q {} >/dev/null",
            layer.packages.join(" ")
        );
        chroot(&merged, &install)?;
        for (path, mode, content) in layer.files {
            write_file(&merged, path, *mode, content)?;
        }
        chroot(&merged, layer.script)?;
        chroot(&merged, "rm -f /usr/sbin/policy-rc.d /var/cache/apt/*.bin")?;
        drop(mounts);
        Ok::<(), ImagesError>(())
    })();
    let blob = result.and_then(|()| {
        oci_whiteouts(&upper)?;
        tar_layer(store, &upper)
    });
    let _ = remove_tree(&work);
    blob
}

fn chroot(root: &Path, script: &str) -> Result<(), ImagesError> {
    let r = root.display().to_string();
    run(
        "chroot",
        &[
            &r,
            "/usr/bin/env",
            "-i",
            "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            "DEBIAN_FRONTEND=noninteractive",
            "LC_ALL=C",
            "/bin/sh",
            "-c",
            script,
        ],
    )
    .map(|_| ())
}

/// overlayfs marks a deleted file with a 0/0 character device and a
/// replaced directory with an xattr; image layers say the same with
/// `.wh.NAME` and `.wh..wh..opq` files.
fn oci_whiteouts(dir: &Path) -> Result<(), ImagesError> {
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, e))?;
    for e in entries.flatten() {
        let path = e.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|err| io(&path, err))?;
        if meta.file_type().is_char_device() && meta.rdev() == 0 {
            std::fs::remove_file(&path).map_err(|err| io(&path, err))?;
            let wh = dir.join(format!(".wh.{}", e.file_name().to_string_lossy()));
            std::fs::write(&wh, "").map_err(|err| io(&wh, err))?;
        } else if meta.is_dir() {
            if is_opaque(&path) {
                let wh = path.join(".wh..wh..opq");
                std::fs::write(&wh, "").map_err(|err| io(&wh, err))?;
            }
            oci_whiteouts(&path)?;
        }
    }
    Ok(())
}

fn is_opaque(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    let mut buf = [0u8; 4];
    // SAFETY: both strings are NUL-terminated; the buffer length is passed.
    let n = unsafe {
        libc::lgetxattr(
            c_path.as_ptr(),
            c"trusted.overlay.opaque".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    n == 1 && buf[0] == b'y'
}

/// A layer of plain files (the appconda version file).
fn build_files_layer(store: &Store, files: &[recipes::File]) -> Result<Blob, ImagesError> {
    let work = store
        .dir
        .join("work")
        .join(format!("files-{}", std::process::id()));
    remove_tree(&work)?;
    let result = (|| {
        for (path, mode, content) in files {
            write_file(&work, path, *mode, content)?;
        }
        tar_layer(store, &work)
    })();
    let _ = remove_tree(&work);
    result
}

/// Tars a directory's contents (sorted, numeric owners: the same tree gives
/// the same tar), gzips it and stores it as a blob.
fn tar_layer(store: &Store, dir: &Path) -> Result<Blob, ImagesError> {
    let tmp_dir = store.dir.join("work");
    std::fs::create_dir_all(&tmp_dir).map_err(|e| io(&tmp_dir, e))?;
    let tar = tmp_dir.join(format!("layer-{}.tar", std::process::id()));
    let gz = tar.with_extension("tar.gz");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| io(dir, e))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (t, d) = (tar.display().to_string(), dir.display().to_string());
    let mut args: Vec<String> = [
        "--create",
        "--file",
        &t,
        "--directory",
        &d,
        "--sort=name",
        "--numeric-owner",
        "--xattrs",
        "--xattrs-include=security.capability",
        "--anchored",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(EXCLUDES.iter().map(|x| format!("--exclude={x}")));
    args.push("--".into());
    args.extend(names);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = (|| {
        run("tar", &refs)?;
        let diff_id = sha256_file(&tar)?;
        let out = File::create(&gz).map_err(|e| io(&gz, e))?;
        let status = std::process::Command::new("gzip")
            .args(["-n", "-1", "-c", &t])
            .stdout(out)
            .status()
            .map_err(|e| io(Path::new("gzip"), e))?;
        if !status.success() {
            return Err(ImagesError::Command {
                cmd: format!("gzip -n -1 -c {t}"),
                status: status.to_string(),
                stderr: String::new(),
            });
        }
        store_file(store, &gz).map(|(digest, size)| Blob {
            diff_id,
            digest,
            size,
        })
    })();
    let _ = std::fs::remove_file(&tar);
    let _ = std::fs::remove_file(&gz);
    result
}

/// `sha256:HEX` of a file (sha256sum: the debug build hashes slowly).
fn sha256_file(path: &Path) -> Result<String, ImagesError> {
    let out = run("sha256sum", &[&path.display().to_string()])?;
    let hex = out.split_whitespace().next().unwrap_or_default();
    if hex.len() != 64 {
        return Err(ImagesError::Registry(format!(
            "sha256sum {}: unexpected output {out:?}",
            path.display()
        )));
    }
    Ok(format!("sha256:{hex}"))
}

/// Moves a file into the blob store; returns its digest and size.
fn store_file(store: &Store, path: &Path) -> Result<(String, u64), ImagesError> {
    let digest = sha256_file(path)?;
    let size = std::fs::metadata(path).map_err(|e| io(path, e))?.len();
    let dest = store.blob(&digest["sha256:".len()..]);
    std::fs::rename(path, &dest).map_err(|e| io(&dest, e))?;
    Ok((digest, size))
}

/// Stores bytes as a blob (configs, manifests); returns digest and size.
fn store_bytes(store: &Store, bytes: &[u8]) -> Result<(String, u64), ImagesError> {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dest = store.blob(&hex);
    if !dest.exists() {
        let tmp = dest.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &dest).map_err(|e| io(&dest, e))?;
    }
    Ok((format!("sha256:{hex}"), bytes.len() as u64))
}

fn config_json(image: &Image, chain: &[Blob]) -> serde_json::Value {
    let c: &Config = &image.config;
    let set = |items: &[&str]| -> serde_json::Value {
        items
            .iter()
            .map(|i| (i.to_string(), json!({})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let list = |items: &[&str]| -> serde_json::Value {
        if items.is_empty() {
            serde_json::Value::Null
        } else {
            json!(items)
        }
    };
    let history: Vec<serde_json::Value> = [
        "debootstrap --variant=minbase",
        image.layer.name,
        "files",
    ]
    .iter()
    .take(chain.len())
    .map(|what| json!({"created": CREATED, "created_by": format!("condaplay lab images: {what}")}))
    .collect();
    json!({
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {
            "Env": c.env,
            "Entrypoint": list(c.entrypoint),
            "Cmd": list(c.cmd),
            "WorkingDir": c.workdir,
            "ExposedPorts": set(c.ports),
            "Volumes": set(c.volumes),
        },
        "rootfs": {
            "type": "layers",
            "diff_ids": chain.iter().map(|b| b.diff_id.clone()).collect::<Vec<_>>(),
        },
        "history": history,
    })
}

fn store_manifest(store: &Store, image: &Image, chain: &[Blob]) -> Result<String, ImagesError> {
    let config = serde_json::to_vec(&config_json(image, chain)).unwrap_or_default();
    let (config_digest, config_size) = store_bytes(store, &config)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "size": config_size, "digest": config_digest},
        "layers": chain.iter().map(|b| json!({
            "mediaType": LAYER_TYPE, "size": b.size, "digest": b.digest,
        })).collect::<Vec<_>>(),
    });
    let bytes = serde_json::to_vec(&manifest).unwrap_or_default();
    Ok(store_bytes(store, &bytes)?.0)
}

fn save_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ImagesError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text + "\n").map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_whiteouts_become_oci_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("etc/keep")).unwrap();
        std::fs::create_dir_all(d.join("etc/replaced")).unwrap();
        std::fs::write(d.join("etc/keep/file"), "x").unwrap();
        let gone = std::ffi::CString::new(d.join("etc/gone").to_str().unwrap()).unwrap();
        // SAFETY: mknod of a 0/0 character device (overlayfs's whiteout) in our temp dir.
        assert_eq!(
            unsafe { libc::mknod(gone.as_ptr(), libc::S_IFCHR | 0o600, 0) },
            0
        );
        let replaced = std::ffi::CString::new(d.join("etc/replaced").to_str().unwrap()).unwrap();
        // SAFETY: NUL-terminated strings, a one-byte value.
        let set = unsafe {
            libc::setxattr(
                replaced.as_ptr(),
                c"trusted.overlay.opaque".as_ptr(),
                b"y".as_ptr().cast(),
                1,
                0,
            )
        };
        assert_eq!(set, 0, "setxattr: {}", std::io::Error::last_os_error());

        oci_whiteouts(d).unwrap();

        assert!(!d.join("etc/gone").exists());
        let wh = std::fs::symlink_metadata(d.join("etc/.wh.gone")).unwrap();
        assert!(wh.is_file() && wh.len() == 0);
        assert!(d.join("etc/replaced/.wh..wh..opq").is_file());
        assert!(!d.join("etc/keep/.wh..wh..opq").exists());
        assert_eq!(
            std::fs::read_to_string(d.join("etc/keep/file")).unwrap(),
            "x"
        );
    }

    #[test]
    fn index_resolves_tags_and_digests() {
        let mut index = Index {
            format: FORMAT,
            ..Index::default()
        };
        let digest = format!("sha256:{}", "a".repeat(64));
        index
            .repositories
            .entry("library/redis".into())
            .or_default()
            .insert("7.2.4-alpine".into(), digest.clone());
        assert_eq!(
            index.resolve("library/redis", "7.2.4-alpine"),
            Some(digest.clone())
        );
        assert_eq!(
            index.resolve("library/redis", &digest),
            Some(digest.clone())
        );
        assert_eq!(index.resolve("library/redis", "latest"), None);
        assert_eq!(index.resolve("library/mariadb", "7.2.4-alpine"), None);
        let other = format!("sha256:{}", "b".repeat(64));
        assert_eq!(index.resolve("library/redis", &other), None);
    }

    #[test]
    fn config_lists_layers_in_order_and_omits_an_empty_entrypoint() {
        let chain: Vec<Blob> = (0..3)
            .map(|i| Blob {
                diff_id: format!("sha256:{i}"),
                digest: format!("sha256:g{i}"),
                size: i,
            })
            .collect();
        let appconda = &recipes::IMAGES
            .iter()
            .find(|i| i.repo == "appconda/appconda")
            .unwrap();
        let c = config_json(appconda, &chain);
        assert_eq!(
            c["rootfs"]["diff_ids"],
            json!(["sha256:0", "sha256:1", "sha256:2"])
        );
        assert!(c["config"]["Entrypoint"].is_null());
        assert_eq!(c["config"]["Cmd"], json!(["appconda-server"]));
        assert_eq!(c["history"].as_array().unwrap().len(), 3);
        let mariadb = &recipes::IMAGES[0];
        let c = config_json(mariadb, &chain[..2]);
        assert_eq!(c["config"]["Entrypoint"], json!(["docker-entrypoint.sh"]));
        assert_eq!(c["config"]["Volumes"], json!({"/var/lib/mysql": {}}));
    }
}
