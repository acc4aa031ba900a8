//! What each lab image is made of. Any change here changes the recipe
//! hashes, so the affected layers are rebuilt on the next `build`.

pub const SUITE: &str = "bookworm";
pub const MIRROR: &str = "http://deb.debian.org/debian";

/// A file written into a layer: path, mode, content.
pub type File = (&'static str, u32, &'static str);

/// Applied to the debootstrapped base before it becomes the shared layer:
/// images carry no documentation and never pull recommended packages.
pub const BASE_FILES: &[File] = &[
    (
        "/etc/dpkg/dpkg.cfg.d/01-condaplay-nodoc",
        0o644,
        "path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n\
         path-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\n\
         path-exclude=/usr/share/locale/*\npath-include=/usr/share/locale/locale.alias\n",
    ),
    (
        "/etc/apt/apt.conf.d/01-condaplay",
        0o644,
        "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n",
    ),
];

/// One layer on top of the base: packages installed with apt, files
/// written, then a shell script run in the chroot.
#[derive(Debug)]
pub struct Layer {
    pub name: &'static str,
    pub packages: &'static [&'static str],
    pub files: &'static [File],
    pub script: &'static str,
}

/// Image configuration (the parts Docker reads).
#[derive(Debug)]
pub struct Config {
    pub entrypoint: &'static [&'static str],
    pub cmd: &'static [&'static str],
    pub env: &'static [&'static str],
    pub ports: &'static [&'static str],
    pub volumes: &'static [&'static str],
    pub workdir: &'static str,
}

/// An image: repository (Docker Hub form), tags, its layer, an optional
/// small layer of extra files, and its configuration.
#[derive(Debug)]
pub struct Image {
    pub repo: &'static str,
    pub tags: &'static [&'static str],
    pub layer: &'static Layer,
    pub extra: &'static [File],
    pub config: Config,
}

const PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub const MARIADB: Layer = Layer {
    name: "mariadb",
    packages: &["mariadb-server", "mariadb-client"],
    files: &[
        (
            "/usr/local/bin/docker-entrypoint.sh",
            0o755,
            include_str!("files/mariadb-entrypoint.sh"),
        ),
        (
            // As the official image: reachable from other containers, no
            // reverse DNS per connection. A mounted /etc/mysql/my.cnf
            // replaces the include chain, and with it this file.
            "/etc/mysql/mariadb.conf.d/99-condaplay.cnf",
            0o644,
            "[mysqld]\nbind-address = 0.0.0.0\nskip-name-resolve\nhost-cache-size = 0\n",
        ),
    ],
    // The package's postinst made a data directory; the image must ship an
    // empty one so the entry point initializes it from the environment.
    script: "set -e\n\
             sed -i 's/^bind-address/#bind-address/' /etc/mysql/mariadb.conf.d/50-server.cnf\n\
             cp --remove-destination \"$(readlink -f /etc/mysql/my.cnf)\" /etc/mysql/my.cnf\n\
             rm -rf /var/lib/mysql\n\
             mkdir -p /var/lib/mysql /run/mysqld\n\
             chown mysql:mysql /var/lib/mysql /run/mysqld\n",
};

pub const REDIS: Layer = Layer {
    name: "redis",
    packages: &["redis-server"],
    files: &[(
        "/usr/local/bin/docker-entrypoint.sh",
        0o755,
        include_str!("files/redis-entrypoint.sh"),
    )],
    script: "set -e\nmkdir -p /data\nchown redis:redis /data\n",
};

pub const APPCONDA: Layer = Layer {
    name: "appconda",
    packages: &["python3", "mariadb-client-core", "redis-tools"],
    files: &[
        (
            "/usr/local/bin/appconda-server",
            0o755,
            include_str!("files/appconda-server.py"),
        ),
        (
            "/usr/local/bin/appconda-worker",
            0o755,
            include_str!("files/appconda-idle.sh"),
        ),
        (
            "/usr/local/bin/migrate",
            0o755,
            include_str!("files/appconda-migrate.sh"),
        ),
    ],
    // The `entrypoint:` names of appconda services in the book's compose
    // files, and the real server's other workers: each an idle worker.
    script: "set -e\n\
             for w in realtime executor maintenance schedule schedule-functions \
             schedule-messages usage worker-audits worker-builds worker-certificates \
             worker-databases worker-deletes worker-functions worker-mails worker-messaging \
             worker-migrations worker-usage worker-usage-dump worker-webhooks; do\n\
             ln -sf appconda-worker /usr/local/bin/$w\n\
             done\n\
             mkdir -p /storage/uploads /storage/cache /storage/config /storage/certificates \
             /storage/functions /storage/builds /usr/local/share/appconda\n",
};

const APPCONDA_CONFIG: Config = Config {
    entrypoint: &[],
    cmd: &["appconda-server"],
    env: &[
        PATH,
        // The lab registry's answer to "which server am I on".
        "CONDAPLAY_WHOAMI_URL=http://172.31.250.1:5000/condaplay/whoami",
    ],
    ports: &["80/tcp"],
    volumes: &[],
    workdir: "/usr/src/code",
};

pub const IMAGES: &[Image] = &[
    Image {
        repo: "library/mariadb",
        tags: &["10.11", "10.7"],
        layer: &MARIADB,
        extra: &[],
        config: Config {
            entrypoint: &["docker-entrypoint.sh"],
            cmd: &["mariadbd"],
            env: &[PATH],
            ports: &["3306/tcp"],
            volumes: &["/var/lib/mysql"],
            workdir: "/",
        },
    },
    Image {
        repo: "library/redis",
        tags: &["7.2.4-alpine"],
        layer: &REDIS,
        extra: &[],
        config: Config {
            entrypoint: &["docker-entrypoint.sh"],
            cmd: &["redis-server"],
            env: &[PATH],
            ports: &["6379/tcp"],
            volumes: &["/data"],
            workdir: "/data",
        },
    },
    Image {
        repo: "appconda/appconda",
        tags: &["1.3.8"],
        layer: &APPCONDA,
        extra: &[("/usr/local/share/appconda/version", 0o644, "1.3.8\n")],
        config: APPCONDA_CONFIG,
    },
    Image {
        repo: "appconda/appconda",
        tags: &["1.4.0"],
        layer: &APPCONDA,
        extra: &[("/usr/local/share/appconda/version", 0o644, "1.4.0\n")],
        config: APPCONDA_CONFIG,
    },
    Image {
        repo: "appconda/appconda",
        tags: &["0.0.0-broken"],
        layer: &APPCONDA,
        extra: &[
            ("/usr/local/share/appconda/version", 0o644, "0.0.0-broken\n"),
            // The stand-in's /health never answers 200 with this file.
            ("/usr/local/share/appconda/broken", 0o644, "\n"),
        ],
        config: APPCONDA_CONFIG,
    },
];
