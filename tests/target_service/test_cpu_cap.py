"""CpuCap on the real cgroup file system: a capped busy loop gets its quota and no more."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from target_service.cpu_cap import (
    CGROUP_ROOT,
    PARENT,
    CgroupQuota,
    CpuCap,
    CpuCapError,
    Throttling,
    current_cap,
    parse_cpu_stat,
    period_for,
)
from target_service.process import ServiceProcess

pytestmark = pytest.mark.servers  # starts the service, Locust or a browser

BUSY_LOOP = "import time\nend = time.monotonic() + 30\nwhile time.monotonic() < end: pass\n"


def _can_cap() -> str | None:
    try:
        CpuCap.create(1.0, name="probe").remove()
    except CpuCapError as exc:
        return str(exc)
    return None


CANNOT_CAP = _can_cap()
needs_cgroups = pytest.mark.skipif(CANNOT_CAP is not None, reason=f"no CPU cap: {CANNOT_CAP}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def busy_loop() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    yield process
    process.kill()
    process.wait()


def loadcap_cgroups() -> set[Path]:
    return {path for path in CGROUP_ROOT.glob(f"*/{PARENT}/{os.getpid()}-*") if path.is_dir()}


@needs_cgroups
def test_a_capped_busy_loop_uses_its_quota_and_is_throttled(
    busy_loop: subprocess.Popen[bytes],
) -> None:
    with CpuCap.create(0.25, name="busy") as cap:
        cap.add(busy_loop.pid)
        assert cap.pids() == [busy_loop.pid]
        before_throttling, before_cpu, started = (
            cap.throttling(),
            cpu_seconds(busy_loop.pid),
            time.monotonic(),
        )
        time.sleep(1.0)
        used = (cpu_seconds(busy_loop.pid) - before_cpu) / (time.monotonic() - started)
        throttled = cap.throttling() - before_throttling
        busy_loop.kill()
        busy_loop.wait()
    # Uncapped the loop would use a whole core; the machine may give it less than its quota.
    assert 0.1 < used < 0.25 * 1.3
    assert throttled.nr_throttled > 20
    assert throttled.throttled_s > 0.2
    assert throttled.throttled_share is not None and throttled.throttled_share > 0.5


@needs_cgroups
def test_the_cap_has_the_cores_and_period_asked_for_and_is_gone_after_the_with() -> None:
    before = loadcap_cgroups()
    with CpuCap.create(0.15, period_us=20_000) as cap:
        assert (cap.cores, cap.period_us) == (0.15, 20_000)
        assert cap.path.is_dir() and cap.path.parent.name == PARENT
        assert CgroupQuota.read(cap.path, cap.quota.version) == cap.quota
        # Nothing ran in it, so nothing was throttled (the kernel may already count a period:
        # seen once in a CI run, nr_periods 1).
        fresh = cap.throttling()
        assert (fresh.nr_throttled, fresh.throttled_s) == (0, 0.0) and fresh.nr_periods <= 1
        # Ten times the default weight: its quota whenever it wants it on a busy machine.
        weight = "cpu.weight" if cap.quota.version == 2 else "cpu.shares"
        assert (cap.path / weight).read_text().strip() in ("1000", "10240")
    assert not cap.path.exists()
    assert loadcap_cgroups() == before


@needs_cgroups
def test_two_caps_made_at_once_are_two_cgroups() -> None:
    with CpuCap.create(0.5) as first, CpuCap.create(0.5) as second:
        assert first.path != second.path


@needs_cgroups
def test_remove_refuses_while_a_process_is_inside_and_moves_nothing(
    busy_loop: subprocess.Popen[bytes],
) -> None:
    cap = CpuCap.create(0.5)
    cap.add(busy_loop.pid)
    with pytest.raises(CpuCapError, match=f"still holds pids \\[{busy_loop.pid}\\]"):
        cap.remove(timeout_s=0.1)
    assert cap.pids() == [busy_loop.pid]
    busy_loop.kill()
    busy_loop.wait()
    cap.remove()
    assert not cap.path.exists()


@needs_cgroups
def test_a_stale_empty_cap_of_an_ended_process_is_removed_by_the_next_create() -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    with CpuCap.create(0.5) as cap:
        stale = cap.path.parent / f"{ended.stdout.strip()}-1-left-behind"
        stale.mkdir()
        with CpuCap.create(0.5):
            assert not stale.exists()


@needs_cgroups
def test_a_process_reads_the_cap_it_runs_under() -> None:
    code = (
        "from target_service.cpu_cap import current_cap\n"
        "q = current_cap()\n"
        "print(q.cores, q.period_us, q.path)"
    )
    with CpuCap.create(0.3) as cap:
        command = [
            "/bin/sh",
            "-c",
            f'echo $$ > {cap.path}/cgroup.procs && exec "$@"',
            "sh",
            sys.executable,
            "-c",
            code,
        ]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0.3", "10000", str(cap.path)]


@needs_cgroups
def test_the_service_runs_inside_its_cap_with_its_workers_and_the_cap_goes_with_it() -> None:
    service = ServiceProcess(profiles=10, workers=2, cpus=0.5)
    with service:
        assert service.cap is not None and service.pid is not None
        path = service.cap.path
        pids = set(service.cap.pids())
        assert service.pid in pids and len(pids) >= 3  # the supervisor and its two workers
        assert httpx.get(service.base_url + "/health").status_code == 200
    assert service.cap is None and not path.exists()


def _sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match is not None, f"{name} missing from /metrics"
    return float(match.group(1))


@needs_cgroups
@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_say_the_cap_and_its_throttling_once_for_all_workers(workers: int) -> None:
    with ServiceProcess(profiles=10, workers=workers, cpus=0.5) as service:
        assert service.cap is not None
        with httpx.Client(base_url=service.base_url) as client:
            for i in range(200):
                client.get(f"/api/profile/{i % 10 + 1}")
            before = service.cap.throttling()
            text = client.get("/metrics").text
            after = service.cap.throttling()

    assert _sample(text, "loadcap_cpu_quota_cores") == 0.5
    assert _sample(text, "loadcap_cpu_period_seconds") == 0.01
    assert _sample(text, "loadcap_cpu_cores_available") == 0.5  # the quota, not a core each
    # The cgroup's own counters, read once whichever worker answered: not summed per worker.
    assert before.nr_periods <= _sample(text, "loadcap_cpu_periods_total") <= after.nr_periods
    throttled = _sample(text, "loadcap_cpu_throttled_periods_total")
    assert before.nr_throttled <= throttled <= after.nr_throttled
    stalled = _sample(text, "loadcap_cpu_throttled_seconds_total")
    assert before.throttled_s <= stalled <= after.throttled_s


def test_an_uncapped_service_exports_no_cap() -> None:
    with ServiceProcess(profiles=10) as service:
        text = httpx.get(service.base_url + "/metrics").text
    if current_cap() is None:  # unless whatever runs the tests is itself capped
        assert "loadcap_cpu_quota_cores" not in text


def test_no_cpu_controller_is_a_refusal_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(CpuCapError, match=f"no cgroup cpu controller under {tmp_path}"):
        CpuCap.create(0.25, root=tmp_path)


def test_a_directory_that_is_not_a_cgroup_is_a_refusal_and_left_clean(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    with pytest.raises(CpuCapError, match="not a cgroup file system"):
        CpuCap.create(0.25, root=tmp_path)
    assert list((tmp_path / "cpu" / PARENT).iterdir()) == []


def refusal_as_nobody() -> str:
    """The CpuCapError of a forked child that gave up root, as the root parent cannot get
    one: as root every directory is writable."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        outcome = b"created"
        try:
            os.setgid(65534)
            os.setuid(65534)
            CpuCap.create(0.25).remove()
        except BaseException as exc:  # everything goes back to the parent
            outcome = f"{type(exc).__name__}: {exc}".encode()
        os.write(write_end, outcome)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        refusal = pipe.read().decode()
    os.waitpid(child, 0)
    return refusal


