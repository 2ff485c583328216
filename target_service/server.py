"""Running the service: schema and seed preparation, then uvicorn (uvloop + httptools).

`python -m target_service.server --port P [--workers N] [--seed N]` is what `ServiceProcess`
starts; settings arrive through LOADCAP_* variables, like uvicorn workers receive them.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import shutil
import signal
import sys
import tempfile

import uvicorn

from target_service.backends import build_store
from target_service.http_protocol import BoundedHttpToolsProtocol
from target_service.metrics import ServiceMetrics
from target_service.seed import SeedResult, seed_profiles
from target_service.settings import Settings, SettingsError
from target_service.storage import StorageUnavailable

APP_FACTORY = "target_service.app:app_from_env"
# Idle keep-alive connections close after this; a load balancer in front must close its idle
# connections to the service sooner (compose/nginx.conf: keepalive_timeout 4s), or it may
# send a request on a connection the service is closing.
KEEP_ALIVE_S = 5
log = logging.getLogger("target_service")


async def _prepare(settings: Settings, profiles: int, only_if_empty: bool) -> SeedResult | None:
    store = build_store(settings, ServiceMetrics())
    await store.open()
    try:
        await store.init_schema()
        if profiles <= 0:
            return None
        if only_if_empty and await store.list_profiles(offset=0, limit=1, primary=True):
            return None
        return await seed_profiles(store, profiles)
    finally:
        await store.close()


def prepare_database(
    settings: Settings, *, profiles: int = 0, only_if_empty: bool = False
) -> SeedResult | None:
    """Create the schema (idempotent) and optionally insert `profiles` generated profiles."""
    return asyncio.run(_prepare(settings, profiles, only_if_empty))


def settings_for_workers(settings: Settings, workers: int) -> Settings:
    """Several workers without Redis: in-process caches cannot invalidate each other, so a
    PATCH on one worker would leave another serving the old value for a whole TTL. Such a
    service does not cache (correct first); the rate limit stays per worker, as logged."""
    if workers <= 1 or settings.redis_url is not None:
        return settings
    log.warning(
        "%d workers without Redis: the in-process cache is off (workers cannot invalidate "
        "each other's) and each worker counts the rate limit on its own; give --redis to "
        "share both",
        workers,
    )
    return settings.with_changes(profile_ttl_s=0.0, list_ttl_s=0.0)


def run_server(settings: Settings, *, host: str, port: int, workers: int = 1) -> None:
    """Serve until SIGINT/SIGTERM, then shut down gracefully and return (exit status 0).
    Workers rebuild the settings from LOADCAP_* variables."""
    if workers > 1 and settings.redis_url is None:
        settings = settings_for_workers(settings, workers)
    metrics_dir = None
    if workers > 1:
        # prometheus_client's multiprocess mode: /metrics on any worker describes them all.
        metrics_dir = tempfile.mkdtemp(prefix="loadcap-metrics-")
        settings = settings.with_changes(metrics_dir=metrics_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ.update(settings.to_env())
    # uvicorn re-raises the signal it shut down on once it is done; with Python's default
    # SIGTERM action that kills the process (exit 143) after a clean shutdown. Ignoring the
    # re-raised signal lets `serve` return: SIGTERM is how a service is told to stop.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        _run_uvicorn(settings, host=host, port=port, workers=workers)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _run_uvicorn(settings: Settings, *, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # uvicorn calls `http` with its protocol's arguments: a partial does as well as a class.
        http=functools.partial(  # type: ignore[arg-type]
            BoundedHttpToolsProtocol, head_timeout_s=settings.head_timeout_s
        ),
        # A request head that has begun must arrive whole within settings.head_timeout_s
        # (BoundedHttpToolsProtocol).
        timeout_keep_alive=KEEP_ALIVE_S,
        # No limit_concurrency: its 503s would fall on normal clients as much as on slow ones;
        # slow ones are bounded by the head timeout and size instead.
        access_log=False,
        # The app decides which peers may set X-Forwarded-For (settings.trusted_proxies);
        # uvicorn's own rewriting would trust any loopback peer before the app sees it.
        proxy_headers=False,
        # helmet removes X-Powered-By; uvicorn's `server: uvicorn` is the same give-away.
        server_header=False,
        log_level=settings.log_level.lower(),
        # Requests are small; the body limit middleware guards the rest.
        timeout_graceful_shutdown=5,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m target_service.server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0, help="profiles to insert when empty")
    args = parser.parse_args()
    try:
        settings = Settings.from_env()
        prepare_database(settings, profiles=args.seed, only_if_empty=True)
    except (SettingsError, StorageUnavailable) as exc:
        sys.exit(f"error: {exc}")
    logging.basicConfig(level=settings.log_level.upper())
    run_server(settings, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
