"""The SQLite store's pool gauges mean what the MySQL pools' mean: connections, not queries."""

from __future__ import annotations

import asyncio
from pathlib import Path

from target_service.metrics import ServiceMetrics
from target_service.seed import seed_profiles
from target_service.settings import Settings
from target_service.sqlite_store import SQLiteProfileStore


def gauge(metrics: ServiceMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name, {"pool": "master"})
    assert value is not None, name
    return value


async def test_in_use_never_exceeds_pool_size_under_many_concurrent_queries(
    tmp_path: Path,
) -> None:
    metrics = ServiceMetrics()
    store = SQLiteProfileStore(
        Settings(db_url=f"sqlite:///{tmp_path / 'gauge.db'}", pool_size=3, rate_limit=None),
        metrics,
    )
    await store.open()
    try:
        await store.init_schema()
        await seed_profiles(store, 50)
        size = gauge(metrics, "loadcap_db_pool_size")
        samples: list[float] = []
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                samples.append(gauge(metrics, "loadcap_db_pool_in_use"))
                await asyncio.sleep(0)

        sampler = asyncio.create_task(sample())
        reads = [store.get_profile(n % 50 + 1) for n in range(200)]
        writes = [store.update_profile(n + 1, {"bio": f"bio {n}"}) for n in range(20)]
        await asyncio.gather(*reads, *writes)
        done.set()
        await sampler
        # 220 statements were queued at once; only the writer and 3 readers can be busy.
        assert size == 4
        assert 2 <= max(samples) <= size, max(samples)
        assert gauge(metrics, "loadcap_db_pool_in_use") == 0
    finally:
        await store.close()