@needs_cgroups
def test_a_cgroup_root_this_user_cannot_write_is_a_refusal_with_the_reason() -> None:
    message = refusal_as_nobody()
    assert message.startswith("CpuCapError: cannot create a cgroup under ")
    assert "Permission denied" in message
    assert "running as uid 65534; a cap needs root or a delegated cgroup" in message


def test_a_cap_the_kernel_cannot_express_is_refused_before_any_cgroup_is_made() -> None:
    with pytest.raises(CpuCapError, match="at least 10 ms"):
        CpuCap.create(0.1, period_us=5_000)
    with pytest.raises(CpuCapError, match="positive number of cores"):
        CpuCap.create(0.0)
    # Above the machine's CPUs a quota never binds: that run would be uncapped.
    with pytest.raises(CpuCapError, match="more than the"):
        CpuCap.create((os.cpu_count() or 1) + 1)


def test_the_default_period_grows_for_tiny_caps_so_the_quota_is_one_ms(tmp_path: Path) -> None:
    assert period_for(0.25, None) == 10_000
    assert period_for(0.05, None) == 20_000


def test_cpu_stat_is_read_in_both_cgroup_versions() -> None:
    v1 = parse_cpu_stat("nr_periods 10\nnr_throttled 4\nthrottled_time 2500000000\nnr_bursts 0\n")
    v2 = parse_cpu_stat("usage_usec 9\nnr_periods 10\nnr_throttled 4\nthrottled_usec 2500000\n")
    assert v1 == v2 == Throttling(10, 4, 2.5)
    assert (v1 - Throttling(5, 1, 0.5)).throttled_share == 0.6


