"""A throwaway PostgreSQL server for the tests: its own data folder under /tmp, on 127.0.0.1 only.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (or ``nobody``), which
owns the temporary folder. The binaries are looked up on PATH, then in Debian's ``/usr/lib/postgresql/N/bin``
(``apt-get install postgresql`` puts them there, not on PATH). ``find_binaries`` returning None is the one reason
to skip a test that needs a server; any later failure to start is an error.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

NEEDED = ("initdb", "pg_ctl", "postgres")


def find_binaries() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None where PostgreSQL is not installed."""
    candidates = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
        candidates.append(Path(on_path).parent)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    candidates.extend(debian)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in NEEDED):
            return folder
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """``with PostgresServer() as server: server.url("results")``; stopped and deleted on exit."""

    def __init__(self, bindir: Path | None = None, user: str = "test"):
        self.bindir = bindir or find_binaries()
        if self.bindir is None:
            raise FileNotFoundError("PostgreSQL's initdb, pg_ctl and postgres were not found")
        self.user = user  # the database's superuser (trust authentication on 127.0.0.1)
        self.root = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: the socket path must stay < 107 chars
        self.data = self.root / "data"
        self.port = 0
        self._run_as: dict = {}
        if os.geteuid() == 0:  # the server refuses root: run it as an unprivileged user owning the folder
            account = _unprivileged_account()
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(self.root, account.pw_uid, account.pw_gid)
        os.chmod(self.root, 0o700)

    # ------------------------------------------------------------------ lifecycle
    def start(self, attempts: int = 3) -> PostgresServer:
        self._call("initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8", "--no-locale",
                   "--no-sync")
        for attempt in range(1, attempts + 1):
            self.port = _free_port()
            try:
                self.start_again()
                return self
            except RuntimeError:
                if attempt == attempts:  # the port may have been taken between our check and the server's bind
                    raise
        return self

    def start_again(self) -> None:
        """Start the server on its data folder and port (after :meth:`stop_fast`, say), waiting until it answers."""
        # Fast and local: no fsync (the data is thrown away), TCP on 127.0.0.1, the socket in our own folder.
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._call("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                   "-w", "-t", "60", "start")

    def stop_fast(self) -> None:
        """Stop the server as an administrator's restart does (``pg_ctl stop -m fast``), keeping its data."""
        self._call("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._call("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop", check=False)
            self._kill_leftover()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ use
    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; return its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # ------------------------------------------------------------------ internals
    def _call(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(self.bindir / program), *args], capture_output=True, text=True, cwd=self.root,
                                env={**os.environ, "LC_ALL": "C", "TZ": "UTC"}, timeout=120, **self._run_as)
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed (exit {result.returncode}): {result.stdout[-2000:]}"
                               f"{result.stderr[-2000:]}\n{self.log()[-2000:]}")
        return result

    def _kill_leftover(self) -> None:
        """Should pg_ctl not have stopped it, end the postmaster by the pid it wrote (its children follow it)."""
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _unprivileged_account() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL as")
