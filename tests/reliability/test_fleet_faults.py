"""Faults of a fleet seen by its clients: two instances behind the real nginx of
compose/nginx.conf (least_conn, max_fails=3 fail_timeout=10s, keepalive, retries of
idempotent requests only) on a MariaDB master + replica, load at the seed's 80/10/5/5 mix.

- One instance SIGKILLed mid-load: nginx retries what it may (GETs; any request whose
  connection was refused, as it was never sent), never a POST or PATCH it already sent, so
  the clients see at most the writes in flight on the dead instance fail; the survivor
  carries the rest.
- A rolling restart of every instance (SIGTERM, drain, start again, wait until /health
  answers and nginx sends to it before the next): no failed request, no acknowledged write
  lost. Gated on /health alone it fails most requests: nginx still holds the restarted
  instance out (three refused connections, fail_timeout) when the next one stops.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest

from target_service.settings import Settings
from tests.fixtures.fleet import Fleet, FleetFactory
from tests.fixtures.mariadb_server import MariaDBPair
from tests.reliability.load_probe import SEED_MIX, LoadProbe

PROFILES = 200
CLIENTS = 8

pytestmark = pytest.mark.timeout(120)


def fleet_settings(pair: MariaDBPair) -> Settings:
    # Defaults, but no rate limit: through nginx every probe client is one address, and the
    # limiter (100/minute) would be what the test measured.
    return Settings(db_url=pair.master_url, replica_urls=(pair.replica_url,), rate_limit=None)


def retried(running: Fleet, since: int) -> int:
    """Requests nginx sent to more than one instance (its log lists each address tried)."""
    return sum("," in tried for tried in running.nginx.upstreams_tried()[since:])


async def test_one_instance_killed_costs_at_most_the_writes_in_flight_on_it(
    fleet: FleetFactory, mariadb_pair: MariaDBPair
) -> None:
    running = fleet([fleet_settings(mariadb_pair)] * 2, profiles=PROFILES)
    mariadb_pair.wait_synced()
    probe = LoadProbe(running.base_url, ids=range(1, PROFILES + 1), mix=SEED_MIX)
    async with probe.running(CLIENTS):
        await probe.wait_for_answers(200)
        logged = len(running.nginx.upstreams_used())
        killed = time.monotonic()
        await asyncio.to_thread(running.kill, 0)
        await probe.wait_for_answers(300)
    in_flight = probe.in_flight(killed)
    writes_in_flight = sum(a.kind in ("create", "patch") for a in in_flight)
    failed = [a for a in probe.answers if not 200 <= a.status < 300]
    failed_kinds = Counter(a.kind for a in failed)
    after = probe.figures((killed, time.monotonic()))  # requests sent after the kill
    survivor = running.upstream(1)
    used_after = running.nginx.upstreams_used()[logged:]
    print(
        f"1 of 2 instances SIGKILLed under load: {probe.figures()}; in flight at the kill: "
        f"{len(in_flight)} ({writes_in_flight} writes); failed: {dict(failed_kinds)} "
        f"statuses {Counter(a.status for a in failed)}; after the kill {after}; "
        f"{retried(running, logged)} requests retried by nginx; "
        f"{sum(u == survivor for u in used_after)} of {len(used_after)} logged since the "
        f"kill answered by the survivor alone"
    )
    assert failed_kinds["list"] == failed_kinds["get"] == 0
    assert all(a in in_flight for a in failed) and len(failed) <= writes_in_flight
    assert 409 not in probe.figures().by_status  # no POST reached a second instance
    assert after.requests >= 250 and after.failures == 0


async def test_a_rolling_restart_fails_no_request_and_loses_no_acknowledged_write(
    fleet: FleetFactory, mariadb_pair: MariaDBPair
) -> None:
    running = fleet([fleet_settings(mariadb_pair)] * 2, profiles=PROFILES)
    mariadb_pair.wait_synced()
    probe = LoadProbe(running.base_url, ids=range(1, PROFILES + 1), mix=SEED_MIX)
    async with probe.running(CLIENTS):
        await probe.wait_for_answers(200)
        for index in range(len(running.instances)):
            await asyncio.to_thread(running.restart, index)
        await probe.wait_for_answers(100)
    lost, wrong = await read_back(running.base_url, probe)
    print(
        f"rolling restart of 2 instances under load: {probe.figures()}; "
        f"{describe(running)}; {probe.acknowledged_writes} writes acknowledged: {lost} lost, "
        f"{wrong} wrong; {retried(running, 0)} requests retried by nginx"
    )
    assert probe.figures().failures == 0, str(probe.figures())
    assert (lost, wrong) == (0, 0)
    assert probe.acknowledged_writes >= 20


async def test_a_rolling_restart_gated_on_health_alone_fails_requests(
    fleet: FleetFactory, mariadb_pair: MariaDBPair
) -> None:
    # The negative control: the next instance stops while nginx still holds the restarted
    # one out, so nginx has no instance left to send to (502 "no live upstreams").
    running = fleet([fleet_settings(mariadb_pair)] * 2, profiles=PROFILES)
    mariadb_pair.wait_synced()
    probe = LoadProbe(running.base_url, ids=range(1, PROFILES + 1), mix=SEED_MIX)
    async with probe.running(CLIENTS):
        await probe.wait_for_answers(200)
        for index in range(len(running.instances)):
            await asyncio.to_thread(running.restart, index, gate="health")
        await asyncio.sleep(1.0)
    print(f"rolling restart gated on /health alone: {probe.figures()}; {describe(running)}")
    assert probe.figures().by_status.get(502, 0) > 0, str(probe.figures())


def describe(running: Fleet) -> str:
    return "; ".join(
        f"instance {step.index}: exit {step.exit_status} after {step.exited_s:.2f} s, "
        f"/health {step.healthy_s:.2f} s, nginx sending to it {step.in_rotation_s:.2f} s "
        "after its SIGTERM"
        for step in running.steps
    )


async def read_back(base_url: str, probe: LoadProbe) -> tuple[int, int]:
    """(lost, wrong): acknowledged creates not readable by id with their email, acknowledged
    PATCHes whose last value the service does not serve (through nginx, from the master)."""
    lost = wrong = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        for email, profile_id in probe.acknowledged_creates.items():
            read = await client.get(f"/api/profile/{profile_id}")
            lost += read.status_code == 404
            wrong += read.status_code == 200 and read.json()["email"] != email
        for profile_id, bio in probe.acknowledged_patches.items():
            served = (await client.get(f"/api/profile/{profile_id}")).json()["bio"]
            wrong += served not in (bio, probe.unanswered_patches.get(profile_id))
    return lost, wrong
