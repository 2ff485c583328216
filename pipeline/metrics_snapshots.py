"""Snapshots of the target's Prometheus `/metrics`: at the start, every few seconds, at the end.

Written as `metrics/NNNN-<phase>.prom` plus `metrics/index.csv` (docs/run-directory.md). A
target without `/metrics` leaves no `metrics/` directory at all.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

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
    ) -> None:
        self.url = url
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
        text = self._fetch()
        if text is None:
            self._client.close()
            return False
        self._available = True
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "index.csv").open("w", newline="", encoding="utf-8") as index:
            csv.writer(index).writerow(INDEX_COLUMNS)
        self._save("start", text)
        self._thread = threading.Thread(target=self._during, name="metrics-snapshots", daemon=True)
        self._thread.start()
        return True

    def finish(self) -> None:
        if not self._available:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 5)
        text = self._fetch()
        if text is not None:
            self._save("end", text)
        self._client.close()

    def _during(self) -> None:
        while not self._wait(self.interval_s):
            text = self._fetch()
            if text is not None:
                self._save("during", text)

    def _fetch(self) -> str | None:
        try:
            response = self._client.get(self.url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200 or "text/plain" not in response.headers.get(
            "content-type", ""
        ):
            return None
        return response.text

    def _save(self, phase: str, text: str) -> None:
        self._count += 1
        name = f"{self._count:04d}-{phase}.prom"
        (self.directory / name).write_text(text, encoding="utf-8")
        elapsed = round(self._clock() - self._started, 3)
        with (self.directory / "index.csv").open("a", newline="", encoding="utf-8") as index:
            csv.writer(index).writerow((f"{time.time():.3f}", elapsed, phase, f"metrics/{name}"))
