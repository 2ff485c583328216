"""A distributed run's last worker reports, received before the master writes anything.

When a headless master's `--run-time` ends, Locust's `runner.quit()` tells the workers to quit,
waits 0.5 s for their final reports and stops listening. A worker stops its users first and
then sends the requests it has not reported yet (up to 3 s of them): on a busy machine that
report comes later than 0.5 s, and every figure the master writes (Locust's totals and CSVs,
hdr.json, windows.json) would miss the end of the run, while the service counted it. So at
`quitting`, a master that no longer listens reads its socket itself, for at most
FINAL_REPORT_WAIT_S, until every worker has sent a report with no user left running (after
which it can have no sample to send), and hands each report to the same `worker_report`
listeners Locust's own listener would have.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from locust.exception import RPCError, RPCReceiveError
from locust.runners import MasterRunner

FINAL_REPORT_WAIT_S = 10.0
_POLL_MS = 100

logger = logging.getLogger(__name__)


class FinalReports:
    """Which workers may still owe the master their last report."""

    def __init__(self) -> None:
        self.users_left: dict[str, int] = {}  # by worker, in its latest report

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        self.users_left[client_id] = int(data.get("user_count", 0) or 0)

    def owing(self, runner: MasterRunner) -> set[str]:
        return {c.id for c in runner.clients.all if self.users_left.get(c.id, 1) != 0}

    def on_quitting(self, environment: Any, **_: Any) -> None:
        runner = environment.runner
        if not isinstance(runner, MasterRunner) or len(runner.greenlet) > 0:
            return  # not a master, or one still listening (its own listener receives them)
        owing = self.owing(runner)
        deadline = time.monotonic() + FINAL_REPORT_WAIT_S
        while owing and time.monotonic() < deadline:
            if not runner.server.socket.poll(_POLL_MS):
                continue
            try:
                _, message = runner.server.recv_from_client()  # type: ignore[no-untyped-call]
            except (RPCError, RPCReceiveError):
                continue
            if message.type == "stats":
                environment.events.worker_report.fire(client_id=message.node_id, data=message.data)
                if self.users_left.get(message.node_id) == 0:
                    owing.discard(message.node_id)
            elif message.type == "quit":
                owing.discard(message.node_id)
        if owing:
            logger.warning(
                "%d Locust worker(s) sent no final report within %g s: the end of the run "
                "is missing from their figures",
                len(owing),
                FINAL_REPORT_WAIT_S,
            )


def install(events: Any) -> None:
    """Install last (`quitting` runs its listeners in reverse): the reports are in before
    loadcap's and Locust's writers read the figures."""
    reports = FinalReports()
    events.worker_report.add_listener(reports.on_worker_report)
    events.quitting.add_listener(reports.on_quitting)
