"""What every read request spends deciding where its read goes (read-your-writes: the time
cookie, the signed GTID position, the requirement set for the router), in ns, for a client
without the cookie and one that wrote recently. Pin it for steadier figures:

    taskset -c 1 .venv/bin/python scripts/bench_read_route.py
"""

from __future__ import annotations

import time

from starlette.requests import Request

from target_service.gtid import requiring
from target_service.read_your_writes import ReadYourWrites

HEADERS = [(b"host", b"service"), (b"user-agent", b"locust"), (b"accept", b"*/*")]


def ns_per_read(rw: ReadYourWrites, *, cookie: bool, reads: int = 100_000) -> float:
    headers = list(HEADERS)
    if cookie:
        headers.append((b"cookie", b"loadcap_rw=%d" % (time.time_ns() // 1_000_000)))
    scope = {"type": "http", "method": "GET", "path": "/api/profile/1", "headers": headers}
    started = time.perf_counter()
    for _ in range(reads):
        request = Request(scope)  # Starlette builds one per request
        _, position = rw.route(request)
        with requiring(position):
            pass
    return (time.perf_counter() - started) / reads * 1e9


if __name__ == "__main__":
    rw = ReadYourWrites(5.0, mode="gtid", secret="bench")  # noqa: S106  (a benchmark key)
    for cookie in (False, True):
        best = min(ns_per_read(rw, cookie=cookie) for _ in range(7))
        who = "a client that wrote recently" if cookie else "a client without the cookie"
        print(f"read routing, {who}: {best:.0f} ns per read (incl. Request(); best of 7)")
