"""The contact policy's speed-ups (issue 13: a what-if analysis checks a million accounts) decide
exactly what the straightforward versions decided. `_next_window_start` stops one day after the
first day with an opening and looks for DST transitions only up to it; the reference below is the
whole search it replaced (every candidate of the horizon), compared on drawn windows, zones with
DST changes and instants around them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as hs

from domain import policy as P
from domain.policy import ContactPolicy, Window
from domain.policy_presets import PRESETS
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


# ---- check_contact: the rules that apply to each channel, derived once per policy ----------------


def reference_check_contact(
    policy: ContactPolicy, channel: Channel, at: datetime, tz: str, history: list[P.ContactRecord]
) -> P.Decision:
    """The check as it was before the per-channel rules (`_ChannelRules`): every rule of the
    policy visited, in the documented order, each asking whether it applies to the channel."""
    zone = ZoneInfo(tz)
    at = at.astimezone(UTC)
    past = [r for r in history if r.at <= at]
    wall = P._wall(at, zone)
    today = wall.date()

    def applies(channels: tuple[Channel, ...] | None) -> bool:
        return channels is None or channel in channels

    if policy.holidays is not None and channel in policy.window_channels:
        found = P._check_holiday(policy, channel, today, zone)
        if found:
            return found
    if channel in policy.window_channels and not P._in_window(policy, wall):
        return P._blocked(
            policy.window_rule,
            f"outside {policy.window_rule} hours ({P.describe_windows(policy)} {tz})",
            P._next_window_start(policy, at, zone),
        )
    for gap in policy.min_gaps:
        if applies(gap.channels):
            length = timedelta(minutes=gap.minutes)
            recent = [r.at for r in past if at - r.at < length and applies_to(gap.channels, r.channel)]
            if recent:
                return P._blocked(
                    gap.id,
                    f"less than {P._duration_text(gap.minutes)} since the last attempt on "
                    f"{P._channels_text(gap.channels)} ({max(recent).astimezone(UTC).isoformat()})",
                    max(recent) + length,
                )
    conversations = [r for r in past if r.conversation]
    for cooldown in policy.cooldowns:
        if channel in cooldown.channels and conversations:
            ends = [
                (P._day_start(P._wall(r.at, zone).date() + timedelta(days=cooldown.days), zone), r)
                for r in conversations
            ]
            until, record = max(ends, key=lambda pair: pair[0])
            if at < until:
                return P._blocked(
                    cooldown.id,
                    f"{channel.value} is blocked for {cooldown.days} days after the right-party conversation "
                    f"on {P._wall(record.at, zone).date().isoformat()} (that day counts as day 1)",
                    until,
                )
    if policy.channel_lock_after_contact is not None:
        found = P._check_channel_lock(policy.channel_lock_after_contact, channel, today, zone, past)
        if found:
            return found
    for cap in policy.caps:
        if not applies(cap.channels):
            continue
        relevant = [r for r in past if applies_to(cap.channels, r.channel)]
        if cap.period == "rolling":
            counted = sorted(r.at for r in relevant if at - r.at < timedelta(days=cap.days))
            if len(counted) < cap.max:
                continue
            until = counted[len(counted) - cap.max] + timedelta(days=cap.days)
        elif cap.period == "calendar_day":
            if sum(1 for r in relevant if P._wall(r.at, zone).date() == today) < cap.max:
                continue
            until = P._day_start(today + timedelta(days=1), zone)
        else:
            monday = today - timedelta(days=today.weekday())
            weeks = [P._wall(r.at, zone).date() for r in relevant]
            if sum(1 for d in weeks if d - timedelta(days=d.weekday()) == monday) < cap.max:
                continue
            until = P._day_start(monday + timedelta(days=7), zone)
        return P._blocked(cap.id, f"{P._cap_text(cap)} on {P._channels_text(cap.channels)} reached", until)
    return P.Decision(allowed=True)


def applies_to(channels: tuple[Channel, ...] | None, channel: Channel) -> bool:
    return channels is None or channel in channels


some_channels = hs.one_of(
    hs.none(), hs.sets(hs.sampled_from(list(Channel)), min_size=1).map(lambda c: tuple(sorted(c)))
)
policies = hs.one_of(
    hs.sampled_from(sorted(PRESETS.values(), key=lambda p: p.name)).map(lambda p: p.with_calendar(date(2026, 1, 1))),
    hs.builds(
        lambda caps, gaps, cooldowns, lock, windowed: ContactPolicy(
            name="drawn",
            window_rule="hours",
            windows=(Window(days=tuple(Weekday)[:6], start=8 * 60, end=20 * 60),),
            window_channels=windowed,
            caps=tuple(
                P.Cap(id=f"cap-{i}", channels=c, max=m, period=p, days=d) for i, (c, m, p, d) in enumerate(caps)
            ),
            min_gaps=tuple(P.MinGap(id=f"gap-{i}", channels=c, minutes=m) for i, (c, m) in enumerate(gaps)),
            cooldowns=tuple(P.Cooldown(id=f"cool-{i}", channels=c, days=d) for i, (c, d) in enumerate(cooldowns)),
            channel_lock_after_contact=lock,
        ),
        hs.lists(
            hs.tuples(
                some_channels,
                hs.integers(1, 3),
                hs.sampled_from(["rolling", "calendar_day", "calendar_week"]),
                hs.integers(1, 7),
            ),
            max_size=3,
        ),
        hs.lists(hs.tuples(some_channels, hs.integers(1, 4 * 1440)), max_size=2),
        hs.lists(hs.tuples(some_channels.filter(lambda c: c is not None), hs.integers(1, 7)), max_size=2),
        hs.sampled_from([None, "lock"]),
        some_channels.map(lambda c: c or ()),
    ),
)
ledgers = hs.lists(hs.tuples(hs.sampled_from(list(Channel)), hs.integers(0, 10 * 86400), hs.booleans()), max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    policy=policies,
    channel=hs.sampled_from(list(Channel)),
    at=instants,
    tz=hs.sampled_from(ZONES),
    ledger=ledgers,
)
def test_a_check_visits_the_rules_every_rule_of_the_policy_gave(
    policy: ContactPolicy, channel: Channel, at: datetime, tz: str, ledger: list[tuple[Channel, int, bool]]
) -> None:
    """Presets and drawn policies (rules on some channels, on every channel, none), ledgers of
    records before and after the instant: the per-channel rules decide what every rule decided."""
    history = sorted(
        (
            P.ContactRecord(channel=c, at=at - timedelta(seconds=back) + timedelta(days=1), conversation=talk)
            for c, back, talk in ledger
        ),
        key=lambda r: r.at,
    )
    assert P.check_contact(policy, channel, at, tz, history) == reference_check_contact(
        policy, channel, at, tz, history
    )
