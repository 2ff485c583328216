"""The fitted sigma of a real fleet matches a serial fraction known by construction.

N = 1..6 instances of a double (tests/fixtures/serial_fraction_service.py: 120 ms on its own,
then 30 ms inside a file lock every instance shares: sigma = 30 / 150 = 0.2) behind real nginx
(compose/nginx.conf), driven in rounds of N simultaneous requests, twice per N in the order
1..6, 6..1; the throughputs go through `analyse_scaleout` as `loadcap scaleout`'s would.
docs/scaleout.md ("How the fit is checked") says why rounds, and where the tolerance comes
from.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import httpx
import pytest

from capacity.scaleout import analyse_scaleout
from rundir.scaleout_json import ScaleoutRepeat, ScaleoutSettings, ScaleoutTier
from tests.fixtures.nginx_server import NginxServer
from tests.fixtures.serial_fraction_service import serial_fraction_instances

PARALLEL_MS, SERIAL_MS = 120.0, 30.0
SERIAL_FRACTION = SERIAL_MS / (SERIAL_MS + PARALLEL_MS)  # 0.2
COUNTS = (1, 2, 3, 4, 5, 6)
ORDER = (*COUNTS, *reversed(COUNTS))  # each N twice, drift cancelling out
MEASURE_S = 2.0  # per repeat: 13 rounds at N = 1, 6 at N = 6
MAX_ROUNDS = 200
GENERATOR_SATURATED = 0.9  # of one core: the USE rule's load-generator threshold


@dataclass(frozen=True)
class Rounds:
    requests: int
    elapsed_s: float
    cpu_s: float  # this process's, the load generator's
    durations_s: list[float]

    @property
    def throughput_rps(self) -> float:
        """N / the median round: a round another program's CPU burst stalled on this shared
        machine does not count as the fleet's."""
        if not self.durations_s:
            return 0.0
        return self.requests / len(self.durations_s) / median(self.durations_s)


async def rounds(url: str, instances: int) -> Rounds:
    """Rounds of `instances` simultaneous GETs for MEASURE_S (bounded by MAX_ROUNDS)."""
    limits = httpx.Limits(max_connections=instances, max_keepalive_connections=instances)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        await _round(client, url, instances)  # warm-up: connections open, processes paged in
        started, cpu_started = time.perf_counter(), time.process_time()
        durations: list[float] = []
        while time.perf_counter() - started < MEASURE_S and len(durations) < MAX_ROUNDS:
            durations.append(await _round(client, url, instances))
        return Rounds(
            requests=instances * len(durations),
            elapsed_s=time.perf_counter() - started,
            cpu_s=time.process_time() - cpu_started,
            durations_s=durations,
        )


async def _round(client: httpx.AsyncClient, url: str, instances: int) -> float:
    started = time.perf_counter()
    responses = await asyncio.gather(*(client.get(url) for _ in range(instances)))
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    return time.perf_counter() - started


def measure(balancers: dict[int, NginxServer]) -> list[ScaleoutRepeat]:
    repeats = []
    for sequence, n in enumerate(ORDER):
        measured = asyncio.run(rounds(balancers[n].base_url + "/work", n))
        generator = measured.cpu_s / measured.elapsed_s
        repeats.append(
            ScaleoutRepeat(
                instances=n,
                throughput_rps=measured.throughput_rps,
                sequence=sequence,
                requests=measured.requests,
                first_limit="instances" if generator < GENERATOR_SATURATED else "load_generator",
                tiers=[
                    ScaleoutTier(
                        name="generator",
                        role="generator",
                        cores_used=generator,
                        cores_available=1.0,
                        cpu_s=measured.cpu_s,
                        requests=measured.requests,
                    )
                ],
            )
        )
    return repeats


@pytest.mark.servers
def test_the_fitted_sigma_matches_the_serial_fraction_of_a_shared_lock(
    nginx_server: Callable[[Sequence[int]], NginxServer], tmp_path: Path
) -> None:
    with serial_fraction_instances(
        max(COUNTS),
        lock_path=tmp_path / "serial.lock",
        parallel_ms=PARALLEL_MS,
        serial_ms=SERIAL_MS,
    ) as ports:
        balancers = {n: nginx_server(ports[:n]) for n in COUNTS}
        repeats = measure(balancers)
        per_instance = Counter(balancers[max(COUNTS)].upstreams_used())
    # least_conn gave each instance its share: one request of every round of 6 each.
    assert len(per_instance) == max(COUNTS) and max(per_instance.values()) - min(
        per_instance.values()
    ) <= 0.1 * max(per_instance.values()), per_instance
    assert all(r.first_limit == "instances" for r in repeats), "the generator was the limit"

    document = analyse_scaleout(repeats, ScaleoutSettings(instances=list(COUNTS), repeat=2))
    fit = document.fit
    assert fit is not None and fit.sigma_interval is not None, document.fit_message
    # What a request really took at N = 1 (its HTTP and proxying on top of the 150 ms of
    # work) is parallel work: the serial fraction the measurement can show is 30 ms over
    # that, and its gap to 0.2 is the tolerance's systematic part; the fit's 95 % interval,
    # from the spread of the 12 measurements about the curve, is its random part.
    single = next(p for p in document.points if p.instances == 1)
    measured_fraction = SERIAL_MS / 1000.0 * single.throughput_rps
    systematic = abs(SERIAL_FRACTION - measured_fraction)
    low = fit.sigma_interval.low - systematic
    high = fit.sigma_interval.high + systematic
    report = (
        f"sigma {fit.sigma:.4f} [{fit.sigma_interval.low:.4f}, {fit.sigma_interval.high:.4f}], "
        f"serial fraction {SERIAL_FRACTION}, measured {measured_fraction:.4f}, kappa "
        f"{fit.kappa:.3g}, X(N) {[round(p.throughput_rps, 2) for p in document.points]}"
    )
    assert low <= SERIAL_FRACTION <= high, report
    # and the fit tells the lock from no lock: the interval excludes sigma = 0.
    assert fit.sigma_interval.low > 0.0, report
    assert fit.kappa_interval is not None and fit.kappa_interval.low == 0.0, report


@pytest.mark.parametrize("n", [1, 3])
def test_amdahl_rounds_take_the_parallel_part_plus_n_serial_parts(n: int) -> None:
    """The arithmetic the check relies on: a round of N takes parallel + N x serial, so
    X(N) = N / (parallel + N serial) = X(1) N / (1 + sigma (N - 1)), the USL with kappa = 0."""
    x1 = 1000.0 / (PARALLEL_MS + SERIAL_MS)
    rounds_x = n * 1000.0 / (PARALLEL_MS + n * SERIAL_MS)
    assert rounds_x == pytest.approx(x1 * n / (1 + SERIAL_FRACTION * (n - 1)))
