"""A throwaway PostgreSQL server of a test's own, which the test may stop and restart at will.

Fault tests must never stop the shared server on 5432 (other tests use it), so they start
their own: `initdb` into a fresh directory, a free loopback port, the Unix socket inside that
directory. PostgreSQL refuses to run as root, so as root the commands run as the `postgres`
OS user (CI runs as root on Debian, where that user comes with the server package).
"""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.fakes.smtp import free_port

SERVER_OS_USER = "postgres"
SUPERUSER = "postgres"


def server_bin_dir():
    """Debian's newest /usr/lib/postgresql/<version>/bin, else wherever initdb is on PATH."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    if versions:
        return Path(versions[-1])
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def why_unavailable():
    """None when a cluster of our own can be started here, else the reason it cannot."""
    bin_dir = server_bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists() or not (bin_dir / "pg_ctl").exists():
        return "initdb and pg_ctl are not installed"
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            return "running as root without runuser, and initdb refuses root"
        try:
            pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_OS_USER!r} OS user to run the server"
    return None


def require_own_cluster():
    """Skip (fail in CI) where no cluster of our own can be started."""
    reason = why_unavailable()
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true but a throwaway PostgreSQL cannot be started: {reason}")
        pytest.skip(f"no throwaway PostgreSQL: {reason}")


class PostgresCluster:
    """`with PostgresCluster() as cluster:` a running server, where `cluster.create_database(name)`
    returns a new database's URL; `cluster.restart()` takes the server down and up again;
    leaving the block removes it entirely."""

    def __init__(self):
        self.bin_dir = server_bin_dir()
        self.port = free_port()

    def __enter__(self):
        self.root = Path(tempfile.mkdtemp(prefix="lectern-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        try:
            if os.geteuid() == 0:
                server_user = pwd.getpwnam(SERVER_OS_USER)
                os.chown(self.root, server_user.pw_uid, server_user.pw_gid)
            self._run("initdb", "--pgdata", self.data_dir, "--username", SUPERUSER,
                      "--auth", "trust", "--encoding", "UTF8", "--no-locale", "--no-sync")
            with open(self.data_dir / "postgresql.conf", "a") as conf:
                conf.write(f"port = {self.port}\n"
                           "listen_addresses = '127.0.0.1'\n"
                           f"unix_socket_directories = '{self.root}'\n")
            self.start()
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.is_running():  # a test may have left it stopped
                self.stop(mode="immediate")
        finally:
            self._remove()

    def url(self, database):
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name):
        self._run("createdb", "--host", self.root, "--port", self.port, "--username", SUPERUSER, name)
        return self.url(name)

    def start(self):
        self._run("pg_ctl", "start", "--pgdata", self.data_dir, "--log", self.log_file, "--wait")

    def stop(self, mode="fast"):
        """fast: roll back open transactions and close every connection, as a service restart
        does; immediate: like a crash, the next start recovers from the WAL."""
        self._run("pg_ctl", "stop", "--pgdata", self.data_dir, "--mode", mode, "--wait")

    def is_running(self):
        return self._run("pg_ctl", "status", "--pgdata", self.data_dir, check=False) == 0

    def restart(self, downtime=2.0):
        """Stop, stay down for `downtime` seconds (so clients meet a refused port), start."""
        self.stop()
        time.sleep(downtime)
        self.start()

    def _run(self, program, *args, check=True):
        command = [str(self.bin_dir / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_OS_USER, "--", *command]
        # cwd: the server's OS user may not be allowed into the checkout.
        result = subprocess.run(command, cwd=self.root, capture_output=True, text=True)
        if check and result.returncode:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(f"{program} failed: {result.stderr.strip()}\n{log[-2000:]}")
        return result.returncode

    def _remove(self):
        shutil.rmtree(self.root, ignore_errors=True)
