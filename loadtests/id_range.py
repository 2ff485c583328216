"""Learn the target's profile id range, so a run exercises every seeded profile.

The profiles API has no count and no delete, and ids are assigned 1, 2, 3, ...: the highest id
that answers 200 is the range. An exponential probe then a binary search find it in about
2 x log2(N) requests (28 for 10,000 profiles), before any user starts.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any

from loadtests.arguments import LocustOptions
from loadtests.errors import LoadTestError

logger = logging.getLogger("loadcap")
FALLBACK_ID_COUNT = 1000
# A target that answers every id (a test double, a catch-all route) is taken to hold this
# many, after about 24 probes, rather than probed up to 2**31.
MAX_ID_COUNT = 10_000_000


class IdRangeError(LoadTestError):
    """The target did not answer like the profiles API."""


def profile_exists(host: str, profile_id: int, *, timeout_s: float = 5.0) -> bool:
    url = f"{host.rstrip('/')}/api/profile/{profile_id}"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (http only)
            return bool(response.status == 200)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return False
        raise IdRangeError(f"GET {url} answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise IdRangeError(f"GET {url} failed: {exc}") from None


def highest_profile_id(host: str) -> int:
    """The highest id the target serves; 0 when it has no profile at all."""
    if not profile_exists(host, 1):
        return 0
    low, high = 1, 2
    while profile_exists(host, high):
        if high >= MAX_ID_COUNT:
            return MAX_ID_COUNT
        low, high = high, min(high * 2, MAX_ID_COUNT)
    while high - low > 1:  # low exists, high does not
        middle = (low + high) // 2
        if profile_exists(host, middle):
            low = middle
        else:
            high = middle
    return low


PROFILES_USERS = frozenset({"ProfilesUser", "OpenModelUser"})


def _runs_the_profiles_workload(environment: Any) -> bool:
    classes = getattr(environment, "user_classes", None) or []
    return any(getattr(cls, "__name__", "") in PROFILES_USERS for cls in classes)


def id_count_of(host: str) -> int | None:
    """For `loadcap run`, before Locust starts (so probing takes none of the run's time):
    the target's id range, or None to leave it to the locustfile's fallback."""
    try:
        count = highest_profile_id(host)
    except IdRangeError:
        return None  # the locustfile tries again and says why in locust.log
    return count or None


def learn_id_range(environment: Any, **_: Any) -> None:
    """`test_start` listener: with `--id-count 0` (the default), ask the target. The master
    learns it before it tells its workers the options, so they draw from the same range."""
    options = environment.parsed_options
    if options is None or LocustOptions.from_namespace(options).id_count > 0:
        return
    if not _runs_the_profiles_workload(environment):
        options.id_count = FALLBACK_ID_COUNT  # a user's own locustfile: not ours to probe
        return
    host = environment.host or ""
    try:
        count = highest_profile_id(host) if host.startswith(("http://", "https://")) else 0
    except IdRangeError as exc:
        logger.warning(
            "loadcap: cannot learn the profile id range (%s); drawing ids 1..%d "
            "(give --id-count)", exc, FALLBACK_ID_COUNT,
        )  # fmt: skip
        options.id_count = FALLBACK_ID_COUNT
        return
    if count == 0:
        logger.error(
            "loadcap: the target has no profiles, so every GET and PATCH of one will fail: "
            "seed it (loadcap db seed --profiles N) or start `loadcap serve` on an empty database"
        )
        options.id_count = 1
        return
    logger.info("loadcap: the target serves profile ids 1..%d (--id-count overrides)", count)
    options.id_count = count
