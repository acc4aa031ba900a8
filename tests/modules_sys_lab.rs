//! System modules that change the system, on one lab server (real Debian 12
//! with systemd): group, user, sysctl, systemd, apt, swapfile, mount (tmpfs
//! and a real sshfs mount made with ssh_keypair + authorized_key +
//! known_hosts). One server, booted once, steps in order; each step checks
//! the host's state: check mode on a fresh state touches nothing, the first
//! run changes, the second does not.

mod support;

use condaplay::modules::Outcome;
use support::lab_host::LabHost;

fn changed(o: &Outcome) {
    assert!(o.changed && !o.failed, "expected a change: {o:?}");
}

fn unchanged(o: &Outcome) {
    assert!(!o.changed && !o.failed, "expected no change: {o:?}");
}

#[test]
fn system_modules_on_a_lab_server() {
    let h = LabHost::start("cp-sysmods");
    groups_and_users(&h);
    sysctl_in_the_kernel(&h);
    services(&h);
    packages(&h);
    swap(&h);
    tmpfs_mount(&h);
    sshfs_mount(&h);
}

fn groups_and_users(h: &LabHost) {
    let g = "name: cpteam\ngid: 2345";
    changed(&h.check("group", g));
    assert_eq!(h.sh("getent group cpteam"), "");
    let o = h.module("group", g);
    changed(&o);
    assert_eq!(o.ret["gid"], 2345);
    assert_eq!(h.sh("getent group cpteam").trim(), "cpteam:x:2345:");
    unchanged(&h.module("group", g));
    changed(&h.module("group", "name: cpteam\ngid: 2346"));
    assert_eq!(h.sh("getent group cpteam | cut -d: -f3").trim(), "2346");

    let hash = "$6$cpsalt$XmRjt1cG0vBq3bS9v0l8o0N2zU6ENbB1Q0qfX0pZx9mBv3VbJx5lN7e1m0aP1pQx0Yw3kR4zT6yU8iO9pA2sD.";
    let u = format!(
        "name: cpuser\nuid: 2400\ngroup: cpteam\ngroups: [adm, sudo]\nshell: /bin/bash\ncomment: Deploy User\npassword: '{hash}'"
    );
    changed(&h.check("user", &u));
    assert_eq!(h.sh("getent passwd cpuser"), "");
    let o = h.module("user", &u);
    changed(&o);
    assert_eq!(o.ret["uid"], 2400);
    assert_eq!(o.ret["password"], "NOT_LOGGING_PASSWORD");
    assert_eq!(
        h.sh("getent passwd cpuser").trim(),
        "cpuser:x:2400:2346:Deploy User:/home/cpuser:/bin/bash"
    );
    assert_eq!(h.sh("getent shadow cpuser | cut -d: -f2").trim(), hash);
    assert_eq!(h.sh("id -Gn cpuser").trim(), "cpteam adm sudo");
    assert_eq!(h.sh("stat -c %U /home/cpuser").trim(), "cpuser");
    unchanged(&h.module("user", &u));

    // Groups replace unless append; the shell changes in place.
    let fewer = "name: cpuser\ngroups: adm\nshell: /bin/sh";
    changed(&h.check("user", fewer));
    assert_eq!(h.sh("id -Gn cpuser").trim(), "cpteam adm sudo");
    changed(&h.module("user", fewer));
    assert_eq!(h.sh("id -Gn cpuser").trim(), "cpteam adm");
    assert_eq!(h.sh("getent passwd cpuser | cut -d: -f7").trim(), "/bin/sh");
    let more = "name: cpuser\ngroups: sudo\nappend: yes";
    changed(&h.module("user", more));
    assert_eq!(h.sh("id -Gn cpuser").trim(), "cpteam adm sudo");
    unchanged(&h.module("user", more));
    let o = h.module("user", "name: cpuser\ngroup: no_such_group_cp");
    assert!(
        o.failed && o.msg.as_deref().unwrap_or("").contains("does not exist"),
        "{o:?}"
    );

    let gone = "name: cpuser\nstate: absent\nremove: yes";
    changed(&h.check("user", gone));
    assert!(!h.sh("getent passwd cpuser").is_empty());
    changed(&h.module("user", gone));
    assert_eq!(
        h.sh("getent passwd cpuser; ls -d /home/cpuser 2>/dev/null"),
        ""
    );
    unchanged(&h.module("user", gone));
    changed(&h.module("group", "name: cpteam\nstate: absent"));
    assert_eq!(h.sh("getent group cpteam"), "");
    unchanged(&h.module("group", "name: cpteam\nstate: absent"));
}

