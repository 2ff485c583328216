"""loadcap's locustfile with workers slow to stop: a worker's stop takes LATE_STOP_S after its
users are gone, so its final report reaches the master well after Locust's 0.5 s wait."""

from __future__ import annotations

from typing import Any

import gevent
from locust import events
from locust.runners import WorkerRunner

from loadtests.locustfile import *  # noqa: F403  (the users, shapes and loadcap's plugin)
from pipeline.embedded import DEFAULT_PROFILES

LATE_STOP_S = 2.0


@events.init.add_listener  # type: ignore[untyped-decorator]
def known_id_range(environment: Any, **_: Any) -> None:
    """The embedded service's ids, so no probe request adds to the service's count."""
    options = environment.parsed_options
    if options is not None and not options.id_count:
        options.id_count = DEFAULT_PROFILES


@events.test_stop.add_listener  # type: ignore[untyped-decorator]
def stop_slowly(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        gevent.sleep(LATE_STOP_S)
