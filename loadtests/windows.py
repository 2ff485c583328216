"""Per-second samples of a run, for the gate's noise model (reports/gate_noise.py).

Every response time is kept in the one-second window it ended in, per endpoint; at the end
the master (or local runner) writes `windows.json`: for each window and endpoint (and the
totals) the request and failure counts and the p50/p95/p99 of that second. Whole-run figures
say where a run ended up; these say how much it wobbled on the way, which is what tells a
regression from noise. Windows travel from workers to the master as raw response times.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

WINDOW_S = 1.0
TOTAL = "Aggregated"
WINDOWS_KEY = "loadcap_windows"


class WindowRecorder:
    """Response times (ms) and failures by window index and endpoint key."""

    def __init__(self) -> None:
        self.started = time.time()
        self.times: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.failures: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def start_over(self) -> None:
        self.started = time.time()
        self.times.clear()
        self.failures.clear()

    def record(self, key: str, response_time_ms: float, failed: bool) -> None:
        window = int((time.time() - self.started) / WINDOW_S)
        self.times[window][key].append(response_time_ms)
        if failed:
            self.failures[window][key] += 1

    def take(self) -> dict[str, Any]:
        """The samples so far, as plain data (a worker's report), and forget them."""
        data = {
            "started": self.started,
            "times": {str(w): dict(keys) for w, keys in self.times.items()},
            "failures": {str(w): dict(keys) for w, keys in self.failures.items()},
        }
        self.times.clear()
        self.failures.clear()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        # Workers start their clocks a moment apart; windows are aligned on the master's.
        offset = round((float(data.get("started", self.started)) - self.started) / WINDOW_S)
        for window, keys in data.get("times", {}).items():
            for key, values in keys.items():
                self.times[int(window) + offset][key].extend(values)
        for window, keys in data.get("failures", {}).items():
            for key, count in keys.items():
                self.failures[int(window) + offset][key] += int(count)

    def summary(self) -> dict[str, Any]:
        windows = []
        for window in sorted(self.times):
            by_key = self.times[window]
            everything = [t for values in by_key.values() for t in values]
            scopes = {TOTAL: _facts(everything, sum(self.failures[window].values()))}
            for key, values in by_key.items():
                scopes[key] = _facts(values, self.failures[window].get(key, 0))
            windows.append({"start_s": window * WINDOW_S, "scopes": scopes})
        return {"window_s": WINDOW_S, "windows": windows}


def _facts(times: list[float], failures: int) -> dict[str, float]:
    p50, p95, p99 = np.percentile(np.asarray(times, dtype=float), (50, 95, 99))
    return {
        "requests": len(times),
        "failures": failures,
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
    }


def write_windows_json(path: Path, recorder: WindowRecorder) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(recorder.summary()) + "\n", encoding="utf-8")
    temporary.replace(path)


RECORDER = WindowRecorder()


def install(events: Any) -> None:
    """Listeners: `--windows-out FILE`, record every request, ship and write the windows."""
    from locust.runners import WorkerRunner

    def add_argument(parser: Any) -> None:
        parser.add_argument(
            "--windows-out",
            default="",
            help="Write per-second samples (windows.json) here at the end",
            include_in_web_ui=False,
        )

    def on_test_start(**_: Any) -> None:
        RECORDER.start_over()

    def on_request(
        request_type: str, name: str, response_time: float, exception: Any = None, **_: Any
    ) -> None:
        RECORDER.record(f"{request_type} {name}", response_time, exception is not None)

    def on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
        data[WINDOWS_KEY] = RECORDER.take()

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        if WINDOWS_KEY in data:
            RECORDER.merge(data[WINDOWS_KEY])

    def on_quitting(environment: Any, **_: Any) -> None:
        options = environment.parsed_options
        if options is None or isinstance(environment.runner, WorkerRunner):
            return
        if getattr(options, "windows_out", ""):
            write_windows_json(Path(options.windows_out), RECORDER)

    events.init_command_line_parser.add_listener(add_argument)
    events.test_start.add_listener(on_test_start)
    events.request.add_listener(on_request)
    events.report_to_master.add_listener(on_report_to_master)
    events.worker_report.add_listener(on_worker_report)
    events.quitting.add_listener(on_quitting)
