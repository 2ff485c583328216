"""The plugin's run state is made at Locust's `init`, one per environment: importing the
locustfile holds none, and two environments in one process share nothing."""

from __future__ import annotations

from tests.loadtests.locust_process import run_in_locust_process


def test_importing_holds_no_run_state_and_each_environment_gets_its_own() -> None:
    # Locust's events fire in a child interpreter (importing Locust monkey-patches gevent).
    facts = run_in_locust_process("""
        import json
        import locust
        import loadtests.locustfile
        from locust.env import Environment
        from locust.event import Events
        from loadtests import plugin

        try:
            plugin.install(locust.events).state
            imported = "state"
        except RuntimeError:
            imported = "none"

        def initialised() -> tuple[Events, plugin.Plugin]:
            events = Events()
            loadcap = plugin.install(events)
            events.init.fire(environment=Environment(events=events), runner=None, web_ui=None)
            return events, loadcap

        def request(events: Events) -> None:
            events.request.fire(request_type="GET", name="/a", response_time=1.0,
                                response_length=0, exception=None, context={})

        (a_events, a), (b_events, b) = initialised(), initialised()
        request(a_events)
        request(a_events)
        request(b_events)
        pending = [a.state.buffer.pending(), b.state.buffer.pending()]
        a_report: dict = {}
        a_events.report_to_master.fire(client_id="a", data=a_report)

        first = a.state
        a_events.init.fire(environment=Environment(events=a_events), runner=None, web_ui=None)
        request(a_events)  # noted once, in the new state only
        windows = a_report["loadcap_windows"]["times"].values()
        print(json.dumps({
            "imported": imported, "pending": pending,
            "shared": a.state.windows is b.state.windows,
            "a_windows": sum(len(times["GET /a"]) for times in windows),
            "b_after_a_report": b.state.buffer.pending(),
            "again": [first.buffer.pending(), a.state.buffer.pending()],
        }))
    """)  # fmt: skip
    assert facts == {
        "imported": "none", "pending": [2, 1], "shared": False, "a_windows": 2,
        "b_after_a_report": 1, "again": [0, 1],
    }  # fmt: skip
