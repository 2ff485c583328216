"""Faults injected while a probe loads a real service: Redis and the replica SIGKILLed and
restarted, the database stopped (quiet logs), SIGTERM mid-load, and an audit of every
acknowledged write. Each test prints its figures (`pytest -s`): requests, failures, p99
during the fault, recovery time. The master-killed case lives with replica routing.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from target_service.process import ServiceProcess
from target_service.settings import Settings
from tests.fixtures.mariadb_server import MariaDBPair, MariaDBServer
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.replica_cluster import cluster_settings
from tests.reliability.load_probe import Figures, LoadProbe, health_status, poll_until

PROFILES = 200
FAULT_S = 3.0
CLIENTS = 8
AUDIT_WRITES = 200
PROBE_IDS = 180  # the probe's ids; the rest are for the read-after-write clients

pytestmark = [pytest.mark.timeout(180), pytest.mark.servers]


def db_rows(server: MariaDBServer, sql: str) -> list[list[str]]:
    return server.sql(sql, database="loadcap")


async def check_ok(base_url: str, name: str) -> bool:
    _, checks = await health_status(base_url)
    return bool(checks[name]["ok"])


@dataclass(frozen=True)
class Fault:
    whole: Figures  # the probe's whole run
    during: Figures  # from the fault to the recovery
    down_s: float  # from the fault to the restart
    recovery_s: float  # from the restart to the recovery


async def fault_under_load(
    probe: LoadProbe,
    *,
    inject: Callable[[], Awaitable[None]],
    restart: Callable[[], Awaitable[None]],
    recovered: Callable[[], Awaitable[bool]],
    answers_before: int = 200,
    recovery_timeout_s: float = 30.0,
) -> Fault:
    """The probe's load on, `inject` the fault, `restart` after FAULT_S, wait until
    `recovered`, and go on loading for another 100 answers."""
    async with probe.running(CLIENTS):
        await probe.wait_for_answers(answers_before)
        fault_start = time.monotonic()
        await inject()
        await asyncio.sleep(FAULT_S)
        await restart()
        restarted = time.monotonic()
        recovery_s = await poll_until(recovered, timeout_s=recovery_timeout_s)
        fault_end = time.monotonic()
        await probe.wait_for_answers(100)
    return Fault(
        whole=probe.figures(),
        during=probe.figures((fault_start, fault_end)),
        down_s=restarted - fault_start,
        recovery_s=recovery_s,
    )


# --- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_service(mariadb_db: MariaDBServer, redis_clean: RedisServer) -> Iterator[ServiceProcess]:
    settings = Settings(db_url=mariadb_db.url, redis_url=redis_clean.url, rate_limit=None)
    with ServiceProcess(settings, profiles=PROFILES) as service:
        yield service
    redis_clean.start()  # the session server outlives this test


async def test_redis_killed_under_load_costs_no_request(
    redis_service: ServiceProcess, redis_clean: RedisServer
) -> None:
    base_url = redis_service.base_url

    async def kill() -> None:
        redis_clean.kill()
        await poll_until(lambda: _not(check_ok(base_url, "cache")))

    fault = await fault_under_load(
        LoadProbe(base_url, ids=range(1, PROFILES + 1)),
        inject=kill,
        restart=lambda: asyncio.to_thread(redis_clean.start),
        recovered=lambda: _healthy(base_url),
    )
    whole, during = fault.whole, fault.during
    print(
        f"Redis SIGKILLed {fault.down_s:.1f} s under load: {whole}; during the fault: "
        f"{during}; /health healthy {fault.recovery_s:.2f} s after restart"
    )
    assert whole.failures == 0, str(whole)
    assert during.requests > 0


async def _not(check: object) -> bool:
    assert asyncio.iscoroutine(check)
    return not await check


async def _healthy(base_url: str) -> bool:
    status, _ = await health_status(base_url)
    return status == "healthy"


# --- replica --------------------------------------------------------------------------------


@pytest.fixture
def replicated_service(mariadb_pair: MariaDBPair) -> Iterator[ServiceProcess]:
    # No Redis: every read reaches a database, so the replica really carries reads.
    with ServiceProcess(cluster_settings(mariadb_pair), profiles=PROFILES) as service:
        mariadb_pair.wait_synced()
        yield service


async def test_replica_killed_under_load_costs_no_request_and_rejoins(
    replicated_service: ServiceProcess, mariadb_pair: MariaDBPair
) -> None:
    base_url = replicated_service.base_url
    await poll_until(lambda: check_ok(base_url, "replica0"))
    fault = await fault_under_load(
        LoadProbe(base_url, ids=range(1, PROFILES + 1)),
        inject=lambda: asyncio.to_thread(mariadb_pair.stop_replica),  # SIGKILL
        restart=lambda: asyncio.to_thread(mariadb_pair.start_replica),
        recovered=lambda: check_ok(base_url, "replica0"),
        recovery_timeout_s=60,
    )
    whole, during = fault.whole, fault.during
    print(
        f"replica SIGKILLed {fault.down_s:.1f} s under load: {whole}; during the "
        f"fault: {during}; back in rotation {fault.recovery_s:.2f} s after restart"
    )
    assert whole.failures == 0, str(whole)


# --- acknowledged writes --------------------------------------------------------------------


async def test_every_acknowledged_write_is_in_the_master(
    replicated_service: ServiceProcess, mariadb_pair: MariaDBPair
) -> None:
    await asyncio.to_thread(mariadb_pair.set_delay, 3)  # replicas lag 3 s behind the master
    base_url = replicated_service.base_url
    probe = LoadProbe(base_url, ids=range(1, PROBE_IDS + 1))
    done = asyncio.Event()

    async def enough_writes() -> bool:
        return probe.acknowledged_writes >= AUDIT_WRITES

    async with probe.running(16):
        # Beside the probe: PATCH then GET by the same client, with and without its cookie.
        readers = [
            asyncio.create_task(
                read_after_write(base_url, PROBE_IDS + n, cookies=n % 2 == 1, done=done)
            )
            for n in range(1, PROFILES - PROBE_IDS + 1)
        ]
        await poll_until(enough_writes, timeout_s=40)
        done.set()
        pairs = await asyncio.gather(*readers)
    lost, wrong = audit(mariadb_pair.master, probe)
    writes = probe.acknowledged_writes
    cookie = [sum(x) for x in zip(*pairs[0::2], strict=True)]
    stateless = [sum(x) for x in zip(*pairs[1::2], strict=True)]
    print(
        f"acknowledged-write audit, replica delayed 3 s: {probe.figures()}; {writes} writes "
        f"acknowledged ({len(probe.acknowledged_creates)} creates, last values of "
        f"{len(probe.acknowledged_patches)} patched ids): {lost} lost, {wrong} wrong; "
        f"read after own write: cookie clients {cookie[1]} stale of {cookie[0]}, stateless "
        f"clients {stateless[1]} stale of {stateless[0]} (bounded by LOADCAP_REPLICA_MAX_LAG_S)"
    )
    assert writes >= AUDIT_WRITES
    assert (lost, wrong) == (0, 0)
    assert probe.figures().failures == 0
    assert cookie[0] > 0 and cookie[1] == 0


async def read_after_write(
    base_url: str, profile_id: int, *, cookies: bool, done: asyncio.Event
) -> tuple[int, int]:
    """(reads, stale reads) of a client that PATCHes its profile and reads it straight back."""
    reads = stale = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while not done.is_set() and reads < 500:
            bio = f"read-back {profile_id}-{reads}"
            patched = await client.patch(f"/api/profile/{profile_id}", json={"bio": bio})
            patched.raise_for_status()
            if not cookies:
                client.cookies.clear()
            read = await client.get(f"/api/profile/{profile_id}")
            read.raise_for_status()
            reads += 1
            stale += read.json()["bio"] != bio
    return reads, stale


def audit(master: MariaDBServer, probe: LoadProbe) -> tuple[int, int]:
    """(lost, wrong): acknowledged creates missing or with another id; acknowledged patches
    whose value the master does not hold (a later unanswered patch of the id is no loss)."""
    created = {
        email: int(row_id) for row_id, email in db_rows(master, "SELECT id, email FROM profiles")
    }
    lost = sum(email not in created for email in probe.acknowledged_creates)
    wrong = sum(
        email in created and created[email] != row_id
        for email, row_id in probe.acknowledged_creates.items()
    )
    bios = {int(i): bio for i, bio in db_rows(master, "SELECT id, bio FROM profiles")}
    for profile_id, bio in probe.acknowledged_patches.items():
        if bios.get(profile_id) not in (bio, probe.unanswered_patches.get(profile_id)):
            wrong += 1
    return lost, wrong


# --- SIGTERM --------------------------------------------------------------------------------


async def test_sigterm_under_load_exits_0_and_loses_nothing_acknowledged(
    mariadb_db: MariaDBServer,
) -> None:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    service = ServiceProcess(settings, profiles=PROFILES).start()
    try:
        probe = LoadProbe(service.base_url, ids=range(1, PROFILES + 1), timeout_s=2.0)
        async with probe.running(CLIENTS):
            await probe.wait_for_answers(300)
            signalled = time.monotonic()
            assert service.pid is not None
            os.kill(service.pid, signal.SIGTERM)

            async def exited() -> bool:
                return service.returncode is not None

            shutdown_s = await poll_until(exited, timeout_s=20)
    finally:
        returncode = service.stop()
    lost, wrong = audit(mariadb_db, probe)
    existing = {email for (email,) in db_rows(mariadb_db, "SELECT email FROM profiles")}
    committed_unanswered = sum(email in existing for email in probe.unanswered_creates)
    before = probe.figures((0.0, signalled), by_end=True)
    print(
        f"SIGTERM under load: exit {returncode} after {shutdown_s:.2f} s; before the signal "
        f"{before}; {len(probe.acknowledged_creates)} creates acknowledged: {lost} lost, "
        f"{wrong} wrong; {len(probe.unanswered_creates)} unanswered, "
        f"{committed_unanswered} of them committed"
    )
    assert returncode == 0
    assert (lost, wrong) == (0, 0)
    assert committed_unanswered == 0
    assert before.failures == 0


# --- database outage: quiet logs ------------------------------------------------------------


async def test_a_database_outage_logs_a_line_per_error_class_not_a_traceback_per_503(
    mariadb_db: MariaDBServer,
) -> None:
    settings = Settings(db_url=mariadb_db.url, rate_limit=None)
    logged_before = 0
    with ServiceProcess(settings, profiles=PROFILES) as service:

        async def stop_database() -> None:
            nonlocal logged_before
            logged_before = service.log_path.stat().st_size
            await asyncio.to_thread(mariadb_db.stop, kill=True)

        fault = await fault_under_load(
            LoadProbe(service.base_url, ids=range(1, PROFILES + 1)),
            inject=stop_database,
            restart=lambda: asyncio.to_thread(mariadb_db.start),
            recovered=lambda: _healthy(service.base_url),
            answers_before=100,
        )
        log = service.log_path.read_bytes()[logged_before:].decode(errors="replace")
    during, recovery_s = fault.during, fault.recovery_s
    tracebacks = log.count("Traceback")
    print(
        f"database SIGKILLed {FAULT_S:.0f} s under load: during the outage {during}; "
        f"log grew {len(log) / 1024:.1f} KB, {log.count(chr(10))} lines, {tracebacks} tracebacks; "
        f"healthy {recovery_s:.2f} s after restart"
    )
    assert during.by_status.get(503, 0) > 50, str(during)
    assert not any(500 <= s < 600 and s != 503 for s in during.by_status), str(during)
    assert tracebacks <= 3, log[-4000:]
    assert len(log) < 32 * 1024, log[-4000:]
