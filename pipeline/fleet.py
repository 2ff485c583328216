"""A fleet of service instances behind one load balancer, scaled to N on demand.

`LocalFleet`: N `ServiceProcess`es (each in a CPU cap of its own) on the shared MariaDB master
+ replicas + Redis, behind one nginx (compose/nginx.conf) reloaded with N upstreams.
`CommandFleet`: a real fleet scaled by the user's command (`kubectl scale deploy/profiles
--replicas={n}`), with its load balancer at `host` and each instance's /metrics given.
Either is ready at N when /health through the load balancer has answered from N distinct
instances (`instance` in its body).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

import httpx

from loadtests.errors import LoadTestError
from pipeline.local_servers.loopback import require_binary
from pipeline.local_servers.nginx import NginxServer
from target_service.process import ServiceProcess, ServiceStartError
from target_service.settings import Settings

READY_TIMEOUT_S = 120.0
SCALE_CMD_TIMEOUT_S = 600.0
INSTANCE_START_TIMEOUT_S = 120.0  # a capped instance imports its code at a fraction of a core


class FleetError(LoadTestError):
    """The fleet could not be scaled or did not become ready; the message says why."""


class Fleet(Protocol):
    """What a scale-out measurement needs of a fleet."""

    @property
    def host(self) -> str: ...  # the load balancer's base URL

    def scale(self, n: int) -> None: ...

    def wait_ready(self, n: int, *, timeout_s: float = READY_TIMEOUT_S) -> None: ...

    def metrics_urls(self) -> list[str]: ...  # every instance's /metrics

    def pids_by_tier(self) -> dict[str, list[int]]: ...  # local processes, for /proc CPU

    def throttling(self) -> tuple[int, float] | None: ...  # (nr_throttled, s), all caps

    def close(self) -> None: ...


def wait_for_instances(host: str, n: int, *, timeout_s: float = READY_TIMEOUT_S) -> set[str]:
    """Ask /health through the load balancer until N distinct instances have answered
    healthy (or degraded); FleetError after `timeout_s`."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            try:
                response = client.get(host.rstrip("/") + "/health")
                if response.status_code == 200:
                    instance = response.json().get("instance")
                    if isinstance(instance, str):
                        seen.add(instance)
            except (httpx.HTTPError, ValueError):
                time.sleep(0.2)
            if len(seen) >= n:
                return seen
            time.sleep(0.01)
    raise FleetError(
        f"only {len(seen)} of {n} instances answered /health through {host} within "
        f"{timeout_s:g}s (each instance names itself in /health's `instance`)"
    )


class LocalFleet:
    """N capped instances of the reference service behind one local nginx."""

    def __init__(
        self,
        service: Settings,
        *,
        work: Path,
        cpus: float | None,
        profiles: int,
        shared_pids: Mapping[str, Sequence[int]] | None = None,
    ) -> None:
        self.service = service
        self.cpus = cpus
        self.profiles = profiles
        self.work = work
        self.shared_pids = dict(shared_pids or {})
        self.instances: list[ServiceProcess] = []
        self.nginx: NginxServer | None = None
        self._nginx_binary = require_binary("nginx", "/usr/sbin/nginx")

    @property
    def host(self) -> str:
        if self.nginx is None:
            raise FleetError("the fleet has no instance yet")
        return self.nginx.base_url

    def scale(self, n: int) -> None:
        while len(self.instances) > n:
            self.instances.pop().stop()
        missing = n - len(self.instances)
        if missing > 0 and not self.instances:
            self._start(1)  # the first seeds the database; the others find it seeded
            missing -= 1
        if missing > 0:
            self._start(missing)
        ports = tuple(instance.port for instance in self.instances)
        if self.nginx is None:
            self.nginx = NginxServer(
                self._nginx_binary, self.work / "nginx", ports, access_log=False
            ).start()
        else:
            self.nginx.reload(ports)

    def wait_ready(self, n: int, *, timeout_s: float = READY_TIMEOUT_S) -> None:
        wait_for_instances(self.host, n, timeout_s=timeout_s)

    def metrics_urls(self) -> list[str]:
        return [instance.base_url + "/metrics" for instance in self.instances]

    def pids_by_tier(self) -> dict[str, list[int]]:
        pids = {"instances": [i.pid for i in self.instances if i.pid is not None]}
        pids["nginx"] = self.nginx.pids() if self.nginx is not None else []
        return pids | {tier: list(found) for tier, found in self.shared_pids.items()}

    def throttling(self) -> tuple[int, float] | None:
        """The instances' CFS throttling so far, summed over their caps (None uncapped)."""
        caps = [cap for i in self.instances if (cap := getattr(i, "cap", None)) is not None]
        if not caps:
            return None
        readings = [cap.throttling() for cap in caps]
        return sum(r.nr_throttled for r in readings), sum(r.throttled_s for r in readings)

    def close(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
            self.nginx = None
        while self.instances:
            self.instances.pop().stop()

    def _start(self, count: int) -> None:
        made = [
            ServiceProcess(
                self.service,
                profiles=self.profiles,
                startup_timeout_s=INSTANCE_START_TIMEOUT_S,
                cpus=self.cpus,
            )
            for _ in range(count)
        ]
        self.instances += made  # stopped by close() whatever happens next
        with ThreadPoolExecutor(max_workers=count) as pool:
            failures = [f for f in pool.map(_start_instance, made) if f is not None]
        if failures:
            raise FleetError(f"an instance did not start: {failures[0]}")


def _start_instance(instance: ServiceProcess) -> str | None:
    try:
        instance.start()
    except ServiceStartError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return lines[-1] if lines else "no output"
    return None


class CommandFleet:
    """A fleet the user's own command scales; loadcap only waits for it and measures."""

    def __init__(self, scale_cmd: str, *, host: str, metrics_urls: Sequence[str]) -> None:
        if "{n}" not in scale_cmd:
            raise FleetError("--scale-cmd must contain {n}, the instance count to scale to")
        self.scale_cmd = scale_cmd
        self._host = host
        self._metrics_urls = list(metrics_urls)

    @property
    def host(self) -> str:
        return self._host

    def scale(self, n: int) -> None:
        command = self.scale_cmd.replace("{n}", str(n))
        try:
            # The user's own command line, run as their shell would (pipes, `&&`, variables).
            done = subprocess.run(  # noqa: S602
                command, shell=True, capture_output=True, text=True, timeout=SCALE_CMD_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            raise FleetError(f"{command!r} did not finish in {SCALE_CMD_TIMEOUT_S:g}s") from None
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise FleetError(f"{command!r} exited {done.returncode}: {tail[0]}")

    def wait_ready(self, n: int, *, timeout_s: float = READY_TIMEOUT_S) -> None:
        wait_for_instances(self.host, n, timeout_s=timeout_s)

    def metrics_urls(self) -> list[str]:
        return list(self._metrics_urls)

    def pids_by_tier(self) -> dict[str, list[int]]:
        return {}  # the fleet runs elsewhere: its CPU comes from each instance's /metrics

    def throttling(self) -> tuple[int, float] | None:
        return None

    def close(self) -> None:
        pass
