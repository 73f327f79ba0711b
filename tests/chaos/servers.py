"""Private Redis and PostgreSQL servers for the chaos tests, which stop, restart and flush them.

The machine's servers on 6379 and 5432 are shared with other engineers and other suites, so a
test that takes a server down starts its own on a free loopback port in a temporary folder:

- `RedisServer`: tests/security/servers.py's `redis-server --requirepass test --appendonly yes
  --appendfsync everysec --maxmemory-policy noeviction` (one child in its own session), with a
  restart on the same port;
- `PostgresServer`: `initdb` + `pg_ctl start` as the `postgres` user when the tests run as root
  (initdb refuses root), trust authentication for the `test` superuser.

Each object stops only the server it started (by its pid, or `pg_ctl -D <its folder>`), and
`close()` removes its folder. Nothing here touches the shared servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.security.servers import RedisServer as SecurityRedisServer
from tests.security.servers import free_port

log = logging.getLogger(__name__)

PG_USER = "test"
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True) + [
    Path("/usr/local/bin"), Path("/usr/bin")]


class RedisServer(SecurityRedisServer):
    """tests/security's private redis-server (AOF, password), plus what the chaos cases need:
    a clean restart on the same port and a `close()` that also removes its folder."""

    def restart(self) -> None:
        """SIGTERM (Redis writes its append-only file and exits), then start on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def pg_tool(name: str) -> str:
    for folder in PG_BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    raise FileNotFoundError(f"PostgreSQL tool {name} not found in {PG_BIN_DIRS}")


def _as_postgres(argv: list[str]) -> list[str]:
    """initdb and pg_ctl refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


class PostgresServer:
    """A private PostgreSQL cluster on a free port; pg_ctl start, stop -m fast|immediate, restart."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="alpaca-chaos-pg-"))
        self.folder.chmod(0o755)  # the postgres user must reach its data and socket
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self._run([pg_tool("initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust",
                   "-E", "UTF8", "--no-sync"])

    def _run(self, argv: list[str]) -> None:
        subprocess.run(_as_postgres(argv), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    def _pg_ctl(self, *args: str) -> None:
        self._run([pg_tool("pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args])

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=200")
        self._pg_ctl("-l", str(self.folder / "pg.log"), "-o", options, "start")
        log.info("postgresql started on port %d", self.port)

    def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m fast` (clients disconnected, clean) or `-m immediate` (crash-like)."""
        self._pg_ctl("-m", mode, "stop")
        log.info("postgresql on port %d stopped (-m %s)", self.port, mode)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self) -> str:
        """A new empty database on this server; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def close(self) -> None:
        if self.running():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError as exc:
                log.warning("pg_ctl stop failed (%s); killing the postmaster we started", exc)
                self._kill_postmaster()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def private_servers(tmp: Path) -> tuple[RedisServer, PostgresServer, str]:
    """A private redis-server (under `tmp`) and PostgreSQL cluster, both started, and the URL
    of a new, migrated database on it (for the soak and the hand-over bench)."""
    from tests.conftest import migrate

    redis = RedisServer(tmp / "redis")
    redis.start()
    postgres = PostgresServer()
    postgres.start()
    url = postgres.create_database()
    migrate(url)
    return redis, postgres, url

