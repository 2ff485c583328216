"""Throwaway MariaDB servers: a standalone server, or a master with GTID replicas.

Each server is a `mariadbd --no-defaults` process on a free loopback port with its own datadir;
the machine's own MariaDB (port 3306, /etc/mysql) is never touched. `initialise_datadir` runs
`mariadb-install-db` once into a template datadir that every server copies, so a server starts
in well under a second. Durability against an OS crash is traded for speed (the data is thrown
away); a killed server loses nothing.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from pipeline.local_servers.loopback import LoopbackServer, require_binary, wait_for_port
from target_service.process import stop_process

DATABASE = "loadcap"  # never `test`: Debian's anonymous-user grants apply to test%
_SQL_TIMEOUT_S = 30.0


class MariaDBServer(LoopbackServer):
    """One mariadbd process with its own datadir; `.url` points at the `loadcap` database."""

    log_name = "mariadbd.log"

    def __init__(self, *, name: str, template: Path, workdir: Path, server_id: int) -> None:
        super().__init__(workdir)
        self.name = name
        self.server_id = server_id
        self.datadir = workdir / "data"
        shutil.copytree(template, self.datadir)
        self.extra_args: list[str] = []

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> None:
        if self.running:
            return
        self._launch(
            [
                _mariadbd(),
                "--no-defaults",
                *_run_as_root_args(),
                f"--datadir={self.datadir}",
                f"--socket={self.workdir / 'mariadbd.sock'}",
                f"--pid-file={self.workdir / 'mariadbd.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--log-basename=mariadb",
                "--log-bin",
                f"--server-id={self.server_id}",
                "--gtid-strict-mode=1",
                "--binlog-format=ROW",
                # Throwaway data: trade durability for speed, but only against an OS crash.
                # With 2 every commit reaches the OS's page cache, so a killed mariadbd (the
                # fault tests' crash) loses nothing it binlogged, as with MariaDB's default 1;
                # with 0 it lost up to a second of commits its replicas had already applied,
                # and they then refused the master's next writes (duplicate keys).
                "--innodb-buffer-pool-size=128M",
                "--innodb-log-file-size=8M",
                "--innodb-flush-log-at-trx-commit=2",
                "--innodb-doublewrite=0",
                "--sync-binlog=0",
                "--performance-schema=OFF",
                "--max-connections=500",
                *self.extra_args,
            ]
        )
        try:
            wait_for_port(self.port, timeout=30.0)
            self._wait_ready()
        except Exception:
            self.stop()
            raise

    def stop(self, *, kill: bool = False) -> None:
        """Stop the process (SIGTERM, or SIGKILL with kill=True, as a crash would)."""
        process, self._process = self._process, None
        if process is not None:
            first = signal.SIGKILL if kill else signal.SIGTERM
            stop_process(process, signals=((first, 20.0), (signal.SIGKILL, 10.0)))

    def sql(
        self, statement: str, *, database: str | None = None, column_names: bool = False
    ) -> list[list[str]]:
        """Run SQL through the `mariadb` client; rows as lists of strings (NULL as "NULL")."""
        args = [_client(), "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", "-B"]
        if not column_names:
            args.append("-N")
        if database:
            args.append(f"-D{database}")
        done = subprocess.run(
            [*args, "-e", statement], capture_output=True, text=True, timeout=_SQL_TIMEOUT_S
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.name}: {statement!r} failed: {done.stderr.strip()}")
        return [line.split("\t") for line in done.stdout.splitlines()]

    def reset(self) -> None:
        """Drop and recreate the `loadcap` database (on a master, replicas follow)."""
        self.sql(
            f"DROP DATABASE IF EXISTS {DATABASE}; "
            f"CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30.0
        while True:
            try:
                self.sql("SELECT 1")
                return
            except RuntimeError:
                if time.monotonic() > deadline or not self.running:
                    raise
                time.sleep(0.05)


class MariaDBCluster:
    """A master and GTID replicas, set up by the fixture; replica methods take an index."""

    def __init__(self, master: MariaDBServer, *replicas: MariaDBServer) -> None:
        self.master = master
        self.replicas = list(replicas)
        for replica in self.replicas:
            replica.extra_args = ["--read-only"]

    @property
    def master_url(self) -> str:
        return self.master.url

    @property
    def replica_urls(self) -> tuple[str, ...]:
        return tuple(replica.url for replica in self.replicas)

    def start(self) -> None:
        self.master.start()
        for replica in self.replicas:
            replica.start()
            # The replica must not write anything of its own before this point: GTIDs of its
            # own would make the master (gtid-strict-mode) refuse it.
            replica.sql(
                "CHANGE MASTER TO MASTER_HOST='127.0.0.1', "
                f"MASTER_PORT={self.master.port}, MASTER_USER='root', MASTER_PASSWORD='', "
                "MASTER_CONNECT_RETRY=1, MASTER_USE_GTID=slave_pos; START REPLICA"
            )

    def stop(self) -> None:
        for replica in self.replicas:
            replica.stop()
        self.master.stop()

    def pause_replication(self, index: int = 0) -> None:
        """Stop applying events: the replica keeps serving the data it has, growing stale."""
        self.replicas[index].sql("STOP REPLICA SQL_THREAD")

    def resume_replication(self, index: int = 0) -> None:
        self.replicas[index].sql("START REPLICA")

    def set_delay(self, seconds: int, index: int = 0) -> None:
        """Delayed replication (MASTER_DELAY): a real, measurable lag on the replica."""
        self.replicas[index].sql(
            f"STOP REPLICA; CHANGE MASTER TO MASTER_DELAY={int(seconds)}; START REPLICA"
        )

    def set_connect_retry(self, seconds: int, index: int = 0) -> None:
        """MASTER_CONNECT_RETRY: MariaDB's default is 60 s, the fixture's 1 s."""
        self.replicas[index].sql(
            f"STOP REPLICA; CHANGE MASTER TO MASTER_CONNECT_RETRY={int(seconds)}; START REPLICA"
        )

    def stop_replica(self, index: int = 0) -> None:
        self.replicas[index].stop(kill=True)

    def start_replica(self, index: int = 0) -> None:
        self.replicas[index].start()  # replication restarts by itself from the saved position

    def replication_status(self, index: int = 0) -> dict[str, str]:
        """SHOW REPLICA STATUS as column -> value ({} when replication is not configured)."""
        rows = self.replicas[index].sql("SHOW REPLICA STATUS", column_names=True)
        return dict(zip(rows[0], rows[1], strict=True)) if len(rows) > 1 else {}

    def wait_synced(self, timeout: float = 20.0) -> None:
        """Block until every running replica has applied everything the master binlogged."""
        position = self.master.sql("SELECT @@gtid_binlog_pos")[0][0]
        for replica in self.replicas:
            if not replica.running:
                continue
            waited = replica.sql(f"SELECT MASTER_GTID_WAIT('{position}', {timeout})")[0][0]
            if waited != "0":
                raise TimeoutError(f"{replica.name} not synced to {position} after {timeout}s")

    def reset(self) -> None:
        """Back to a clean, running, synced set with an empty `loadcap` database."""
        self.master.start()  # no-ops when running
        for replica in self.replicas:
            replica.start()
            replica.sql(
                "STOP REPLICA; CHANGE MASTER TO MASTER_DELAY=0, MASTER_CONNECT_RETRY=1; "
                "START REPLICA"
            )
        self.master.reset()
        self.wait_synced()


class MariaDBPair(MariaDBCluster):
    """A master and one GTID replica."""

    def __init__(self, master: MariaDBServer, replica: MariaDBServer) -> None:
        super().__init__(master, replica)

    @property
    def replica(self) -> MariaDBServer:
        return self.replicas[0]

    @property
    def replica_url(self) -> str:
        return self.replica.url


def _mariadbd() -> str:
    return require_binary("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld")


def _client() -> str:
    return require_binary("mariadb", "mysql")


def _run_as_root_args() -> list[str]:
    # mariadbd refuses to run as root unless told to; the datadir is ours either way.
    return ["--user=root"] if os.geteuid() == 0 else []


def initialise_datadir(datadir: Path) -> None:
    """`mariadb-install-db` into `datadir`: root@127.0.0.1 without a password, no test db."""
    install = require_binary("mariadb-install-db", "mysql_install_db")
    done = subprocess.run(
        [
            install,
            "--no-defaults",
            *_run_as_root_args(),
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            "--skip-name-resolve",
            "--innodb-log-file-size=8M",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {done.stderr.strip()[-2000:]}")


CLUSTER_NAMES = ("master", "replica0", "replica1", "replica2")  # the seed's topology


def servers(
    template: Path, root: Path, names: tuple[str, ...], *, first_id: int
) -> list[MariaDBServer]:
    """One server per name, each in its own directory under `root`, ids counting up."""
    made = []
    for index, name in enumerate(names):
        (root / name).mkdir()
        made.append(
            MariaDBServer(
                name=name, template=template, workdir=root / name, server_id=first_id + index
            )
        )
    return made
