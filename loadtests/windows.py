"""Per-second samples of a run, for the gate's noise model (reports/gate_noise.py).

Every response time is kept in the one-second window it ended in, per endpoint; at the end
the master (or local runner) writes `windows.json`: for each window and endpoint (and the
totals) the request and failure counts and the p50/p95/p99 of that second. Whole-run figures
say where a run ended up; these say how much it wobbled on the way, which is what tells a
regression from noise. Windows travel from workers to the master as raw response times.

A window's response times are kept only until it is SEAL_AFTER_S old on the recording clock:
then its facts are computed and its times dropped, so a soak of hours holds a minute of raw
samples, not every response time of the run. A worker's sample that arrives after its window
was sealed (a worker stalled for longer than that) still counts as a request and a failure,
and in `late`, but no longer moves that second's percentiles.

A sealed window is kept compactly (`SealedWindow`: its scopes' names, shared between windows,
and one array of numbers): about 90 bytes an endpoint-second, where a dict of five facts per
scope took about 380 (scripts/windows_memory.py). windows.json needs every second, so a soak
still grows by that much a second, a quarter of what it did.
"""

from __future__ import annotations

import time
from array import array
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import numpy as np
import numpy.typing as npt

from rundir.hdr_json import AGGREGATED
from rundir.windows_json import WindowsDocument

WINDOW_S = 1.0
SEAL_AFTER_S = 60.0  # workers report every 3 s; a window this old gets no more samples
WINDOWS_KEY = "loadcap_windows"
FACTS = ("requests", "failures", "p50_ms", "p95_ms", "p99_ms")  # a scope's facts, in order
COUNTS = ("requests", "failures")  # the facts that are whole numbers


class SealedWindow(NamedTuple):
    """A sealed window's facts: its scopes, in the order windows.json lists them, and the
    FACTS of each scope in turn, as doubles (the counts are exact far beyond any run)."""

    scopes: tuple[str, ...]
    facts: array[float]


