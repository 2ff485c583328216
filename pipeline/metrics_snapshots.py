"""Snapshots of the target's Prometheus `/metrics`: at the start, every few seconds, at the end.

Written as `metrics/NNNN-<phase>.prom` plus `metrics/index.csv` (docs/run-directory.md). A
target without `/metrics` leaves no `metrics/` directory at all. With a `FleetMetrics` source
the snapshots are a Prometheus server's sums over every instance instead
(pipeline/prometheus_fleet.py), timed when Prometheus scraped them.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from pipeline.prometheus_fleet import FleetMetrics, Scrape

INDEX_COLUMNS = ("timestamp", "elapsed_s", "phase", "file")


class MetricsSnapshots:
    """Scrapes the target's metrics URL (`<host>/metrics` by default) into `<out>/metrics/`;
    a background thread does the `during`.

    `clock` gives `elapsed_s`; `wait(interval_s)` passes the time between `during` snapshots
    and returns True to end them (by default it waits `interval_s` or until `finish()`)."""

    def __init__(
        self,
        url: str,
        out_dir: Path,
        *,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
        fleet: FleetMetrics | None = None,
    ) -> None:
        self.url = url
        self.fleet = fleet
        self.directory = out_dir / "metrics"
        self.interval_s = interval_s
        self._client = httpx.Client(timeout=2.0)
        self._clock = clock
        self._started = clock()
        self._count = 0
        self._available = False
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Takes the `start` snapshot; False (and nothing written) when there is no /metrics."""
        self._started = self._clock()
        scrape = self._fetch()
        if scrape is None:
            self._client.close()
            return False
        self._available = True
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "index.csv").open("w", newline="", encoding="utf-8") as index:
            csv.writer(index).writerow(INDEX_COLUMNS)
        self._save("start", scrape)
        self._thread = threading.Thread(target=self._during, name="metrics-snapshots", daemon=True)
        self._thread.start()
        return True

    def finish(self) -> None:
        if not self._available:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 5)
        scrape = self._fetch(final=True)
        if scrape is not None:
            self._save("end", scrape)
        self._client.close()

    def _during(self) -> None:
        while not self._wait(self.interval_s):
            scrape = self._fetch()
            if scrape is not None:
                self._save("during", scrape)

    def _fetch(self, *, final: bool = False) -> Scrape | None:
        if self.fleet is not None:
            return self.fleet.fetch(settled_after=time.time() if final else None)
        try:
            response = self._client.get(self.url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "text/plain" not in response.headers.get(
            "content-type", ""
        ):
            return None
        return Scrape(text=response.text, at=time.time())

    def _save(self, phase: str, scrape: Scrape) -> None:
        self._count += 1
        name = f"{self._count:04d}-{phase}.prom"
        (self.directory / name).write_text(scrape.text, encoding="utf-8")
        # A Prometheus snapshot describes its last scrape, a moment before it was asked.
        lag = max(0.0, time.time() - scrape.at) if self.fleet is not None else 0.0
        elapsed = round(self._clock() - self._started - lag, 3)
        with (self.directory / "index.csv").open("a", newline="", encoding="utf-8") as index:
            row = (f"{scrape.at:.3f}", elapsed, phase, f"metrics/{name}")
            csv.writer(index).writerow(row)
