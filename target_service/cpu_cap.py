"""`CpuCap`: a cgroup of its own with a CPU quota, so one service instance is a small machine.

    with CpuCap.create(0.25) as cap:          # a quota of 0.25 of a core
        cap.add(process.pid)                  # it and the children it forks from now on
        ...
        cap.throttling()                      # periods, throttled periods, throttled seconds

The quota is CFS bandwidth control: cgroup v2 `cpu.max` where the unified hierarchy has the
cpu controller, else cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`. Caps live under a
`loadcap/` parent, one per `CpuCap`, named `<pid>-<n>[-<name>]` so parallel runs never share
one; an empty cap whose creator is gone is removed by the next `create`.

A cap is a small machine, not a slow one: within each period p the group runs at full speed
until it has used its quota q = cores * p, then it stalls until the period ends, up to p - q.
With the kernel's default p = 100 ms, a 0.25-core instance stalls up to 75 ms, longer than
the service's 50 ms Redis timeout. The default here is p = 10 ms (stalls under 9 ms); the
measurement behind that choice is in docs/capacity.md, "The CFS period". The kernel's
smallest quota is 1 ms, so a short period cannot express a small cap (5 ms: nothing under
0.2 of a core); for the same reason a cap under 0.1 of a core gets the shortest period whose
quota is 1 ms.

The quota is a ceiling; a weight ten times the default (`cpu.shares` / `cpu.weight`, on the
cap and on `loadcap/`) is the floor: on a machine busy with other programs the capped service
still gets its quota whenever it has work, as a Kubernetes container whose CPU request
equals its limit does. A cap is a small machine of its own, neither more nor less.

`current_cap()` reads the quota that binds the calling process, whoever set it (loadcap,
Kubernetes CPU limits, `docker --cpus`): the service exports it in /metrics.

Where no cap can be made, `CpuCapError` says why (no cpu controller, not writable, not root);
a caller refuses to run rather than run uncapped.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import math
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Literal

from rundir.errors import LoadcapError
from target_service.cgroup_quota import (
    CgroupQuota,
    Throttling,
    cgroup_of,
    current_cap,
    parse_cpu_stat,
)

__all__ = [
    "CGROUP_ROOT",
    "PARENT",
    "CgroupQuota",
    "CpuCap",
    "CpuCapError",
    "Throttling",
    "capped_here",
    "current_cap",
    "parse_cpu_stat",
    "period_for",
    "remove_stale",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "loadcap"
DEFAULT_PERIOD_US = 10_000
# The kernel refuses a quota under 1 ms and a period outside 1 ms .. 1 s.
MIN_QUOTA_US = 1_000
MIN_PERIOD_US = 1_000
MAX_PERIOD_US = 1_000_000
REMOVE_TIMEOUT_S = 5.0
# Ten times the default weight (v1 cpu.shares 1024, v2 cpu.weight 100), on the cap and on
# loadcap/: a capped service gets its quota whenever it wants it, however busy the machine.
V1_SHARES = 10 * 1024
V2_WEIGHT = 10 * 100
REMOVE_AFTER_EXIT_S = 30

_counter = itertools.count(1)


class CpuCapError(LoadcapError):
    """No CPU cap can be made or removed here; the message says why."""


class CpuCap:
    """A cgroup loadcap created with a CPU quota; `remove()` (or leaving the `with`) deletes
    it once its processes have ended."""

    def __init__(self, quota: CgroupQuota) -> None:
        self.quota = quota
        self._origins: dict[int, Path] = {}  # where each added process was before

    def __repr__(self) -> str:
        return f"CpuCap(cores={self.cores:g}, period_us={self.period_us}, path={str(self.path)!r})"

    @property
    def cores(self) -> float:
        return self.quota.cores

    @property
    def period_us(self) -> int:
        return self.quota.period_us

    @property
    def path(self) -> Path:
        return self.quota.path

    @classmethod
    def create(
        cls,
        cores: float,
        *,
        name: str | None = None,
        period_us: int | None = None,
        root: Path | None = None,
    ) -> CpuCap:
        """A new cap of `cores` (0.25 = a quarter of one core; 2 = two cores) under
        `root/…/loadcap/` (root None: CGROUP_ROOT, looked up at the call). `period_us` None:
        DEFAULT_PERIOD_US, lengthened for caps under 0.1 core so the quota is the kernel's
        1 ms minimum. Raises CpuCapError."""
        if not (cores > 0 and math.isfinite(cores)):
            raise CpuCapError(f"a CPU cap must be a positive number of cores, not {cores!r}")
        machine = os.cpu_count() or 1
        if cores > machine:
            # A quota above the machine's CPUs never binds: the run would be uncapped.
            raise CpuCapError(
                f"a CPU cap of {cores:g} cores is more than the {machine} CPUs this machine has"
            )
        period = period_for(cores, period_us)
        quota_us = round(cores * period)
        version, hierarchy = _cpu_hierarchy(CGROUP_ROOT if root is None else root)
        parent = hierarchy / PARENT
        label = f"{os.getpid()}-{next(_counter)}" + (f"-{name}" if name else "")
        path = parent / label
        try:
            _make_parent(parent, version)
            remove_stale(parent)
            path.mkdir()
        except OSError as exc:
            raise CpuCapError(_cannot(f"create a cgroup under {parent}", exc)) from exc
        control = "cpu.max" if version == 2 else "cpu.cfs_quota_us"
        if not (path / control).exists():
            _rmdir_quietly(path)
            raise CpuCapError(f"{parent} is not a cgroup file system: mkdir made no {control}")
        try:
            if version == 2:
                (path / "cpu.max").write_text(f"{quota_us} {period}")
            else:
                (path / "cpu.cfs_period_us").write_text(str(period))
                (path / "cpu.cfs_quota_us").write_text(str(quota_us))
            for group in (parent, path):
                _set_weight(group, version)
        except OSError as exc:
            _rmdir_quietly(path)
            raise CpuCapError(_cannot(f"set the CPU quota of {path}", exc)) from exc
        quota = CgroupQuota.read(path, version)
        if quota is None:
            _rmdir_quietly(path)
            raise CpuCapError(f"{path} does not hold the quota written to it")
        return cls(quota)

    def add(self, pid: int) -> None:
        """Moves process `pid` (all its threads) into the cap; what it forks later starts
        there. Raises CpuCapError."""
        origin = cgroup_of(pid, self.quota.version)
        try:
            (self.path / "cgroup.procs").write_text(str(pid))
        except OSError as exc:
            raise CpuCapError(_cannot(f"move pid {pid} into {self.path}", exc)) from exc
        if origin is not None:
            self._origins[pid] = origin

    def release(self, pid: int) -> None:
        """Moves a process `add` put here back to the cgroup it was in (a process cannot
        remove the cap it runs in). Nothing for a process that has ended."""
        origin = self._origins.pop(pid, None)
        if origin is None:
            raise CpuCapError(f"pid {pid} was not added to {self.path}: nowhere to move it back")
        try:
            (origin / "cgroup.procs").write_text(str(pid))
        except ProcessLookupError:
            pass
        except OSError as exc:
            raise CpuCapError(_cannot(f"move pid {pid} back to {origin}", exc)) from exc

    def pids(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except FileNotFoundError:
            return []
        return [int(pid) for pid in text.split()]

    def throttling(self) -> Throttling:
        return self.quota.throttling()

    def remove(self, timeout_s: float = REMOVE_TIMEOUT_S) -> None:
        """Deletes the cgroup once no process is left in it, waiting up to `timeout_s` for
        ending ones. Live processes are not moved out: CpuCapError names them instead."""
        deadline = time.monotonic() + timeout_s
        while (pids := self.pids()) and time.monotonic() < deadline:
            time.sleep(0.02)
        if pids:
            raise CpuCapError(f"cgroup {self.path} still holds pids {pids}; not removed")
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise CpuCapError(_cannot(f"remove {self.path}", exc)) from exc

    def __enter__(self) -> CpuCap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.remove()


@contextlib.contextmanager
def capped_here(cores: float | CpuCap, *, name: str | None = None) -> Iterator[CpuCap]:
    """This process, and every process it forks from now on, inside a new cap of `cores`
    (or inside `cores`, a cap made earlier) for the block; then back in its own cgroup, and
    the cap removed once its children have ended.

    A child that ends only with this process (multiprocessing's resource tracker, which
    uvicorn's workers start) would keep the cap alive forever if this process waited for it:
    a small shell outside the cap removes it once those children have gone."""
    cap = cores if isinstance(cores, CpuCap) else CpuCap.create(cores, name=name)
    pid = os.getpid()
    try:
        cap.add(pid)
        yield cap
    finally:
        with contextlib.suppress(CpuCapError):  # not added: nothing to move back
            cap.release(pid)
        left = cap.pids()
        if left and all(_parent_of(child) == pid for child in left):
            _remove_after_exit(cap.path)
        else:
            cap.remove()


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _remove_after_exit(path: Path, within_s: int = REMOVE_AFTER_EXIT_S) -> None:
    """rmdir `path` as soon as it is empty (the kernel refuses while it is not), from a
    shell that outlives this process by up to `within_s` seconds."""
    script = (
        'i=0; while [ $i -lt "$1" ] && ! rmdir "$0" 2>/dev/null; do sleep 0.1; i=$((i+1)); done'
    )
    subprocess.Popen(
        ["/bin/sh", "-c", script, str(path), str(within_s * 10)],
        start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip


def remove_stale(parent: Path) -> None:
    """Removes the empty caps under `parent` whose creating process has ended."""
    try:
        children = [child for child in parent.iterdir() if child.is_dir()]
    except OSError:
        return
    for child in children:
        creator = child.name.split("-", 1)[0]
        if creator.isdigit() and not _alive(int(creator)):
            _rmdir_quietly(child)  # EBUSY while it still holds processes: kept


def period_for(cores: float, period_us: int | None = None) -> int:
    """The CFS period a cap of `cores` gets: `period_us`, or the default rule."""
    if period_us is None:
        return max(DEFAULT_PERIOD_US, math.ceil(MIN_QUOTA_US / cores))
    if not MIN_PERIOD_US <= period_us <= MAX_PERIOD_US:
        raise CpuCapError(f"a CFS period must be 1000..1000000 us, not {period_us}")
    if cores * period_us < MIN_QUOTA_US:
        shortest_ms = math.ceil(MIN_QUOTA_US / cores) / 1000
        raise CpuCapError(
            f"{cores:g} cores per {period_us / 1000:g} ms period is a quota under the kernel's "
            f"1 ms minimum; use a period of at least {shortest_ms:g} ms"
        )
    return period_us


def _cpu_hierarchy(root: Path) -> tuple[Literal[1, 2], Path]:
    """Where this machine's cpu controller can be used: the unified hierarchy (v2) if it has
    the controller, else the v1 cpu hierarchy."""
    for unified in (root, root / "unified"):
        try:
            controllers = (unified / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if "cpu" in controllers:
            return 2, unified
    for name in ("cpu", "cpu,cpuacct"):
        if (root / name / "cpu.cfs_quota_us").exists():
            return 1, root / name
    raise CpuCapError(
        f"no cgroup cpu controller under {root} (neither cgroup v2 with 'cpu' in "
        "cgroup.controllers nor a v1 cpu hierarchy): a CPU cap needs one"
    )


def _make_parent(parent: Path, version: Literal[1, 2]) -> None:
    if version == 2:
        # v2 hands the cpu controller down one level at a time: to loadcap/, then its children.
        _enable_cpu(parent.parent)
    parent.mkdir(exist_ok=True)
    if version == 2:
        _enable_cpu(parent)


def _set_weight(cgroup: Path, version: Literal[1, 2]) -> None:
    if version == 2:
        (cgroup / "cpu.weight").write_text(str(V2_WEIGHT))
    else:
        (cgroup / "cpu.shares").write_text(str(V1_SHARES))


def _enable_cpu(cgroup: Path) -> None:
    control = cgroup / "cgroup.subtree_control"
    if "cpu" not in control.read_text().split():
        control.write_text("+cpu")


def _cannot(what: str, exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0:
        reason += f" (running as uid {os.geteuid()}; a cap needs root or a delegated cgroup)"
    elif exc.errno == errno.EROFS:
        reason += " (the cgroup file system is mounted read-only here, as in most containers)"
    return f"cannot {what}: {reason}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _rmdir_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.rmdir()
