"""An ephemeral PostgreSQL cluster from the machine's binaries, for the test session.

PostgreSQL refuses to run as root, and CI runs as root: then initdb and pg_ctl run as the
``postgres`` system user, in a temporary directory it owns.
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Cluster:
    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database}"


def find_bindir() -> Path:
    candidates = [os.environ.get("PESTLE_PG_BINDIR", "")]
    if shutil.which("pg_config"):
        found = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=False
        )
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    raise PostgresUnavailable("no PostgreSQL server binaries (initdb) were found")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_cluster(**settings: str) -> Iterator[Cluster]:
    """A fresh cluster, with ``settings`` (e.g. ``shared_buffers="1GB"``) on top of the
    defaults."""
    bindir = find_bindir()
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    workdir = Path(tempfile.mkdtemp(prefix="pestle-pg-"))
    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    data = workdir / "data"
    port = free_port()

    def run(*command: str) -> None:
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresUnavailable(f"{command[0]} failed: {result.stderr.strip()[-500:]}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {workdir} -F -c fsync=off -c max_connections=200"
        options += "".join(f" -c {name}={value}" for name, value in settings.items())
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(workdir / "log"), "-o", options,
            "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield Cluster(host="127.0.0.1", port=port, user="postgres")
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
