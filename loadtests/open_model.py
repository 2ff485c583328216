"""Open model: a constant arrival rate whatever the response times (wrt2 / k6 style).

A scheduler greenlet fixes each send's *intended* time (start + i / rate) in advance and hands
it to a bounded pool of sender greenlets. When the pool is full the schedule does not slow
down: later sends go out as soon as a slot frees and their latency still counts from the
intended time, so queueing shows up in the figures instead of being hidden (coordinated
omission). Locust's own statistics keep measuring service time.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import gevent
from gevent.pool import Pool
from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests.hdr import LatencyRecorder
from loadtests.profile_requests import REQUESTS, Workload, keep_no_cookies
from rundir.hdr_json import OpenModelTally


@dataclass
class ArrivalCounters:
    """One process's tally; the master sums the last snapshot of every worker."""

    due: int = 0  # sends whose slot had passed by the end (sent or dropped)
    sent: int = 0
    late_sends: int = 0
    completed: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def combine(target_rps: float, snapshots: list[dict[str, Any]]) -> OpenModelTally:
    """The run's open-model facts (run.json `open_model`) from per-process snapshots."""
    total = {k: sum(s.get(k, 0) for s in snapshots) for k in ("due", "sent", "late_sends")}
    completed = sum(int(s.get("completed", 0)) for s in snapshots)
    elapsed = max((float(s.get("elapsed_s", 0.0)) for s in snapshots), default=0.0)
    return OpenModelTally(
        target_rps=target_rps,
        achieved_rps=round(completed / elapsed, 2) if elapsed > 0 else 0.0,
        scheduled=total["due"],
        sent=total["sent"],
        completed=completed,
        late_sends=total["late_sends"],
        dropped=max(0, total["due"] - total["sent"]),
    )


class ArrivalSchedule:
    """Sends `rate` requests per second from a weighted action list, bounded in flight."""

    def __init__(
        self,
        user: FastHttpUser,
        *,
        rate: float,
        actions: list[str],
        workload: Workload,
        intended: LatencyRecorder,
        counters: ArrivalCounters,
        max_in_flight: int,
        late_s: float,
    ) -> None:
        self.user, self.rate, self.actions, self.workload = user, rate, actions, workload
        self.intended, self.counters, self.late_s = intended, counters, late_s
        self.pool = Pool(max_in_flight)
        self._started = 0.0
        self._ended = 0.0
        self._handed = 0  # sends given to the pool
        self._waiting_for_slot = False

    def run(self) -> None:
        """Runs until Locust stops the user (GreenletExit); every send has its fixed slot."""
        self._started = time.perf_counter()
        interval = 1.0 / self.rate
        try:
            for index in range(2**62):
                intended = self._started + index * interval
                delay = intended - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                action = self.actions[index % len(self.actions)]
                self._waiting_for_slot = True
                self.pool.wait_available()
                self._waiting_for_slot = False
                self.pool.spawn(self._send, intended, action)
                self._handed += 1
                self.counters.sent += 1
        finally:
            # The schedule ends when Locust kills it, not when on_stop gets to run.
            self._ended = time.perf_counter()

    def stop(self) -> None:
        self.pool.kill(block=True, timeout=1.0)
        if not self._started:
            return
        elapsed = (self._ended or time.perf_counter()) - self._started
        self.counters.elapsed_s += elapsed
        due = self._handed
        if self._waiting_for_slot:
            # Every in-flight slot was taken: the slots that passed meanwhile (and were
            # already late) never started. Those are the dropped sends. A scheduler that
            # was merely asleep until its next slot had nothing overdue.
            overdue_s = max(0.0, elapsed - self.late_s)
            due = max(due, int(overdue_s * self.rate) + 1)
        self.counters.due += due

    def _send(self, intended: float, action: str) -> None:
        if time.perf_counter() - intended > self.late_s:
            self.counters.late_sends += 1
        key = REQUESTS[action](self.user.client, self.workload)
        self.intended.record(key, (time.perf_counter() - intended) * 1000.0)
        self.counters.completed += 1


class OpenModelUser(FastHttpUser):
    """One per process in open-model runs; the plugin configures it from `--rps`."""

    wait_time = constant(0)
    concurrency = 200
    schedule_factory: Any = None  # set by the plugin: (user) -> ArrivalSchedule

    def on_start(self) -> None:
        keep_no_cookies(self)
        self._schedule: ArrivalSchedule = type(self).schedule_factory(self)

    @task
    def keep_schedule(self) -> None:
        self._schedule.run()

    def on_stop(self) -> None:
        schedule = getattr(self, "_schedule", None)
        if schedule is not None:
            schedule.stop()
