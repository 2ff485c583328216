"""`generator.csv`: the load generator's CPU, one row per Locust process (and the machine)
about once a second (docs/run-directory.md).

Written by `loadtests/generator_cpu.py` on the master (or the only Locust process); read by
`reports/generator.py`, which tells a generator-bound run from a service-bound one.
"""

from __future__ import annotations

GENERATOR_FILE = "generator.csv"
COLUMNS = ("timestamp", "process", "cpu_s")  # unix time, process name, cumulative CPU seconds
MACHINE = "machine"  # the row of the whole machine's busy CPU seconds (all CPUs together)
