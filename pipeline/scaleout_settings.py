"""What `loadcap scaleout` was asked (`ScaleoutSettings`, validated on construction, with the
order its points run in) and how `scaleout.json` records it (`record_settings`)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

from loadtests.errors import LoadTestError
from pipeline.cpu_split import MAX_PROCESSES
from rundir import scaleout_json as sj
from target_service.cpu_cap import DEFAULT_PERIOD_US
from target_service.settings import Settings

MAX_INSTANCES = 32
MAX_REPEATS = 10
MAX_DURATION_S = 600.0
RUN_TAIL_S = 2.0  # Locust runs this long past the window, so the window's end is steady load
POINTS_DIR = "points"


@dataclass(frozen=True, kw_only=True)
class ScaleoutSettings:
    """What `loadcap scaleout` was asked; validated on construction."""

    out_dir: Path
    instances: tuple[int, ...] = (1, 2, 3, 4)
    cpu_per_instance: float | None = 0.15  # cores of each instance's cap; None: uncapped
    duration_s: float = 20.0  # the measured window of each point
    warmup_s: float = 4.0
    repeat: int = 1
    users_per_instance: int = 10
    processes: int = 2  # Locust processes
    profiles: int = 1000
    replicas: int = 1  # local topology: GTID replicas of the throwaway master
    db_url: str | None = None
    replica_urls: tuple[str, ...] = ()
    redis_url: str | None = None
    scale_cmd: str | None = None
    host: str | None = None
    metrics_urls: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        counts = self.instances
        if not counts or any(n < 1 for n in counts) or len(set(counts)) != len(counts):
            raise LoadTestError("--instances must be distinct positive whole numbers, e.g. 1,2,3,4")
        if max(counts) > MAX_INSTANCES:
            raise LoadTestError(f"--instances: at most {MAX_INSTANCES} instances")
        if self.cpu_per_instance is not None and not 0 < self.cpu_per_instance <= 64:
            raise LoadTestError(
                "--cpu-per-instance must be a positive number of cores, "
                f"got {self.cpu_per_instance}"
            )
        for flag, value in (("--duration", self.duration_s), ("--warmup", self.warmup_s)):
            if not 0 <= value <= MAX_DURATION_S or math.isnan(value):
                raise LoadTestError(f"{flag} must be between 0 and {MAX_DURATION_S:g} s")
        if self.duration_s < 2:
            raise LoadTestError("--duration must be at least 2s (the measured window)")
        if not 1 <= self.repeat <= MAX_REPEATS:
            raise LoadTestError(f"--repeat must be between 1 and {MAX_REPEATS}")
        if not 1 <= self.users_per_instance <= 1000:
            raise LoadTestError("--users-per-instance must be between 1 and 1000")
        if not 1 <= self.processes <= MAX_PROCESSES:
            raise LoadTestError(f"--processes must be between 1 and {MAX_PROCESSES}")
        if not 0 <= self.replicas <= 3:
            raise LoadTestError("--replicas (local topology) must be between 0 and 3")
        self._check_fleet_flags()

    def _check_fleet_flags(self) -> None:
        if self.scale_cmd is not None:
            if "{n}" not in self.scale_cmd:
                raise LoadTestError("--scale-cmd must contain {n}, the instance count")
            if self.host is None or not self.metrics_urls:
                raise LoadTestError(
                    "--scale-cmd needs --host (the load balancer) and --metrics-url "
                    "(each instance's /metrics, comma-separated)"
                )
            if self.db_url or self.replica_urls or self.redis_url:
                raise LoadTestError(
                    "--db/--replica/--redis configure the local fleet, not --scale-cmd's"
                )
            return
        if self.host is not None or self.metrics_urls:
            raise LoadTestError("--host and --metrics-url go with --scale-cmd (a real fleet)")
        if (self.replica_urls or self.redis_url) and self.db_url is None:
            raise LoadTestError(
                "--replica and --redis need --db mysql://... (or none of the three)"
            )
        if self.db_url is not None and not self.db_url.startswith("mysql://"):
            raise LoadTestError("--db must be a mysql:// URL: a fleet shares one database")

    @property
    def schedule(self) -> list[tuple[int, int]]:
        """(instances, repeat index) in the order measured: serpentine over the repeats."""
        ordered = sorted(self.instances)
        return [
            (n, k) for k in range(self.repeat) for n in (ordered if k % 2 == 0 else ordered[::-1])
        ]


def cfs_period_us(settings: ScaleoutSettings) -> int | None:
    return DEFAULT_PERIOD_US if settings.cpu_per_instance is not None else None


def record_settings(settings: ScaleoutSettings) -> sj.ScaleoutSettings:
    from importlib import metadata

    local = settings.scale_cmd is None
    return sj.ScaleoutSettings(
        instances=sorted(settings.instances),
        cpu_per_instance=settings.cpu_per_instance,
        cfs_period_us=cfs_period_us(settings) if local else None,
        duration_s=settings.duration_s,
        warmup_s=settings.warmup_s,
        repeat=settings.repeat,
        users_per_instance=settings.users_per_instance,
        pool_size=Settings.from_env().pool_size if local else None,
        service_env=_service_env() if local else {},
        topology="local" if local else "scale_cmd",
        replicas=(len(settings.replica_urls) if settings.db_url else settings.replicas)
        if local
        else 0,
        redis=settings.redis_url is not None or (local and settings.db_url is None),
        scale_cmd=settings.scale_cmd,
        host=settings.host,
        loadcap_version=metadata.version("loadcap"),
        machine_cpus=os.cpu_count(),
        cpu_model=_cpu_model(),
    )


def _service_env() -> dict[str, str]:
    """The LOADCAP_* variables the local instances took from loadcap's environment (the
    servers', rate limit and log level excepted: the fleet sets those)."""
    fleet_sets = {"DB_URL", "REPLICA_URLS", "REDIS_URL", "RATE_LIMIT", "LOG_LEVEL", "PORT"}
    return {
        name: ("(set)" if name.endswith("_SECRET") else value)
        for name, value in sorted(os.environ.items())
        if name.startswith("LOADCAP_")
        and name.removeprefix("LOADCAP_") not in fleet_sets
        and name.removeprefix("LOADCAP_").lower() in {f.name for f in fields(Settings)}
    }


def _cpu_model() -> str | None:
    """The machine's CPU as /proc/cpuinfo names it (Linux), for comparing runs."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else None
