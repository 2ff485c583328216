"""Reading a cgroup's CPU quota and CFS throttling, whoever set them.

`current_cap()` finds the quota that binds the calling process: it reads /proc/self/cgroup
(cgroup v1 `cpu` or v2 unified), maps each membership to a directory through
/proc/self/mountinfo (a container sees its own cgroup as the mount's root), and walks up to
the mount, keeping the tightest quota: a Kubernetes CPU limit sits on the container or the
pod, `docker --cpus` on the container, loadcap's on its own cap. `cpu.stat` then says how
often the group was throttled (`Throttling`), in v1's and v2's field names alike.

`cpu_cap.CpuCap` makes such cgroups; this module only reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class Throttling:
    """CFS bandwidth counters from `cpu.stat`: periods with runnable tasks, periods in which
    the group hit its quota and was stalled, and the total time it spent stalled."""

    nr_periods: int
    nr_throttled: int
    throttled_s: float

    def __sub__(self, earlier: Throttling) -> Throttling:
        return Throttling(
            self.nr_periods - earlier.nr_periods,
            self.nr_throttled - earlier.nr_throttled,
            self.throttled_s - earlier.throttled_s,
        )

    @property
    def throttled_share(self) -> float | None:
        """Throttled periods / periods; None when no period ran."""
        return self.nr_throttled / self.nr_periods if self.nr_periods else None


def parse_cpu_stat(text: str) -> Throttling:
    """v1 says `throttled_time` in ns, v2 `throttled_usec`.

    >>> parse_cpu_stat("nr_periods 10\\nnr_throttled 4\\nthrottled_time 2500000000\\n")
    Throttling(nr_periods=10, nr_throttled=4, throttled_s=2.5)
    >>> parse_cpu_stat("usage_usec 9\\nnr_periods 3\\nnr_throttled 1\\nthrottled_usec 1500\\n")
    Throttling(nr_periods=3, nr_throttled=1, throttled_s=0.0015)
    """
    fields = dict(line.split(maxsplit=1) for line in text.splitlines() if " " in line)
    if "throttled_usec" in fields:
        throttled_s = int(fields["throttled_usec"]) / 1e6
    else:
        throttled_s = int(fields.get("throttled_time", "0")) / 1e9
    return Throttling(
        int(fields.get("nr_periods", "0")), int(fields.get("nr_throttled", "0")), throttled_s
    )


@dataclass(frozen=True)
class CgroupQuota:
    """One cgroup's CPU quota, read from its files: `cores` of CPU time per `period_us`."""

    path: Path
    version: Literal[1, 2]
    cores: float
    period_us: int

    def throttling(self) -> Throttling:
        return parse_cpu_stat((self.path / "cpu.stat").read_text())

    @classmethod
    def read(cls, path: Path, version: Literal[1, 2]) -> CgroupQuota | None:
        """The quota set on the cgroup at `path`; None when it has none or no cpu files."""
        try:
            if version == 2:
                quota, period = (path / "cpu.max").read_text().split()
            else:
                quota = (path / "cpu.cfs_quota_us").read_text().strip()
                period = (path / "cpu.cfs_period_us").read_text().strip()
        except (OSError, ValueError):
            return None
        if quota in ("max", "-1"):
            return None
        return cls(path, version, int(quota) / int(period), int(period))


def current_cap(
    proc_cgroup: Path = Path("/proc/self/cgroup"),
    mountinfo: Path = Path("/proc/self/mountinfo"),
) -> CgroupQuota | None:
    """The CPU quota that binds this process: the tightest over its cgroup and that
    cgroup's ancestors (a Kubernetes limit sits on the pod or the container), with that
    cgroup's throttling; None when nothing caps it or no cgroup is readable."""
    try:
        memberships = proc_cgroup.read_text().splitlines()
        mounts = mountinfo.read_text().splitlines()
    except OSError:
        return None
    quotas: list[CgroupQuota] = []
    for version, directory, mount_point in _own_cpu_cgroups(memberships, mounts):
        for path in (directory, *directory.parents):
            quota = CgroupQuota.read(path, version)
            if quota is not None:
                quotas.append(quota)
            if path == mount_point:
                break
    return min(quotas, key=lambda quota: quota.cores, default=None)


def cgroup_of(pid: int, version: Literal[1, 2]) -> Path | None:
    """The directory of the cgroup `pid` is in, in the hierarchy of that version."""
    try:
        memberships = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    found = [path for v, path, _ in _own_cpu_cgroups(memberships, mounts) if v == version]
    return found[0] if found else None


def _own_cpu_cgroups(
    memberships: list[str], mounts: list[str]
) -> list[tuple[Literal[1, 2], Path, Path]]:
    """This process's cgroup directories that can carry a CPU quota, as mounted here, with
    the mount point above which no ancestor is visible."""
    found: list[tuple[Literal[1, 2], Path, Path]] = []
    for line in memberships:
        hierarchy_id, controllers, cgroup = line.split(":", 2)
        if hierarchy_id == "0" and controllers == "":
            mount = _find_mount(mounts, "cgroup2", None)
            version: Literal[1, 2] = 2
        elif "cpu" in controllers.split(","):
            mount = _find_mount(mounts, "cgroup", "cpu")
            version = 1
        else:
            continue
        if mount is not None:
            mount_point, mount_root = mount
            relative = os.path.relpath(cgroup, mount_root)
            if not relative.startswith(".."):
                found.append((version, Path(os.path.normpath(mount_point / relative)), mount_point))
    return found


def _find_mount(mounts: list[str], fstype: str, controller: str | None) -> tuple[Path, str] | None:
    """(mount point, root within the hierarchy) of the first mount of that cgroup type."""
    for line in mounts:
        fields = line.split()
        separator = fields.index("-")
        if fields[separator + 1] != fstype:
            continue
        options = fields[separator + 3].split(",") + fields[5].split(",")
        if controller is None or controller in options:
            return Path(fields[4]), fields[3]
    return None
