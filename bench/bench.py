#!/usr/bin/env python3
"""The benchmark driver (bench/README.md): condaplay vs ansible-playbook vs
pyinfra vs the ssh floor, on lab servers, same workload, same end state."""

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
VENV = "/var/lib/condaplay/bench-venv"
LAB_KEY = "/var/lib/condaplay/lab/id_ed25519"
LAB_KNOWN = "/var/lib/condaplay/lab/known_hosts"
TOOLS = ["condaplay", "floor", "pyinfra", "ansible"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


# ---------------------------------------------------------------- memory

def tree_pids(root):
    """The pids of root and all its descendants (a fresh scan of /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def timed(argv, env=None, cwd=None, sample=True):
    """Runs argv; returns (seconds, peak PSS of its process tree in MiB, stdout)."""
    peak = [0]
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd)
    done = threading.Event()

    def sampler():
        # Proportional set size: shared pages (ssh's libraries, say) count once.
        while not done.is_set():
            total = sum(pss_kib(p) for p in tree_pids(proc.pid))
            peak[0] = max(peak[0], total)
            done.wait(0.02)

    t = threading.Thread(target=sampler, daemon=True)
    if sample:
        t.start()
    out = proc.stdout.read()
    proc.wait()
    secs = time.monotonic() - start
    done.set()
    if sample:
        t.join()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {proc.returncode}:\n{text[-3000:]}")
    return secs, peak[0] / 1024.0, text


# ---------------------------------------------------------------- lab

class Lab:
    def __init__(self, condaplay, n):
        self.condaplay = condaplay
        self.names = [f"bench{i:02}" for i in range(1, n + 1)]
        self.ips = {}

    def up(self, python=True):
        log(f"booting {len(self.names)} lab servers ...")
        subprocess.run([self.condaplay, "lab", "up", *self.names], check=True,
                       stdout=subprocess.DEVNULL)
        inv = subprocess.run([self.condaplay, "lab", "inventory"], check=True,
                             capture_output=True, text=True).stdout
        lines = []
        for line in inv.splitlines():
            name = line.split(" ", 1)[0]
            if name in self.names:
                lines.append(line)
                self.ips[name] = re.search(r"ansible_host=(\S+)", line).group(1)
        missing = set(self.names) - set(self.ips)
        if missing:
            sys.exit(f"lab servers not running: {sorted(missing)}")
        self.inventory = "[bench]\n" + "\n".join(lines) + "\n"
        if not python:
            return
        # ansible-playbook needs python3 on the servers; the lab's base has none.
        log("python3 on the servers (for ansible) ...")
        self.on_all("command -v python3 >/dev/null || { apt-get update -qq && "
                    "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null; }")

    def ssh_argv(self, name):
        return ["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={LAB_KNOWN}",
                "-o", "StrictHostKeyChecking=yes", "-i", LAB_KEY, "-o", "IdentitiesOnly=yes",
                f"root@{self.ips[name]}"]

    def on_all(self, script):
        """Runs a shell script on every server at once; returns {name: stdout}."""
        procs = {n: subprocess.Popen(self.ssh_argv(n) + ["sh", "-s"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for n in self.names}
        out = {}
        for n, p in procs.items():
            o, e = p.communicate(script.encode())
            if p.returncode != 0:
                raise RuntimeError(f"{n}: {e.decode()}")
            out[n] = o.decode().strip()
        return out


# ---------------------------------------------------------------- tools

class Tools:
    def __init__(self, lab, condaplay, work):
        self.lab = lab
        self.condaplay = condaplay
        self.work = work
        n = len(lab.names)
        self.inv = os.path.join(work, "inventory.ini")
        with open(self.inv, "w") as f:
            f.write(lab.inventory)
        with open(os.path.join(work, "ansible.cfg"), "w") as f:
            f.write(f"""[defaults]
inventory = {self.inv}
forks = {n}
gathering = explicit
host_key_checking = True
interpreter_python = /usr/bin/python3
retry_files_enabled = False
[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=300s
control_path_dir = {work}/cp
""")
        with open(os.path.join(work, "inventory.py"), "w") as f:
            f.write("bench = [\n")
            for name in lab.names:
                f.write(f"    ({name!r}, {{'ssh_hostname': {lab.ips[name]!r}, 'ssh_user': 'root', "
                        f"'ssh_key': {LAB_KEY!r}, 'ssh_known_hosts_file': {LAB_KNOWN!r}}}),\n")
            f.write("]\n")
        with open(os.path.join(work, "floor.sh"), "w") as f:
            f.write(open(os.path.join(HERE, "floor.sh")).read())

    def argv(self, tool):
        n = len(self.lab.names)
        if tool == "condaplay":
            return [self.condaplay, "run", os.path.join(HERE, "workload.yml"), "-i", self.inv,
                    "-f", str(n)]
        if tool == "ansible":
            return [f"{VENV}/bin/ansible-playbook", os.path.join(HERE, "workload.yml")]
        if tool == "pyinfra":
            return [f"{VENV}/bin/pyinfra", "-y", "--parallel", str(n),
                    os.path.join(self.work, "inventory.py"), os.path.join(HERE, "deploy.py")]
        if tool == "floor":
            # One plain ssh per server, all at once, each running floor.sh.
            cmds = " ".join(
                "{ " + " ".join(self.lab.ssh_argv(name)) + " sh -s < floor.sh > out." + name
                + " || echo FAIL " + name + "; } &" for name in self.lab.names)
            return ["sh", "-c", cmds + " wait"]
        raise ValueError(tool)

    def run(self, tool, sample):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(self.work, "ansible.cfg"),
                   PATH=f"{VENV}/bin:" + os.environ.get("PATH", ""), NO_COLOR="1")
        secs, mib, out = timed(self.argv(tool), env=env, cwd=self.work, sample=sample)
        if tool == "floor" and "FAIL" in out:
            raise RuntimeError(f"floor: {out}")
        return secs, mib, out


def changed_total(tool, out):
    """Changed count from a recap (condaplay, ansible) or floor's own count."""
    if tool in ("condaplay", "ansible"):
        return sum(int(x) for x in re.findall(r"changed=(\d+)", out))
    return None


# ---------------------------------------------------------------- main

def measure(lab, tools, which, rounds, ansible_rounds):
    res = {t: {"cold": None, "idem": [], "mem": [], "load": []} for t in which}
    reference = None
    for tool in which:
        lab.on_all("rm -rf /srv/bench")
        log(f"  cold  {tool} (load {loadavg()})")
        secs, mib, out = tools.run(tool, sample=True)
        state = lab.on_all(open(os.path.join(HERE, "state.sh")).read())
        digests = set(state.values())
        if len(digests) != 1:
            raise RuntimeError(f"{tool}: servers differ after the cold run: {state}")
        digest = digests.pop()
        if reference is None:
            reference = (tool, digest)
        elif digest != reference[1]:
            raise RuntimeError(f"{tool} reached end state {digest}, {reference[0]} reached "
                               f"{reference[1]} (bench/state.sh)")
        res[tool]["cold"] = secs
        res[tool]["mem"].append(mib)
        res[tool]["state"] = digest
    for r in range(rounds):
        order = which[r % len(which):] + which[:r % len(which)]
        for tool in order:
            if tool == "ansible" and r >= ansible_rounds:
                continue
            load = loadavg()
            secs, _, out = tools.run(tool, sample=False)
            idempotent(tool, out)
            log(f"  round {r + 1} {tool:9} {secs:7.2f} s  load {load}")
            res[tool]["idem"].append(secs)
            res[tool]["load"].append(float(load))
    # Memory is sampled in runs of its own: reading a process's smaps takes its
    # memory map lock, and sampling every 20 ms slowed the timed runs (condaplay
    # by about 8%, the floor by 4%).
    for tool in which:
        _, mib, out = tools.run(tool, sample=True)
        idempotent(tool, out)
        log(f"  memory  {tool:9} {mib:6.1f} MiB")
        res[tool]["mem"].append(mib)
    return res, reference[1]


def idempotent(tool, out):
    ch = changed_total(tool, out)
    if ch:
        raise RuntimeError(f"{tool}: idempotent run reported changed={ch}:\n{out[-2000:]}")


def table(n, res):
    base = statistics.median(res["condaplay"]["idem"]) if "condaplay" in res else None
    rows = [f"| tool | idempotent median (s) | runs | ratio to condaplay | cold (s) | peak memory (MiB, PSS) | load avg |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for tool, r in res.items():
        med = statistics.median(r["idem"])
        ratio = f"{med / base:.2f}x" if base else "-"
        rows.append(f"| {tool} | {med:.2f} | {len(r['idem'])} | {ratio} | {r['cold']:.2f} | "
                    f"{max(r['mem']):.1f} | {statistics.mean(r['load']):.2f} |")
    return f"### {n} servers, 30 tasks\n\n" + "\n".join(rows) + "\n"


def horizontal(condaplay, rounds):
    """The idempotent re-run of playbooks/horizontal.yml on the lab demo's
    servers (condaplay only: the playbook uses condaplay's age vault)."""
    title = "### playbooks/horizontal.yml on the lab demo (idempotent re-run)\n\n"
    book = os.path.join(REPO, "playbooks", "horizontal.yml")
    inv = os.path.join(REPO, "inventory", "lab")
    ident = os.path.join(REPO, "vault", "lab-identity.txt")
    status = subprocess.run([condaplay, "lab", "status"], capture_output=True, text=True).stdout
    running = {l.split()[0] for l in status.splitlines()[1:] if " running " in l}
    demo = {"main", "client1", "client2", "lb"}
    if not os.path.exists(book):
        return title + "Skipped: the playbook does not exist yet.\n"
    if not (os.path.exists(inv) and os.path.exists(ident) and demo <= running):
        return title + ("Skipped: the demo's servers are not running here. Run `condaplay lab demo` "
                        "first (it boots main, client1, client2 and lb and writes inventory/lab), "
                        "then bench/run again.\n")
    times = []
    for _ in range(rounds):
        secs, mib, out = timed([condaplay, "run", book, "-i", inv, "--identity", ident], cwd=REPO)
        ch = changed_total("condaplay", out)
        if ch:
            raise RuntimeError(f"horizontal.yml re-run reported changed={ch}")
        times.append((secs, mib))
    med = statistics.median(t[0] for t in times)
    return title + (f"condaplay: median {med:.2f} s over {rounds} runs, changed=0, peak memory "
                    f"{max(t[1] for t in times):.1f} MiB (PSS), load {loadavg()}.\n")


def commit():
    r = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--servers", default="10", help="comma-separated server counts (10,50)")
    ap.add_argument("--rounds", type=int, default=5, help="idempotent runs per tool")
    ap.add_argument("--ansible-rounds", type=int, default=2,
                    help="idempotent ansible runs (each takes minutes)")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--condaplay", required=True, help="the condaplay binary to measure")
    ap.add_argument("--results", help="markdown file to write (default: print only)")
    ap.add_argument("--down", action="store_true", help="stop the bench servers at the end")
    a = ap.parse_args()
    which = a.tools.split(",")
    sections = []
    for n in [int(x) for x in a.servers.split(",")]:
        lab = Lab(a.condaplay, n)
        lab.up(python="ansible" in which)
        work = tempfile.mkdtemp(prefix="cpbench")
        try:
            tools = Tools(lab, a.condaplay, work)
            log(f"{n} servers: cold runs, then {a.rounds} idempotent rounds")
            res, digest = measure(lab, tools, which, a.rounds, a.ansible_rounds)
            sections.append(table(n, res) + f"\nAll tools reached end state `{digest}` on every server.\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    sections.append(horizontal(a.condaplay, a.rounds))
    ver = subprocess.run([a.condaplay, "--version"], capture_output=True, text=True).stdout.strip()
    anv = subprocess.run([f"{VENV}/bin/ansible-playbook", "--version"], capture_output=True,
                         text=True).stdout.splitlines()[0]
    pyv = subprocess.run([f"{VENV}/bin/pyinfra", "--version"], capture_output=True,
                         text=True).stdout.strip()
    head = (f"## Benchmark {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC on "
            f"{platform.node()} ({os.cpu_count()} cores)\n\n"
            f"{ver or 'condaplay'} (release build), {anv}, {pyv}. Medians of {a.rounds} idempotent runs "
            f"({a.ansible_rounds} for ansible), "
            "tools interleaved; load average is the 1-minute average before each run. "
            "Peak memory (PSS of the whole process tree, sampled every 20 ms) comes from "
            "the cold run and one more idempotent run; the timed runs are not sampled.\n\n")
    text = head + "\n".join(sections) + f"\nMeasured at commit {commit()}.\n"
    print(text)
    if a.results:
        with open(a.results, "a") as f:
            f.write(text + "\n")
    if a.down:
        names = [f"bench{i:02}" for i in range(1, max(int(x) for x in a.servers.split(",")) + 1)]
        subprocess.run([a.condaplay, "lab", "down", *names], check=False)


if __name__ == "__main__":
    main()
