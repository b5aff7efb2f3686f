"""The contact policy's speed-ups (issue 13: a what-if analysis checks a million accounts) decide
exactly what the straightforward versions decided. `_next_window_start` stops one day after the
first day with an opening and looks for DST transitions only up to it; the reference below is the
whole search it replaced (every candidate of the horizon), compared on drawn windows, zones with
DST changes and instants around them."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as hs

from domain import policy as P
from domain.policy import ContactPolicy, Window
from domain.types import Channel, Weekday

ZONES = ("America/Santiago", "America/New_York", "America/Sao_Paulo", "Europe/London", "Australia/Lord_Howe")


def reference_next_window_start(policy: ContactPolicy, at: datetime, zone: ZoneInfo) -> datetime | None:
    """The search as it was before the speed-up: every candidate of the horizon, then the least."""
    today = P._wall(at, zone).date()
    candidates: list[datetime] = []
    for offset in range(P._WINDOW_HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        for w in policy.windows:
            if not any(d.number == day.weekday() for d in w.days):
                continue
            wall = datetime.combine(day, time()) + timedelta(minutes=w.start)
            candidates.append(P._wall_to_utc(wall, zone))
            candidates.append(wall.replace(tzinfo=zone, fold=1).astimezone(UTC))
    horizon_end = P._day_start(today + timedelta(days=P._WINDOW_HORIZON_DAYS + 1), zone)
    candidates.extend(P._offset_transitions(zone, at.astimezone(UTC), horizon_end))

    def inside(wall: datetime) -> bool:
        minute = wall.hour * 60 + wall.minute
        return any(
            w.start <= minute < w.end and any(d.number == wall.weekday() for d in w.days) for w in policy.windows
        )

    valid = [c for c in candidates if c > at and inside(P._wall(c, zone))]
    return min(valid) if valid else None


windows = hs.lists(
    hs.tuples(
        hs.sets(hs.sampled_from(list(Weekday)), min_size=1, max_size=7),
        hs.integers(min_value=0, max_value=1439),
        hs.integers(min_value=1, max_value=1440),
    ).filter(lambda w: w[1] < w[2]),
    min_size=0,
    max_size=3,
)
# Instants over two years, so that both DST changes of every zone fall in the drawn range.
instants = hs.integers(min_value=0, max_value=2 * 365 * 86400).map(
    lambda s: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s)
)


@settings(max_examples=300, deadline=None)
@given(windows=windows, at=instants, tz=hs.sampled_from(ZONES))
def test_the_next_window_opening_is_the_whole_searchs(
    windows: list[tuple[set[Weekday], int, int]], at: datetime, tz: str
) -> None:
    policy = ContactPolicy(
        name="drawn",
        window_rule="hours",
        windows=tuple(Window(days=tuple(sorted(d)), start=s, end=e) for d, s, e in windows),
        window_channels=(Channel.SMS,),
    )
    zone = ZoneInfo(tz)
    assert P._next_window_start(policy, at, zone) == reference_next_window_start(policy, at, zone)


@settings(max_examples=200, deadline=None)
@given(at=hs.sampled_from(ZONES).flatmap(lambda tz: hs.tuples(hs.just(tz), instants)))
def test_around_each_dst_change(at: tuple[str, datetime]) -> None:
    """Instants within hours of a change, where an opening can fall in a gap or a repeated hour."""
    tz, when = at
    zone = ZoneInfo(tz)
    changes = P._offset_transitions(zone, datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC))
    policy = ContactPolicy(
        name="night",
        window_rule="hours",
        windows=(Window(days=tuple(Weekday), start=0, end=90), Window(days=(Weekday.SUN,), start=120, end=200)),
        window_channels=(Channel.SMS,),
    )
    for change in changes:
        near = change + timedelta(seconds=(when.timestamp() % 21600) - 10800)
        assert P._next_window_start(policy, near, zone) == reference_next_window_start(policy, near, zone)
