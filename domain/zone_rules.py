"""Where time-zone rules come from: the `tzdata` package pinned in requirements.lock, never the
operating system's /usr/share/zoneinfo (which an `apt upgrade` changes under a running worker).

Every process that evaluates local time (the worker, the API, the CLI and simulator, the tests)
calls `use_pinned_zone_rules()` once at start, before the first `ZoneInfo`: with an empty search
path `zoneinfo` reads the `tzdata` package, so zone rules change only when the lock file does, a
reviewed change deployed like code.

Why pin rather than freeze each zone's transitions into the compiled strategy, as holiday dates
are: a zone-rule change is a change in the debtor's real clock (a country moves its DST date),
and quiet hours are the law in the debtor's actual local time, so a running account should follow
the new rules once they are deployed, where a holiday list is a fixed legal calendar that a
version can carry. Zone rules also change rarely, almost always for instants months ahead of the
release, so a lock refresh does not alter decisions already taken; and carrying transitions for
every account's zone would put a second copy of tz data in every workflow input.
"""

from __future__ import annotations

import zoneinfo


def use_pinned_zone_rules() -> None:
    """Make `zoneinfo` read only the `tzdata` package (idempotent; call at process start)."""
    if zoneinfo.TZPATH:
        zoneinfo.reset_tzpath(to=[])
        # Zones built from the OS files before this call would otherwise stay in the cache.
        zoneinfo.ZoneInfo.clear_cache()


def zone_rules_version() -> str:
    """The IANA release of the zone rules in use (e.g. "2025b"), for logs and health checks."""
    from importlib import resources

    return resources.files("tzdata").joinpath("zoneinfo", "tzdata.zi").open().readline().split()[-1]