/// net.ipv4.ip_forward belongs to the server's own network namespace, so
/// setting it cannot touch the machine running the tests.
fn sysctl_in_the_kernel(h: &LabHost) {
    h.sh("sysctl -q -w net.ipv4.ip_forward=0");
    let args = "name: net.ipv4.ip_forward\nvalue: '1'\nsysctl_set: yes\nsysctl_file: /etc/sysctl.d/90-cp.conf";
    changed(&h.check("sysctl", args));
    assert_eq!(h.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "0");
    assert_eq!(h.sh("ls /etc/sysctl.d/90-cp.conf 2>/dev/null"), "");
    changed(&h.module("sysctl", args));
    assert_eq!(h.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    assert_eq!(
        h.sh("cat /etc/sysctl.d/90-cp.conf"),
        "net.ipv4.ip_forward=1\n"
    );
    unchanged(&h.module("sysctl", args));
    // The kernel drifted: only sysctl_set notices.
    h.sh("sysctl -q -w net.ipv4.ip_forward=0");
    changed(&h.module("sysctl", args));
    assert_eq!(h.sh("cat /proc/sys/net/ipv4/ip_forward").trim(), "1");
    let o = h.module("sysctl", "name: net.no.such.key\nvalue: '1'\nsysctl_set: yes\nsysctl_file: /etc/sysctl.d/91-cp.conf\nreload: no");
    assert!(o.failed, "{o:?}");
    changed(&h.module(
        "sysctl",
        "name: net.ipv4.ip_forward\nstate: absent\nsysctl_file: /etc/sysctl.d/90-cp.conf",
    ));
    assert_eq!(h.sh("cat /etc/sysctl.d/90-cp.conf"), "");
}

fn services(h: &LabHost) {
    h.sh("printf '[Unit]\\nDescription=cp test\\n[Service]\\nExecStart=/bin/sleep infinity\\nExecReload=/bin/true\\n[Install]\\nWantedBy=multi-user.target\\n' > /usr/lib/systemd/system/cptest.service");
    let args = "name: cptest\nstate: started\nenabled: yes\ndaemon_reload: yes";
    changed(&h.check("systemd", args));
    assert_eq!(h.sh("systemctl is-active cptest").trim(), "inactive");
    assert_eq!(h.sh("systemctl is-enabled cptest").trim(), "disabled");
    let o = h.module("systemd", args);
    changed(&o);
    assert_eq!(o.ret["enabled"], true);
    assert_eq!(o.ret["status"]["ActiveState"], "active");
    assert_eq!(h.sh("systemctl is-active cptest").trim(), "active");
    assert_eq!(h.sh("systemctl is-enabled cptest").trim(), "enabled");
    unchanged(&h.module("systemd", args));
    // `service` is the same module.
    unchanged(&h.module("service", "name: cptest\nstate: started"));
    let pid = h.sh("systemctl show -p MainPID --value cptest");
    changed(&h.module("systemd", "name: cptest\nstate: restarted"));
    assert_ne!(h.sh("systemctl show -p MainPID --value cptest"), pid);
    changed(&h.module("systemd", "name: cptest\nstate: reloaded"));
    let stop = "name: cptest\nstate: stopped\nenabled: no";
    changed(&h.module("systemd", stop));
    assert_eq!(h.sh("systemctl is-active cptest").trim(), "inactive");
    assert_eq!(h.sh("systemctl is-enabled cptest").trim(), "disabled");
    unchanged(&h.module("systemd", stop));
    changed(&h.module("systemd", "name: cptest\nmasked: yes"));
    assert_eq!(h.sh("systemctl is-enabled cptest").trim(), "masked");
    unchanged(&h.module("systemd", "name: cptest\nmasked: yes"));
    changed(&h.module("systemd", "name: cptest\nmasked: no"));
    let o = h.module("systemd", "name: no-such-unit-cp\nstate: started");
    assert!(
        o.failed && o.msg.as_deref().unwrap_or("").contains("Could not find"),
        "{o:?}"
    );
}

fn packages(h: &LabHost) {
    h.sh("dpkg --purge hello >/dev/null 2>&1");
    // Updating the cache is not a change: packages are.
    let o = h.module("apt", "update_cache: yes");
    unchanged(&o);
    assert_eq!(o.ret["cache_updated"], true);
    assert!(
        h.sh("find /var/lib/apt/periodic/update-success-stamp -mmin -1")
            .contains("stamp")
    );
    let o = h.module("apt", "update_cache: yes\ncache_valid_time: 3600");
    unchanged(&o);
    assert_eq!(o.ret["cache_updated"], false);

    let args = "name: [hello, sshfs]\nstate: present\ninstall_recommends: no";
    changed(&h.check("apt", args));
    assert_eq!(
        h.sh("dpkg-query -W -f='${db:Status-Abbrev}' hello 2>/dev/null"),
        ""
    );
    let o = h.module("apt", args);
    changed(&o);
    assert_eq!(
        h.sh("dpkg-query -W -f='${db:Status-Abbrev}' hello sshfs"),
        "ii ii "
    );
    unchanged(&h.module("apt", args));
    unchanged(&h.module("package", "name: hello,sshfs\nstate: latest"));

    let o = h.module("apt", "name: no-such-package-cp");
    assert!(o.failed, "{o:?}");
    assert_eq!(
        o.msg.as_deref(),
        Some("No package matching 'no-such-package-cp' is available")
    );

    let gone = "name: hello\nstate: absent\npurge: yes";
    changed(&h.check("apt", gone));
    assert_eq!(h.sh("dpkg-query -W -f='${db:Status-Abbrev}' hello"), "ii ");
    changed(&h.module("apt", gone));
    assert_eq!(
        h.sh("dpkg-query -W -f='${db:Status-Abbrev}' hello 2>/dev/null"),
        ""
    );
    unchanged(&h.module("apt", gone));
}

fn swap(h: &LabHost) {
    let args = "path: /cp-swapfile\nsize: 64M\npriority: 7";
    changed(&h.check("swapfile", args));
    assert_eq!(
        h.sh("ls /cp-swapfile 2>/dev/null; grep cp-swapfile /proc/swaps /etc/fstab"),
        ""
    );
    let o = h.module("swapfile", args);
    changed(&o);
    assert_eq!(o.ret["size"], 64 << 20);
    assert_eq!(h.sh("stat -c '%a %s' /cp-swapfile").trim(), "600 67108864");
    assert_eq!(
        h.sh("awk '$1 == \"/cp-swapfile\" { print $5 }' /proc/swaps")
            .trim(),
        "7"
    );
    assert_eq!(
        h.sh("grep cp-swapfile /etc/fstab"),
        "/cp-swapfile none swap sw,pri=7 0 0\n"
    );
    unchanged(&h.module("swapfile", args));
    // A new priority: the same file, switched on again, the line replaced.
    changed(&h.module("swapfile", "path: /cp-swapfile\nsize: 64M\npriority: 3"));
    assert_eq!(
        h.sh("grep cp-swapfile /etc/fstab"),
        "/cp-swapfile none swap sw,pri=3 0 0\n"
    );
    let gone = "path: /cp-swapfile\nstate: absent";
    changed(&h.module("swapfile", gone));
    assert_eq!(
        h.sh("ls /cp-swapfile 2>/dev/null; grep cp-swapfile /proc/swaps /etc/fstab"),
        ""
    );
    unchanged(&h.module("swapfile", gone));
}

fn tmpfs_mount(h: &LabHost) {
    // A duplicate entry written by hand becomes exactly one line.
    h.sh("printf 'tmpfs /mnt/cptmp tmpfs size=4m 0 0\\ntmpfs /mnt/cptmp tmpfs size=5m 0 0\\n' >> /etc/fstab");
    let args =
        "path: /mnt/cptmp\nsrc: tmpfs\nfstype: tmpfs\nopts: size=8m\nstate: mounted\nbackup: yes";
    let c = h.check("mount", args);
    changed(&c);
    assert!(
        c.diffs[0]
            .after
            .contains("tmpfs /mnt/cptmp tmpfs size=8m 0 0\n")
    );
    assert_eq!(
        h.sh("findmnt -n /mnt/cptmp; ls -d /mnt/cptmp 2>/dev/null"),
        ""
    );
    let o = h.module("mount", args);
    changed(&o);
    let backup = o.ret["backup_file"].as_str().unwrap().to_string();
    assert_eq!(h.sh(&format!("grep -c cptmp '{backup}'")).trim(), "2");
    assert_eq!(
        h.sh("grep cptmp /etc/fstab"),
        "tmpfs /mnt/cptmp tmpfs size=8m 0 0\n"
    );
    assert_eq!(
        h.sh("findmnt -n -o FSTYPE,SIZE /mnt/cptmp").trim(),
        "tmpfs    8M"
    );
    unchanged(&h.module("mount", &args.replace("\nbackup: yes", "")));

    // New options: the line changes in place and the mount is remounted.
    changed(&h.module("mount", &args.replace("size=8m", "size=16m")));
    assert_eq!(h.sh("findmnt -n -o SIZE /mnt/cptmp").trim(), "16M");
    assert_eq!(h.sh("grep -c cptmp /etc/fstab").trim(), "1");

    changed(&h.module("mount", "path: /mnt/cptmp\nstate: unmounted"));
    assert_eq!(h.sh("findmnt -n /mnt/cptmp"), "");
    assert_eq!(h.sh("grep -c cptmp /etc/fstab").trim(), "1");
    unchanged(&h.module("mount", "path: /mnt/cptmp\nstate: unmounted"));
    unchanged(&h.module("mount", "path: /mnt/cptmp\nstate: remounted"));
    // Present writes the entry only; mounted then mounts it as written.
    let present = "path: /mnt/cptmp\nsrc: tmpfs\nfstype: tmpfs\nopts: size=12m\nstate: present";
    changed(&h.module("mount", present));
    assert_eq!(h.sh("findmnt -n /mnt/cptmp"), "");
    unchanged(&h.module("mount", present));
    changed(&h.module("mount", &present.replace("present", "mounted")));
    assert_eq!(h.sh("findmnt -n -o SIZE /mnt/cptmp").trim(), "12M");
    changed(&h.module("mount", "path: /mnt/cptmp\nstate: remounted"));
    // Another source: a remount cannot do it, so it is mounted again.
    h.sh("mkdir -p /srv/cpbind && touch /srv/cpbind/marker");
    let bind = "path: /mnt/cptmp\nsrc: /srv/cpbind\nfstype: none\nopts: bind\nstate: mounted";
    changed(&h.module("mount", bind));
    assert_eq!(h.sh("ls /mnt/cptmp").trim(), "marker");
    unchanged(&h.module("mount", bind));

    // An fstab that would not verify is refused and the old one kept.
    let before = h.sh("cat /etc/fstab");
    let o = h.module(
        "mount",
        "path: /mnt/cpbad\nsrc: UUID=00000000-0000-0000-0000-000000000000\nfstype: ext4\nstate: present",
    );
    assert!(
        o.failed && o.msg.as_deref().unwrap_or("").contains("findmnt"),
        "{o:?}"
    );
    assert_eq!(h.sh("cat /etc/fstab"), before);

    let gone = "path: /mnt/cptmp\nstate: absent";
    changed(&h.module("mount", gone));
    assert_eq!(
        h.sh("grep cptmp /etc/fstab; ls -d /mnt/cptmp 2>/dev/null"),
        ""
    );
    unchanged(&h.module("mount", gone));
}

/// The server mounts its own /srv/share over sshfs as root@127.0.0.1, with
/// a key pair, an authorized key and a known host made by the modules.
fn sshfs_mount(h: &LabHost) {
    let kp = h.module("ssh_keypair", "path: /root/.ssh/id_sshfs\ncomment: sshfs");
    changed(&kp);
    let public = kp.ret["public_key"].as_str().unwrap().to_string();
    changed(&h.module(
        "authorized_key",
        &format!("user: root\nkey: '{public} sshfs'"),
    ));
    unchanged(&h.module(
        "authorized_key",
        &format!("user: root\nkey: '{public} sshfs'"),
    ));
    let host_key = h.sh("cut -d' ' -f1-2 /etc/ssh/ssh_host_ed25519_key.pub");
    let kh = format!("name: 127.0.0.1\nkey: '127.0.0.1 {}'", host_key.trim());
    changed(&h.module("known_hosts", &kh));
    unchanged(&h.module("known_hosts", &kh));
    h.sh("mkdir -p /srv/share && echo shared > /srv/share/hello.txt");

    let args = "path: /mnt/share\nsrc: root@127.0.0.1:/srv/share\nfstype: fuse.sshfs\nopts: allow_other,_netdev,IdentityFile=/root/.ssh/id_sshfs,reconnect,x-systemd.automount\nstate: mounted";
    changed(&h.check("mount", args));
    assert_eq!(h.sh("grep -c /mnt/share /etc/fstab").trim(), "0");
    let o = h.module("mount", args);
    changed(&o);
    assert_eq!(h.sh("cat /mnt/share/hello.txt").trim(), "shared");
    assert!(
        h.sh("findmnt -n -o FSTYPE /mnt/share")
            .contains("fuse.sshfs")
    );
    unchanged(&h.module("mount", args));
    let gone = "path: /mnt/share\nstate: absent";
    changed(&h.module("mount", gone));
    assert_eq!(
        h.sh("findmnt -n /mnt/share; grep /mnt/share /etc/fstab"),
        ""
    );
}
