"""A throwaway nginx in front of local upstream ports, configured from compose/nginx.conf.

It runs the *shipped* load-balancer configuration (least_conn, passive health checks
`max_fails=3 fail_timeout=10s`, keepalive to the instances, retries for idempotent requests
only), rewritten only where a local run must differ: the upstream servers become 127.0.0.1
ports, it listens on a free loopback port, and the pid file, logs and temporary files live in
its own directory. `nginx.conf` beside this module is a copy of compose/nginx.conf, so an
installed loadcap has it too; tests/compose/test_nginx_conf.py keeps the two identical.

    lb = NginxServer(require_binary("nginx"), directory, (port1, port2)).start()
    lb.reload((port1, port2, port3))   # a fleet that grew, without dropping the listener
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from pipeline.local_servers.loopback import wait_for_port
from target_service.process import free_port, stop_process

NGINX_CONF = Path(__file__).with_name("nginx.conf")
# The compose upstream line a local configuration replaces with one line per local port.
COMPOSE_UPSTREAM = "server app:8000 max_fails=3 fail_timeout=10s;"
RELOAD_TIMEOUT_S = 10.0


def render_conf(upstream_ports: Sequence[int], *, port: int, directory: Path) -> str:
    """compose/nginx.conf with local upstreams, a loopback listener and paths in `directory`."""
    if not upstream_ports:
        raise ValueError("nginx needs at least one upstream port")
    parameters = COMPOSE_UPSTREAM.removeprefix("server app:8000")
    servers = "\n        ".join(
        f"server 127.0.0.1:{upstream}{parameters}" for upstream in upstream_ports
    )
    temp_paths = "\n    ".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # `$upstream_addr` in the access log says which instance answered each request.
    access_log = (
        "log_format upstreams '$remote_addr $request_method $uri $status $upstream_addr';\n"
        f"    access_log {directory / 'access.log'} upstreams;"
    )
    replacements = {
        "worker_processes auto;": "worker_processes 1;",
        "error_log /dev/stderr warn;": f"error_log {directory / 'error.log'} info;",
        "worker_connections 4096;": "worker_connections 512;",
        "access_log /dev/stdout;": access_log,
        "http {": "http {\n    " + temp_paths,
        COMPOSE_UPSTREAM: servers,
        "listen 80;": f"listen 127.0.0.1:{port};",
    }
    text = NGINX_CONF.read_text(encoding="utf-8")
    for old, new in replacements.items():
        if text.count(old) != 1:
            raise ValueError(f"{NGINX_CONF} no longer has exactly one {old!r}")
        text = text.replace(old, new)
    # As root the workers would otherwise drop to `nobody`, who cannot enter a private
    # temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"{user}pid {directory / 'nginx.pid'};\n{text}"


def check_conf(nginx: str, conf: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a configuration: exit 0 and 'syntax is ok' when it would start."""
    return subprocess.run(
        [nginx, "-t", "-q", "-p", str(conf.parent), "-c", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@dataclass
class NginxServer:
    nginx: str
    directory: Path
    upstream_ports: tuple[int, ...]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    access_log: bool = True  # False: no line per request (a load run's millions)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def conf_path(self) -> Path:
        return self.directory / "nginx.conf"

    def start(self) -> NginxServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_conf()
        command = [self.nginx, "-p", str(self.directory), "-c", str(self.conf_path)]
        with (self.directory / "stderr.log").open("wb") as stderr:
            self.process = subprocess.Popen(
                [*command, "-g", "daemon off;"],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        try:
            wait_for_port(self.port, timeout=10.0)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"nginx did not start:\n{self.error_log()}") from None
        return self

    def reload(self, upstream_ports: Sequence[int]) -> None:
        """New upstreams (SIGHUP: new workers start, the old ones finish their requests);
        returns once every old worker has exited."""
        if self.process is None:
            raise RuntimeError("nginx is not running")
        before = set(self.worker_pids())
        self.upstream_ports = tuple(upstream_ports)
        self._write_conf()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_TIMEOUT_S
        while time.monotonic() < deadline:
            workers = set(self.worker_pids())
            if workers and not workers & before:
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not reload in {RELOAD_TIMEOUT_S:g}s:\n{self.error_log()}")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def pids(self) -> list[int]:
        """The master and its workers (their CPU is nginx's)."""
        return [] if self.process is None else [self.process.pid, *self.worker_pids()]

    def error_log(self) -> str:
        parts = []
        for name in ("stderr.log", "error.log"):
            path = self.directory / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def upstreams_used(self) -> list[str]:
        """`host:port` of the instance that answered each proxied request, in order."""
        return [tried.rsplit(" ", 1)[-1] for tried in self.upstreams_tried()]

    def upstreams_tried(self) -> list[str]:
        """Each proxied request's `$upstream_addr`: `host:port`, or `a, b` when nginx
        tried `a` and passed the request on to `b`."""
        path = self.directory / "access.log"
        lines = path.read_text().splitlines() if path.exists() else []
        # remote_addr method uri status upstream_addr...
        return [line.split(" ", 4)[-1] for line in lines]

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            # SIGTERM (fast shutdown) to the master, whose workers exit with it; SIGKILL to all.
            stop_process(process, group={signal.SIGKILL})

    def _write_conf(self) -> None:
        text = render_conf(self.upstream_ports, port=self.port, directory=self.directory)
        if not self.access_log:
            text = text.replace(
                f"access_log {self.directory / 'access.log'} upstreams;", "access_log off;"
            )
        self.conf_path.write_text(text, encoding="utf-8")
