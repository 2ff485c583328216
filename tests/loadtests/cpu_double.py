"""A profiles-API double that spends a known CPU cost per request, for capacity tests.

    python -m tests.loadtests.cpu_double --port 8123 --burn-ms 2

Each API request costs `--burn-ms` of this thread's CPU time, counted from the moment the app
receives it (its own work included, a busy loop making up the rest), so the service demand D
is known — a little above `burn-ms`, by what uvicorn spends parsing and sending — and its
capacity per core is about 1000 / burn-ms req/s. `/metrics` exports what any
Prometheus client exports by default (process_cpu_seconds_total, via prometheus_client's
ProcessCollector) plus a request counter, like the reference service.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.process_collector import ProcessCollector

from tests.loadtests.profiles_double import PROFILE

PAGE = {"items": [PROFILE], "page": 1, "limit": 20, "has_more": True}


def burn_until(end: float) -> None:
    while time.thread_time() < end:
        pass


class CpuDouble:
    def __init__(self, burn_ms: float) -> None:
        self.burn_s = burn_ms / 1000.0
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "loadcap_http_requests", "Requests.", ["method", "route"], registry=self.registry
        )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        spent_by = time.thread_time() + self.burn_s
        while (await receive()).get("more_body"):
            pass
        method, path = scope["method"], scope["path"]
        if path == "/metrics":
            await self._send(send, 200, generate_latest(self.registry), "text/plain")
            return
        route = "/api/profiles" if path == "/api/profiles" else "/api/profile/{id}"
        self.requests.labels(method=method, route=route).inc()
        if path == "/api/profiles" and method == "GET":
            body, status = PAGE, 200
        elif path == "/api/profiles" and method == "POST":
            body, status = PROFILE, 201
        else:
            body, status = PROFILE, 200
        data = json.dumps(body).encode()
        burn_until(spent_by)
        await self._send(send, status, data, "application/json")

    @staticmethod
    async def _send(send: Any, status: int, body: bytes, content_type: str) -> None:
        headers = [(b"content-type", content_type.encode()), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--burn-ms", type=float, default=2.0)
    args = parser.parse_args()
    uvicorn.run(
        CpuDouble(args.burn_ms),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main()
