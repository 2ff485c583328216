"""The profiles workload for Locust: `locust -f loadtests/locustfile.py` (web UI or headless)
or `loadcap run`. One user class, the 80/10/5/5 mix; see docs/loadtests.md for the options.

Shapes (step, spike, soak) are picked with `--shape NAME` or, in the web UI, with
`--class-picker`; `--rps N` switches to the open model. They are installed by the plugin
rather than defined here, because Locust would otherwise apply the first shape it finds.
"""

from locust import events

from loadtests import plugin
from loadtests.profiles_user import ProfilesUser

__all__ = ["ProfilesUser"]

plugin.install(events)
