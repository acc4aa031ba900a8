#!/usr/bin/env python3
"""Where the time goes (bench/README.md): for the idempotent 30-task run on
the running bench servers, wall time, controller CPU (the tool and its ssh
processes) and server CPU (the containers' cpuacct), next to plain `ssh true`,
a one-task playbook and the floor script. With --kex, the same connections
again with the classical curve25519-sha256 key exchange instead of OpenSSH's
default (sntrup761x25519 on OpenSSH 9.x), to show what the post-quantum
handshake costs. Run after bench/run has booted the servers:
bench/profile.py --condaplay BINARY [--servers 10] [--repeat 5] [--kex]"""

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "/var/lib/condaplay/lab/id_ed25519"
KNOWN = "/var/lib/condaplay/lab/known_hosts"


def server_cpu_ns(names):
    total = 0
    for n in names:
        with open(f"/sys/fs/cgroup/cpuacct/cplab-{n}/cpuacct.usage") as f:
            total += int(f.read())
    return total


def measure(argv, names, cwd):
    before_srv = server_cpu_ns(names)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t
    ru2 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ctl = (ru2.ru_utime - ru.ru_utime) + (ru2.ru_stime - ru.ru_stime)
    srv = (server_cpu_ns(names) - before_srv) / 1e9
    return wall, ctl, srv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--condaplay", required=True)
    ap.add_argument("--servers", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--kex", action="store_true",
                    help="add rows with -o KexAlgorithms=curve25519-sha256")
    a = ap.parse_args()
    names = [f"bench{i:02}" for i in range(1, a.servers + 1)]
    inv = subprocess.run([a.condaplay, "lab", "inventory"], capture_output=True, text=True,
                         check=True).stdout
    lines = [l for l in inv.splitlines() if l.split(" ", 1)[0] in names]
    ips = [re.search(r"ansible_host=(\S+)", l).group(1) for l in lines]
    work = tempfile.mkdtemp(prefix="cpprof")
    with open(f"{work}/inventory.ini", "w") as f:
        f.write("[bench]\n" + "\n".join(lines) + "\n")
    classical = "-o KexAlgorithms=curve25519-sha256"
    with open(f"{work}/classical.ini", "w") as f:
        f.write("[bench]\n" + "\n".join(
            l.replace("ansible_ssh_common_args='", f"ansible_ssh_common_args='{classical} ")
            for l in lines) + "\n")
    wl = open(os.path.join(HERE, "workload.yml")).read()
    with open(f"{work}/one.yml", "w") as f:
        f.write(wl[:wl.index("    - name: directory 2")])
    ssh = " ".join(["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={KNOWN}", "-i", KEY])
    workload = os.path.join(HERE, "workload.yml")

    def on_all(ssh, command):
        return ["sh", "-c", " ".join(f"{ssh} root@{ip} {command} &" for ip in ips) + " wait"]

    def condaplay(playbook, inventory):
        return [a.condaplay, "run", playbook, "-i", inventory, "-f", str(a.servers)]

    floor = f"sh -s < {HERE}/floor.sh >/dev/null"
    cases = {
        "ssh true (connection only)": on_all(ssh, "true"),
        "floor script": on_all(ssh, floor),
        "condaplay, 1 task": condaplay("one.yml", "inventory.ini"),
        "condaplay, 30 tasks": condaplay(workload, "inventory.ini"),
    }
    if a.kex:
        cases.update({
            "ssh true, curve25519-sha256": on_all(f"{ssh} {classical}", "true"),
            "floor script, curve25519-sha256": on_all(f"{ssh} {classical}", floor),
            "condaplay, 30 tasks, curve25519-sha256": condaplay(workload, "classical.ini"),
        })
    rows = {k: [] for k in cases}
    for _ in range(a.repeat):
        for name, argv in cases.items():
            rows[name].append(measure(argv, names, work))
    # The servers share the controller's cores here, so no schedule can beat
    # (controller CPU + servers' CPU) / cores: the last column.
    cores = os.cpu_count()
    print(f"| {a.servers} servers, medians of {a.repeat} | wall (s) | controller CPU (s) | "
          f"servers' CPU (s) | CPU bound on {cores} cores (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, r in rows.items():
        med = [statistics.median(x[i] for x in r) for i in range(3)]
        print(f"| {name} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | "
              f"{(med[1] + med[2]) / cores:.2f} |")
    with open("/proc/loadavg") as f:
        print(f"\nload average after: {f.read().split()[0]}")


if __name__ == "__main__":
    sys.exit(main())
