"""Exact latency percentiles: one HDR histogram per endpoint, in microseconds.

Locust keeps response times rounded to 2 significant digits; these histograms keep 3, are
merged from workers by addition, and are written to `hdr.json` (docs/run-directory.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from hdrh.histogram import HdrHistogram

from rundir.document import document_text
from rundir.hdr_json import AGGREGATED as AGGREGATED
from rundir.hdr_json import HdrDocument, HistogramFacts, OpenModelTally

SIGNIFICANT_FIGURES = 3
LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: anything slower is clamped, not lost
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}


def _new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


class LatencyRecorder:
    """Histograms by endpoint key (`"GET /api/profile/{id}"`)."""

    def __init__(self) -> None:
        self._histograms: dict[str, HdrHistogram] = {}

    def record(self, key: str, latency_ms: float) -> None:
        micros = min(HIGHEST_US, max(LOWEST_US, round(latency_ms * 1000)))
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = _new_histogram()
        histogram.record_value(micros)

    def record_many(self, key: str, latencies_ms: npt.NDArray[np.float64]) -> None:
        """`record` for every value, in a few array operations (the request buffer's fold):
        the histogram ends up exactly as after one `record` per value."""
        if not len(latencies_ms):
            return
        micros = np.clip(np.rint(latencies_ms * 1000.0), LOWEST_US, HIGHEST_US).astype(np.int64)
        histogram = self._histograms.get(key)
        if histogram is None:
            histogram = self._histograms[key] = _new_histogram()
        _record_values(histogram, micros)

    def count(self) -> int:
        return sum(int(h.get_total_count()) for h in self._histograms.values())

    def keys(self) -> list[str]:
        return sorted(self._histograms)

    def reset(self) -> None:
        self._histograms.clear()

    def encode(self) -> dict[str, str]:
        """Mergeable, compact form for `report_to_master` and `hdr.json`."""
        return {k: h.encode().decode("ascii") for k, h in self._histograms.items()}

    def merge_encoded(self, encoded: dict[str, str]) -> None:
        for key, text in encoded.items():
            other = HdrHistogram.decode(text.encode("ascii"))
            histogram = self._histograms.get(key)
            if histogram is None:
                histogram = self._histograms[key] = _new_histogram()
            histogram.add(other)

    def summary(self) -> dict[str, HistogramFacts]:
        """Per endpoint plus `Aggregated`: count, min/mean/max, percentiles, the histogram."""
        result = {key: describe(h) for key, h in sorted(self._histograms.items())}
        if self._histograms:
            total = _new_histogram()
            for histogram in self._histograms.values():
                total.add(histogram)
            result[AGGREGATED] = describe(total)
        return result


def _record_values(histogram: HdrHistogram, micros: npt.NDArray[np.int64]) -> None:
    """hdrh's `record_value` (counts index, count, total, min, max) for an array of values in
    range, with its index arithmetic done by numpy on hdrh's own counts array."""
    h = histogram
    # bit_length(v | mask), exact through float64 for values below 2**53 (HIGHEST_US is 2**32)
    _, pow2ceiling = np.frexp((micros | h.sub_bucket_mask).astype(np.float64))
    bucket = (
        pow2ceiling.astype(np.int64) - h.unit_magnitude - (h.sub_bucket_half_count_magnitude + 1)
    )
    sub_bucket = micros >> (bucket + h.unit_magnitude)
    index = (
        ((bucket + 1) << h.sub_bucket_half_count_magnitude) + sub_bucket - h.sub_bucket_half_count
    )
    counts = np.ctypeslib.as_array(h.counts)
    counts += np.bincount(index, minlength=h.counts_len).astype(counts.dtype, copy=False)
    h.total_count += len(micros)
    h.min_value = min(h.min_value, int(micros.min()))
    h.max_value = max(h.max_value, int(micros.max()))


def describe(histogram: HdrHistogram) -> HistogramFacts:
    def ms(micros: float) -> float:
        return round(micros / 1000.0, 3)

    def at(percentile: float) -> float:
        return ms(histogram.get_value_at_percentile(percentile))

    return HistogramFacts(
        count=int(histogram.get_total_count()),
        min_ms=ms(histogram.get_min_value()),
        mean_ms=ms(histogram.get_mean_value()),
        max_ms=ms(histogram.get_max_value()),
        p50_ms=at(PERCENTILES["p50_ms"]),
        p90_ms=at(PERCENTILES["p90_ms"]),
        p95_ms=at(PERCENTILES["p95_ms"]),
        p99_ms=at(PERCENTILES["p99_ms"]),
        p999_ms=at(PERCENTILES["p999_ms"]),
        histogram=histogram.encode().decode("ascii"),
    )


def write_hdr_json(
    path: Path,
    service: LatencyRecorder,
    *,
    intended: LatencyRecorder | None = None,
    open_model: OpenModelTally | None = None,
) -> None:
    """Service time per endpoint; for open-model runs also the intended-start latencies."""
    document = HdrDocument(
        unit="ms",
        significant_figures=SIGNIFICANT_FIGURES,
        endpoints=service.summary(),
        intended=intended.summary() if intended is not None else None,
        open_model=open_model,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(document_text(document), encoding="utf-8")
    temporary.replace(path)
