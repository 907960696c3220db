"""Real redis-server and PostgreSQL instances on 127.0.0.1 with throwaway data directories.

The datastores area must be tested against the real servers (DESIGN §9): the NOAUTH answer,
CONFIG GET and pg_roles are what a mock would get wrong. The binaries come from the Debian
packages ``redis-server`` and ``postgresql`` (``.ci/run`` and ``make services`` install them).
Missing binaries skip the tests locally but FAIL them in CI (``CI=true``), so CI cannot
silently stop testing the area.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harden_lib.demo.certs import CertBundle


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str) -> None:
    """Skip locally, fail loudly in CI: a CI run without the servers tests nothing here."""
    message = f"{what} (install with `make services` or `apt-get install -y redis-server postgresql`)"
    if in_ci():
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


# --------------------------------------------------------------------------- Redis


@dataclass
class RedisServer:
    port: int
    password: str | None
    proc: subprocess.Popen[bytes]
    folder: Path

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"


def start_redis(folder: Path, settings: dict[str, str]) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server is not installed")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    conf = {"port": str(port), "bind": "127.0.0.1", "dir": str(folder), "save": '""', "daemonize": "no"}
    conf.update(settings)
    (folder / "redis.conf").write_text("".join(f"{k} {v}\n" for k, v in conf.items()))
    log = (folder / "redis.log").open("wb")
    proc = subprocess.Popen([binary, str(folder / "redis.conf")], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, proc)
    return RedisServer(port, settings.get("requirepass"), proc, folder)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresServer:
    port: int
    folder: Path
    bindir: Path
    run_as: str | None
    socket_dir: Path

    def admin_conninfo(self) -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname=postgres"

    def url(self, user: str, password: str, sslmode: str | None = "require") -> str:
        query = f"?sslmode={sslmode}" if sslmode else ""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/postgres{query}"


def _as_user(run_as: str | None, argv: list[str]) -> list[str]:
    return ["runuser", "-u", run_as, "--", *argv] if run_as else argv


def _service_user() -> str | None:
    """initdb refuses root: as root, run the cluster as ``postgres`` (created by the package)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return "postgres"


def start_postgres(pki: CertBundle | None, *, ssl: bool, settings: tuple[str, ...] = ()) -> PostgresServer:
    bindir = postgres_bin()
    if bindir is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    run_as = _service_user()
    # Not under pytest's tmp_path: that is 0700 root-owned, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="harden-pg-"))
    data = folder / "data"
    port = free_port()
    if run_as:
        shutil.chown(folder, run_as)
    subprocess.run(
        _as_user(
            run_as,
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
             "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8", "--no-instructions"],
        ),
        check=True, capture_output=True,
    )  # fmt: skip
    lines = [
        f"port = {port}",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{folder}'",
        "fsync = off",
        "password_encryption = 'scram-sha-256'",
        *settings,
    ]
    if ssl and pki is not None:
        for source, name in ((pki.cert_path, "server.crt"), (pki.key_path, "server.key")):
            shutil.copy(source, data / name)
            (data / name).chmod(0o600)
            if run_as:
                shutil.chown(data / name, run_as)
        lines += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"]
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n".join(lines) + "\n")
    subprocess.run(
        _as_user(run_as, [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "20",
                          "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    return PostgresServer(port, folder, bindir, run_as, folder)


def stop_postgres(server: PostgresServer) -> None:
    subprocess.run(
        _as_user(server.run_as, [str(server.bindir / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate",
                                 "stop"]),
        capture_output=True,
    )  # fmt: skip
    shutil.rmtree(server.folder, ignore_errors=True)


def admin_sql(server: PostgresServer, *statements: str) -> None:
    import psycopg

    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@contextlib.contextmanager
def postgres(pki: CertBundle | None, *, ssl: bool, settings: tuple[str, ...] = ()) -> Iterator[PostgresServer]:
    """``settings``: extra postgresql.conf lines (e.g. ``shared_preload_libraries = 'pgaudit'``)."""
    server = start_postgres(pki, ssl=ssl, settings=settings)
    try:
        yield server
    finally:
        stop_postgres(server)
