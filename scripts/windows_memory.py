"""What the per-second windows of windows.json cost the master's memory, per window.

    .venv/bin/python scripts/windows_memory.py [--seconds 3600] [--endpoints 5] [--rps 150]

Records a synthetic run (the rate spread over the endpoints, a failure now and then) into a
`WindowRecorder`, seals every window, and prints what tracemalloc sees still allocated: the
sealed windows that a soak keeps until windows.json is written.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np

from loadtests.windows import WindowRecorder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--endpoints", type=int, default=5)
    parser.add_argument("--rps", type=int, default=150)
    args = parser.parse_args()
    per_endpoint = max(1, args.rps // args.endpoints)
    rng = np.random.default_rng(1)
    keys = [f"GET /api/endpoint-{i}" for i in range(args.endpoints)]

    def record(seconds: int) -> WindowRecorder:
        recorder = WindowRecorder(clock=lambda: 0.0)
        for second in range(seconds):
            readings = np.full(per_endpoint, second + 0.5)
            for key in keys:
                times = rng.lognormal(3.0, 0.5, per_endpoint)
                failed = rng.random(per_endpoint) < 0.01
                recorder.record_many(key, times, readings, failed)
        recorder.seal(before=seconds + 10**6)  # every window sealed, no response time kept
        return recorder

    record(120).summary()  # numpy's lazy imports happen here, not inside the measurement
    tracemalloc.start()
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    recorder = record(args.seconds)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()

    windows = len(recorder.summary()["windows"])
    assert windows == args.seconds, windows
    print(
        f"{args.seconds} s x {args.endpoints} endpoints: {used / 2**20:.2f} MiB, "
        f"{used / windows:.0f} B per window, "
        f"{used / (windows * args.endpoints):.0f} B per endpoint-second"
    )


if __name__ == "__main__":
    main()