def test_the_binding_quota_is_found_through_a_container_mount(tmp_path: Path) -> None:
    """A Kubernetes container: cgroup v2 mounted at its own cgroup, the limit one level up
    (the pod, 0.5) is invisible, the container's own (0.25) binds."""
    mount = tmp_path / "sys" / "fs" / "cgroup"
    (mount).mkdir(parents=True)
    (mount / "cpu.max").write_text("25000 100000\n")
    (mount / "cpu.stat").write_text("nr_periods 8\nnr_throttled 2\nthrottled_usec 30000\n")
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text("0::/\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 20 0:26 / {mount} rw,nosuid - cgroup2 cgroup2 rw\n")
    quota = current_cap(proc_cgroup, mountinfo)
    assert quota == CgroupQuota(mount, 2, 0.25, 100_000)
    assert quota.throttling() == Throttling(8, 2, 0.03)


def test_the_tightest_of_a_cgroup_and_its_ancestors_binds(tmp_path: Path) -> None:
    mount = tmp_path / "cpu"
    own = mount / "kubepods" / "pod1" / "ctr"
    own.mkdir(parents=True)
    for path, quota in (
        (mount, "-1"),
        (mount / "kubepods", "-1"),
        (own.parent, "20000"),
        (own, "50000"),
    ):
        (path / "cpu.cfs_quota_us").write_text(quota)
        (path / "cpu.cfs_period_us").write_text("100000")
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text("3:memory:/kubepods/pod1/ctr\n2:cpu,cpuacct:/kubepods/pod1/ctr\n0::/\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        f"40 20 0:30 / {mount} rw - cgroup cgroup rw,cpu,cpuacct\n"
        f"41 20 0:31 / {tmp_path / 'unified'} rw - cgroup2 cgroup2 rw\n"
    )
    assert current_cap(proc_cgroup, mountinfo) == CgroupQuota(own.parent, 1, 0.2, 100_000)


def test_an_uncapped_process_has_no_current_cap(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("max 100000\n")
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text("0::/\n")
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(f"30 20 0:26 / {tmp_path} rw - cgroup2 cgroup2 rw\n")
    assert current_cap(proc_cgroup, mountinfo) is None
    assert current_cap(tmp_path / "missing", mountinfo) is None


@needs_cgroups
def test_capped_here_holds_the_process_for_the_block_then_moves_it_back_and_removes_it() -> None:
    code = (
        "import os\n"
        "from target_service.cpu_cap import capped_here, current_cap\n"
        "before = current_cap()\n"
        "with capped_here(0.5, name='here') as cap:\n"
        "    inside = os.getpid() in cap.pids() and current_cap().path == cap.path\n"
        "print(cap.path, inside, current_cap() == before)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    path, inside, after = out.stdout.split()
    assert inside == "True" and after == "True"  # back in its own cgroup
    assert not Path(path).exists()
