# The 30-task benchmark workload for pyinfra (same end state as workload.yml).
from io import StringIO

from pyinfra.operations import apt, files, server, systemd

for i in range(1, 11):
    files.directory(name=f"directory {i}", path=f"/srv/bench/d{i:02}", mode="755")

for i in range(1, 9):
    files.put(
        name=f"file {i}",
        src=StringIO(f"name=app{i}\nport={8000 + i}\n"),
        dest=f"/srv/bench/d{i:02}/app{i}.conf",
        mode="644" if i % 2 else "600",
    )

for i in range(1, 7):
    files.line(name=f"line {i}", path="/srv/bench/settings.conf", line=f"option{i} = value{i}")

# pyinfra has no `creates`: the guard is in the command, which runs every time.
for i in range(1, 5):
    server.shell(name=f"command {i}", commands=[f"test -e /srv/bench/marker{i} || touch /srv/bench/marker{i}"])

apt.packages(name="package", packages=["procps"])
systemd.service(name="service", service="ssh", running=True, enabled=True)