class WindowRecorder:
    """Response times (ms) and failures by window index and endpoint key."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.started = clock()
        self.times: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.failures: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.sealed: dict[int, SealedWindow] = {}
        # One tuple per set of scopes, shared by the windows that have it (and their names).
        self._scope_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.late = 0  # samples that arrived after their window was sealed
        self._newest = 0  # the newest window recorded into: sealing is due when it moves on

    def start_over(self) -> None:
        self.started = self.clock()
        self.times.clear()
        self.failures.clear()
        self.sealed.clear()
        self.late = 0
        self._newest = 0

    def record(self, key: str, response_time_ms: float, failed: bool) -> None:
        """One request, ending now (the plugin notes requests in request_buffer.py and hands
        them over with `record_many`, which leaves exactly what this would have)."""
        window = int((self.clock() - self.started) / WINDOW_S)
        self.times[window][key].append(response_time_ms)
        if failed:
            self.failures[window][key] += 1
        if window > self._newest:  # once a second
            self._newest = window
            self.seal(before=window)

    def record_many(
        self,
        key: str,
        response_times_ms: npt.NDArray[np.float64],
        clock_readings: npt.NDArray[np.float64],
        failed: npt.NDArray[np.bool_],
    ) -> None:
        """`record` for every request, given the clock as it read when each one was
        recorded (the request buffer's fold): the windows end up exactly the same."""
        if not len(response_times_ms):
            return
        windows = ((clock_readings - self.started) / WINDOW_S).astype(np.int64)
        for window in np.unique(windows).tolist():
            here = windows == window
            self.times[window][key].extend(response_times_ms[here].tolist())
            failures = int(np.count_nonzero(failed & here))
            if failures:
                self.failures[window][key] += failures
        newest = int(windows.max())
        if newest > self._newest:
            self._newest = newest
            self.seal(before=newest)

    def _now(self) -> int:
        return int((self.clock() - self.started) / WINDOW_S)

    def seal(self, *, before: int | None = None) -> None:
        """Compute the facts of the windows older than SEAL_AFTER_S (before `before`, the
        current window by default) and forget their response times."""
        current = self._now() if before is None else before
        for window in [w for w in self.times if w < current - SEAL_AFTER_S / WINDOW_S]:
            self.sealed[window] = self._pack(self._scopes(window))
            del self.times[window]
            self.failures.pop(window, None)

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
                index = int(window) + offset
                if index in self.sealed:
                    self._count_late(index, key, len(values), 0)
                else:
                    self.times[index][key].extend(values)
        for window, keys in data.get("failures", {}).items():
            for key, count in keys.items():
                index = int(window) + offset
                if index in self.sealed:
                    self._count_late(index, key, 0, int(count))
                else:
                    self.failures[index][key] += int(count)
        self.seal()

    def _count_late(self, window: int, key: str, requests: int, failures: int) -> None:
        self.late += requests
        sealed = self.sealed[window]
        for scope in (AGGREGATED, key):
            if scope not in sealed.scopes:
                empty = _facts([], 0)
                sealed.facts.extend(float(empty[name]) for name in FACTS)
                sealed = sealed._replace(scopes=self._shared((*sealed.scopes, scope)))
            at = sealed.scopes.index(scope) * len(FACTS)
            sealed.facts[at] += requests
            sealed.facts[at + 1] += failures
        self.sealed[window] = sealed

    def _shared(self, scopes: tuple[str, ...]) -> tuple[str, ...]:
        return self._scope_tuples.setdefault(scopes, scopes)

    def _pack(self, scopes: dict[str, dict[str, float]]) -> SealedWindow:
        facts = array("d", [float(each[name]) for each in scopes.values() for name in FACTS])
        return SealedWindow(self._shared(tuple(scopes)), facts)

    def _scopes(self, window: int) -> dict[str, dict[str, float]]:
        by_key = self.times[window]
        everything = [t for values in by_key.values() for t in values]
        scopes = {AGGREGATED: _facts(everything, sum(self.failures[window].values()))}
        for key, values in by_key.items():
            scopes[key] = _facts(values, self.failures[window].get(key, 0))
        return scopes

    def summary(self) -> dict[str, Any]:
        sealed = {window: _unpack(facts) for window, facts in self.sealed.items()}
        scopes = {**sealed, **{window: self._scopes(window) for window in self.times}}
        windows = [
            {"start_s": window * WINDOW_S, "scopes": scopes[window]} for window in sorted(scopes)
        ]
        result: dict[str, Any] = {
            "window_s": WINDOW_S,
            "started_at": self.started,
            "windows": windows,
        }
        if self.late:
            result["late"] = self.late
        return result


def _facts(times: list[float], failures: int) -> dict[str, float]:
    if not times:
        return {"requests": 0, "failures": failures, "p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0}
    p50, p95, p99 = np.percentile(np.asarray(times, dtype=float), (50, 95, 99))
    return {
        "requests": len(times),
        "failures": failures,
        "p50_ms": round(float(p50), 3),
        "p95_ms": round(float(p95), 3),
        "p99_ms": round(float(p99), 3),
    }


def _unpack(sealed: SealedWindow) -> dict[str, dict[str, float]]:
    """A sealed window's scopes as `_facts` made them (the counts as ints again)."""
    values = sealed.facts.tolist()
    scopes: dict[str, dict[str, float]] = {}
    for i, scope in enumerate(sealed.scopes):
        at = i * len(FACTS)
        scopes[scope] = {
            name: int(value) if name in COUNTS else value
            for name, value in zip(FACTS, values[at : at + len(FACTS)], strict=True)
        }
    return scopes


def windows_document(recorder: WindowRecorder) -> WindowsDocument:
    """What windows.json holds, typed by its schema (a fact the schema lacks fails here, at
    the writer, not in a report reading it later)."""
    return msgspec.convert(recorder.summary(), WindowsDocument)


def write_windows_json(path: Path, recorder: WindowRecorder) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    encoder = msgspec.json.Encoder()
    temporary.write_bytes(encoder.encode(windows_document(recorder)) + b"\n")
    temporary.replace(path)
